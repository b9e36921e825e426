"""The atomic push: a serving folder never holds a version without a complete SavedModel."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from newlevels.components.push.executor import PARTIAL_SUFFIX, push_atomically, remove_partials
from tests.pipeline_checks import snapshot

REPO = pathlib.Path(__file__).resolve().parent.parent
#: files the killed push copies before it stops: the SavedModel has more than this.
COPIED_BEFORE_THE_KILL = 2


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> str:
    """A small real SavedModel: one variable, one serving signature."""
    path = str(tmp_path_factory.mktemp("model") / "saved")
    module = tf.Module()
    module.scale = tf.Variable(np.arange(4, dtype=np.float32))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def serve(x: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"y": tf.reduce_sum(x * module.scale, axis=-1)}

    tf.saved_model.save(module, path, signatures={"serving_default": serve})
    return path


def serves(version_dir: str) -> bool:
    signature = tf.saved_model.load(version_dir).signatures["serving_default"]
    return float(signature(tf.ones([1, 4]))["y"][0]) == 6.0


def versions(base: str) -> list[str]:
    """What a model server sees: the entries that are not hidden."""
    return sorted(name for name in os.listdir(base) if not name.startswith("."))


@pytest.mark.reliability("SIGKILL during a push")
def test_push_atomically_copies_a_complete_model_to_a_newer_numbered_version(saved_model, tmp_path):
    base = str(tmp_path / "serving")
    os.makedirs(os.path.join(base, "9999999999"))  # a version from the future: still newer
    first, version = push_atomically(saved_model, base)
    assert first == os.path.join(base, version) and version == "10000000000"
    second, _ = push_atomically(saved_model, base)
    assert versions(base) == ["10000000000", "10000000001", "9999999999"]
    assert not [name for name in os.listdir(base) if name.endswith(PARTIAL_SUFFIX)]
    for path in (first, second):
        assert snapshot(path) == snapshot(saved_model) and serves(path)


@pytest.mark.reliability("SIGKILL during a push")
def test_remove_partials_removes_only_partial_copies(tmp_path):
    base = tmp_path / "serving"
    for folder in (f".17{PARTIAL_SUFFIX}", f".18{PARTIAL_SUFFIX}", "17", ".hidden"):
        (base / folder).mkdir(parents=True)
        (base / folder / "saved_model.pb").write_bytes(b"x")
    remove_partials(str(base))
    assert sorted(os.listdir(base)) == [".hidden", "17"]
    remove_partials(str(tmp_path / "no such folder"))  # a first push has no folder yet


CHILD = """
import pathlib, sys, time
from tfx.dsl.io import fileio
from newlevels.components.push.executor import push_atomically

model, base, ready, stop_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
copy, copied = fileio.copy, []


def copy_then_wait(source, destination, overwrite=False):
    copy(source, destination, overwrite)
    copied.append(destination)
    if len(copied) == stop_after:
        pathlib.Path(ready).write_text("\\n".join(copied))
        time.sleep(600)  # killed here, mid-copy


fileio.copy = copy_then_wait
push_atomically(model, base)
"""


@pytest.mark.reliability("SIGKILL during a push")
def test_a_push_killed_while_copying_never_serves_a_partial_model(saved_model, tmp_path):
    base, ready = str(tmp_path / "serving"), tmp_path / "copying"
    files = sum(len(names) for _, _, names in os.walk(saved_model))
    assert files > COPIED_BEFORE_THE_KILL
    argv = [sys.executable, "-c", CHILD, saved_model, base, str(ready)]
    child = subprocess.Popen([*argv, str(COPIED_BEFORE_THE_KILL)], cwd=REPO)
    try:
        deadline = time.monotonic() + 300
        while not ready.exists():
            assert child.poll() is None, "the push ended before it was killed"
            assert time.monotonic() < deadline, "the push never started copying"
            time.sleep(0.1)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)

    copied = ready.read_text().splitlines()
    assert len(copied) == COPIED_BEFORE_THE_KILL, "killed inside the copy"
    assert versions(base) == [], "a half-written model must never be a version"
    (partial,) = os.listdir(base)
    assert partial.startswith(".") and partial.endswith(PARTIAL_SUFFIX)

    served, version = push_atomically(saved_model, base)
    assert os.listdir(base) == [version], "the next push removes the partial copy"
    assert snapshot(served) == snapshot(saved_model) and serves(served)
