"""The atomic, guarded Pusher as a component for any TFX pipeline."""

from __future__ import annotations

from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from newlevels.components.push.executor import AtomicPusherExecutor


def Pusher(  # noqa: N802 (named as the TFX component it builds)
    model: tfx.dsl.Channel, model_blessing: tfx.dsl.Channel, base_directory: str
) -> tfx.components.Pusher:
    """TFX's Pusher with newlevels' executor: atomic copies, and the push guard.

    It pushes `model` to `<base_directory>/<version>/` when `model_blessing` is
    blessed (give it the `Decision`'s `candidate_blessing` or
    `baseline_blessing`). The copy is renamed into place only when complete,
    and an extension is checked once more against its parent's rows digest
    (the freeze certificate) before it is copied (`executor.py`).

    Args:
        model: the Model to push.
        model_blessing: the blessing it is pushed on.
        base_directory: the serving folder (a filesystem path).

    Returns:
        A TFX Pusher (give it an id with `.with_id`).
    """
    return tfx.components.Pusher(
        model=model,
        model_blessing=model_blessing,
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=base_directory)
        ),
        custom_executor_spec=executor_spec.ExecutorClassSpec(AtomicPusherExecutor),
    )
