"""An upstream artifact's JSON custom property, read alike locally and through Kubeflow.

The KFP v2 launcher records a task's output metadata in MLMD with
`StructValueToMLMDValue` (kubeflow/pipelines `backend/src/v2/metadata/converter.go`),
which wraps a struct as {"struct": value} and a list as {"list": value}; the
driver hands the stored value to the next task as it is. So an executor that
reads a JSON property an upstream task wrote (a digest map, say) finds it inside
that envelope on Kubeflow, and as written locally. `tests/kfp_mlmd.py` records
and hands over artifacts the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tfx import types

#: the launcher's envelope key for each JSON kind it wraps.
_ENVELOPES: dict[str, type] = {"struct": dict, "list": list}


def json_property(artifact: types.Artifact, key: str) -> Any:
    """`artifact`'s JSON custom property `key`, out of the KFP launcher's envelope.

    A one-key dict is unwrapped only when its key names the kind of its value
    ({"struct": {...}}, {"list": [...]}), so a map from a table named "struct"
    to a digest string is read as it is.

    Args:
        artifact: an input artifact of the running executor.
        key: the custom property.

    Returns:
        The JSON value as its producer wrote it (None if absent).
    """
    value = artifact.get_json_value_custom_property(key)
    if isinstance(value, dict) and len(value) == 1:
        [(wrapper, inner)] = value.items()
        if wrapper in _ENVELOPES and isinstance(inner, _ENVELOPES[wrapper]):
            return inner
    return value
