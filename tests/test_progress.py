"""Progress of a run: the node hook under the real BeamDagRunner, and the console display.

The full `newlevels run` under a terminal is in tests/test_progress_e2e.py.
"""

import io
import os
import pty

import pytest
from tfx import v1 as tfx
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import String
from tfx.v1.dsl.components import InputArtifact, OutputArtifact, Parameter

from newlevels.cli import progress as display
from newlevels.pipeline import progress
from newlevels.pipeline.progress import DONE, FAILED, STARTED, NodeEvent


@component
def First(out: OutputArtifact[String]):
    out.value = "first"


@component
def Second(given: InputArtifact[String], out: OutputArtifact[String], fail: Parameter[int] = 0):
    if fail:
        raise ValueError("second fails on purpose")
    out.value = "second"


def _tiny_pipeline(root, fail: bool) -> tfx.dsl.Pipeline:
    """Two Python-function components, the second depending on the first."""
    first = First()
    second = Second(given=first.outputs["out"], fail=int(fail))
    return tfx.dsl.Pipeline(
        pipeline_name="progress",
        pipeline_root=str(root / "root"),
        components=[first, second],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(root / "metadata.sqlite")
        ),
    )


def _run(root, fail: bool, events: list[NodeEvent]) -> None:
    """Runs the tiny pipeline with the reporting runner, recording its events in `events`."""
    import logging

    from newlevels.pipeline.local_runner import orchestration_runner
    from newlevels.pipeline.progress_runner import ReportingDagRunner

    logger = logging.getLogger(progress.LOGGER_NAME)
    handler = display._Forward(events.append)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with orchestration_runner():
            ReportingDagRunner().run(_tiny_pipeline(root, fail))
    finally:
        logger.removeHandler(handler)


def test_the_runner_reports_each_node_as_it_starts_and_finishes(tmp_path):
    events: list[NodeEvent] = []
    _run(tmp_path, False, events)
    assert [(e.node, e.state) for e in events] == [
        ("First", STARTED),
        ("First", DONE),
        ("Second", STARTED),
        ("Second", DONE),
    ]
    assert all(e.seconds > 0 for e in events if e.state == DONE)


def test_a_failing_node_is_reported_failed_and_its_error_still_raised(tmp_path):
    events: list[NodeEvent] = []
    with pytest.raises(Exception, match="second fails on purpose"):
        _run(tmp_path, True, events)
    assert [(e.node, e.state) for e in events] == [
        ("First", STARTED),
        ("First", DONE),
        ("Second", STARTED),
        ("Second", FAILED),
    ]


def test_plain_lines_name_each_component_as_it_starts_and_finishes():
    out = io.StringIO()
    with display.display(display.PLAIN, out):
        progress.report(NodeEvent("Transform", STARTED))
        progress.report(NodeEvent("Transform", DONE, 12.34))
        progress.report(NodeEvent("Evaluator", STARTED))
        progress.report(NodeEvent("Evaluator", FAILED, 1.0))
    progress.report(NodeEvent("Pusher", STARTED))  # after the block: not shown
    lines = out.getvalue().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["started", "Transform"],
        ["done", "Transform"],
        ["started", "Evaluator"],
        ["failed", "Evaluator"],
    ]
    assert lines[1].endswith("12.3 s") and lines[3].endswith("1.0 s")


def test_quiet_shows_nothing():
    out = io.StringIO()
    with display.display(display.QUIET, out):
        progress.report(NodeEvent("Transform", STARTED))
        progress.report(NodeEvent("Transform", DONE, 1.0))
    assert out.getvalue() == ""


def test_live_only_on_an_interactive_terminal(monkeypatch):
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        assert display.choose_mode(False, terminal) == display.LIVE
        assert display.choose_mode(True, terminal) == display.QUIET
        monkeypatch.setenv("TERM", "dumb")
        assert display.choose_mode(False, terminal) == display.PLAIN
    os.close(master)
    # CI often sets FORCE_COLOR: a pipe still gets plain lines.
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert display.choose_mode(False, io.StringIO()) == display.PLAIN
