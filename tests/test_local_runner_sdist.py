"""The local runner skips TFX's tfx_ephemeral sdist on the DirectRunner only."""

from __future__ import annotations

from tfx.utils import dependency_utils

from newlevels.pipeline.config import DEFAULT_BEAM_ARGS
from newlevels.pipeline.local_runner import no_tfx_sdist, uses_direct_runner


def test_the_direct_runner_is_recognised_with_or_without_a_runner_flag() -> None:
    assert uses_direct_runner(DEFAULT_BEAM_ARGS)
    assert uses_direct_runner(["--runner=DirectRunner", "--direct_num_workers=0"])
    assert not uses_direct_runner(["--runner=DataflowRunner", "--project=p"])


def test_direct_runs_build_no_sdist_and_remote_runs_keep_tfx_behaviour(monkeypatch) -> None:
    built = []
    monkeypatch.setattr(dependency_utils, "build_ephemeral_package", lambda: built.append(1) or "x")

    with no_tfx_sdist(DEFAULT_BEAM_ARGS):
        flags = dependency_utils.make_beam_dependency_flags(list(DEFAULT_BEAM_ARGS))
    assert flags == list(DEFAULT_BEAM_ARGS) and built == []

    remote = ["--runner=DataflowRunner"]
    with no_tfx_sdist(remote):
        flags = dependency_utils.make_beam_dependency_flags(remote)
    assert flags == [*remote, "--extra_package=x"] and built == [1]
