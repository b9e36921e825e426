"""A Pusher executor whose pushes are atomic: a serving directory never holds a partial model.

TFX's stock Pusher copies straight into `<base>/<version>/`, so a process killed
mid-copy leaves a half-written version that a model server may try to load.
Here the copy goes to a hidden `<base>/.<version>.partial/` and is renamed into
place only when complete (a rename is atomic on a local or POSIX file system;
on object stores it is a copy, see README). Leftover partial copies from a
killed push are removed before the next push.

It is also the push guard: just before copying an extension, it checks the
freeze certificate again on the model's files (`check_certificate`).
"""

from __future__ import annotations

import os
import time
from typing import Any

from absl import logging
from tfx import types
from tfx.components.pusher.executor import Executor as StockPusherExecutor
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from newlevels.components import certificate
from newlevels.components.properties import json_property
from newlevels.components.trainer import artifacts
from newlevels.contracts import blessing as blessing_properties
from newlevels.contracts.gate import EXTEND

PARTIAL_SUFFIX = ".partial"


def check_certificate(model: types.Artifact, blessing: types.Artifact) -> None:
    """Refuses to push an extension whose old rows are not its parent's.

    The Decision recorded the parent's rows digest on the blessing; the model's
    `embeddings/` and its recorded old-rows digest must both match it, and the
    SavedModel about to be copied must serve exactly the rows `embeddings/`
    holds. A blessing of any other decision, or a model with no parent, has
    nothing to check.

    Raises:
        certificate.FreezeCertificateError: naming the model and the table.
    """
    if blessing.get_custom_property(blessing_properties.DECISION) != EXTEND:
        return
    embeddings = artifacts.read_embeddings(model.uri)
    if not embeddings.manifest.parent_model_uri:
        return
    verdict = certificate.verify(
        embeddings,
        json_property(blessing, blessing_properties.PARENT_ROWS_DIGEST) or {},
        json_property(model, certificate.OLD_ROWS_DIGEST),
    )
    problem = None if verdict.ok else verdict.detail
    problem = problem or certificate.served_tables_differ(model.uri, embeddings)
    if problem:
        raise certificate.FreezeCertificateError(
            f"refusing to push {model.uri} as an extension: {problem}"
        )


def next_version(base: str) -> str:
    """A Unix-timestamp version newer than every version already under `base`."""
    taken = [int(name.rstrip("/")) for name in _list(base) if name.rstrip("/").isdigit()]
    return str(max([int(time.time()), *[v + 1 for v in taken]]))


def _list(base: str) -> list[str]:
    return fileio.listdir(base) if fileio.exists(base) else []


def remove_partials(base: str) -> None:
    for name in _list(base):
        if name.rstrip("/").endswith(PARTIAL_SUFFIX):
            fileio.rmtree(os.path.join(base, name.rstrip("/")))


def push_atomically(model_path: str, base: str) -> tuple[str, str]:
    """Copies a SavedModel directory to `<base>/<version>` with one final rename.

    Returns:
        (serving path, version).
    """
    fileio.makedirs(base)
    remove_partials(base)
    version = next_version(base)
    partial = os.path.join(base, f".{version}{PARTIAL_SUFFIX}")
    final = os.path.join(base, version)
    io_utils.copy_dir(model_path, partial)
    fileio.rename(partial, final)
    return final, version


class AtomicPusherExecutor(StockPusherExecutor):
    """Pushes a blessed model to a filesystem destination, atomically."""

    def Do(  # noqa: N802 (TFX API)
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        check_certificate(
            artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY]),
            artifact_utils.get_single_instance(
                input_dict[standard_component_specs.MODEL_BLESSING_KEY]
            ),
        )
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination
        )
        if destination.WhichOneof("destination") != "filesystem":
            raise NotImplementedError("newlevels pushes to a filesystem destination only")
        model_path = self.GetModelPath(input_dict)
        serving_path, version = push_atomically(model_path, destination.filesystem.base_directory)
        logging.info("Model pushed to %s.", serving_path)
        io_utils.copy_dir(model_path, model_push.uri)
        self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)
