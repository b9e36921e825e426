"""Faults and re-runs on the real pipeline: nothing wrong is pushed, nothing is lost."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from newlevels import cli
from newlevels.components.trainer.artifacts import EMBEDDINGS_DIR, MANIFEST
from newlevels.pipeline import metadata
from newlevels.pipeline.config import PIPELINE_NAME
from newlevels.pipeline.data.toy import write_mixed_toy
from newlevels.pipeline.pipeline import NodeIds
from tests import pipeline_checks as checks
from tests.pipeline_checks import snapshot

COLUMNS = ["--categorical", "level,group", "--label", "label", "--id", "id"]
SECRET = "newlevels-test-secret-5b9d0c"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def run(data, workdir, span, *extra) -> tuple[int, dict | None]:
    argv = ["run", "--data", str(data), "--span", str(span), "--workdir", str(workdir)]
    code = cli.main([*argv, *COLUMNS, *extra])
    path = os.path.join(workdir, "runs", f"span-{span}", "summary.json")
    return code, (checks.load_json(path) if code == 0 else None)


def versions(serving) -> list[str]:
    return sorted(os.listdir(serving)) if os.path.isdir(serving) else []


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    data = tmp_path_factory.mktemp("faults") / "data"
    write_mixed_toy(str(data))
    return data


def refused(capsys, toy, work, span, *extra) -> str:
    """Runs a span that must be refused before anything runs; returns the one line."""
    capsys.readouterr()
    code, _ = run(toy, work, span, *extra)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and err.startswith("newlevels: error: "), err
    return err


def full_retrains(work) -> list[str]:
    """The full retrain's Model artifacts written so far (one folder each)."""
    folder = os.path.join(work, "tfx", NodeIds.FULL_TRAINER, "model")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@pytest.mark.reliability(
    "previous model's files truncated",
    "a span with no new level",
    "a rejected candidate",
)
def test_rejections_no_op_spans_and_reruns_never_push_twice(toy, tmp_path, capsys):
    work = tmp_path / "work"
    serving = work / "serving"
    code, first = run(toy, work, 1)
    assert code == 0 and first["pushed"]
    before = snapshot(serving)

    code, rejected = run(toy, work, 2, "--min-auc", "0.999")
    assert code == 0 and not rejected["blessed"] and not rejected["pushed"]
    assert snapshot(serving) == before, "a rejected candidate must not touch the serving dir"

    code, second = run(toy, work, 2)
    assert code == 0 and second["pushed"] and len(versions(serving)) == 2
    # The gate may extend (push the candidate) or rebase (push the full retrain).
    served = second["baseline_model_uri" if second["pushed_model"] == "baseline" else "model_uri"]

    capsys.readouterr()
    retrains = full_retrains(work)
    code, again = run(toy, work, 2)
    assert code == 0 and again["new_levels"] == 0 and again["rows_trained"] == 0
    assert not again["pushed"] and again["parent_model_uri"] == served
    assert "no new levels" in capsys.readouterr().out
    assert len(versions(serving)) == 2, "re-running a span pushes nothing new"
    no_op = metadata.latest_run(metadata.open_store(str(work / "metadata.sqlite")), PIPELINE_NAME)
    assert NodeIds.INCREMENTAL_TRAINER in no_op.nodes
    assert not {NodeIds.FULL_TRAINER, NodeIds.EVALUATOR, NodeIds.PUSHER} & set(no_op.nodes)
    assert full_retrains(work) == retrains and again["baseline_model_uri"] is None, (
        "a span with no new level must not retrain the full model"
    )

    # The previous model's files are damaged: refused before anything runs, naming it.
    embeddings = os.path.join(served, EMBEDDINGS_DIR)
    shutil.copytree(embeddings, tmp_path / "intact")
    weights = os.path.join(embeddings, "level", "weights.npy")
    with open(weights, "r+b") as handle:
        handle.truncate(10)
    assert f"model artifact {served} is unreadable" in refused(capsys, toy, work, 2)
    shutil.copy(tmp_path / "intact" / "level" / "weights.npy", weights)
    os.remove(os.path.join(embeddings, MANIFEST))
    err = refused(capsys, toy, work, 2)
    assert served in err and MANIFEST in err
    with open(tmp_path / "intact" / MANIFEST, encoding="utf-8") as handle:
        manifest = json.load(handle)
    manifest["tables"] = {"../../outside": "level"}
    with open(os.path.join(embeddings, MANIFEST), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    err = refused(capsys, toy, work, 2)
    assert served in err and "not a plain folder name" in err
    assert len(versions(serving)) == 2 and full_retrains(work) == retrains


@pytest.mark.reliability("previous model with another embedding dim")
def test_a_parent_that_does_not_fit_is_refused_unless_asked_to_start_fresh(toy, tmp_path, capsys):
    work = tmp_path / "work"
    code, first = run(toy, work, 1)
    assert code == 0
    pushed = snapshot(work / "serving")
    has = "has features/dims {'group': 2, 'level': 2}, this run asks for"
    for extra, message in (
        (("--embedding-dim", "3"), f"{has} {{'level': 3, 'group': 3}}"),
        (("--categorical", "level"), f"{has} {{'level': 2}}"),
        (
            ("--model", "mf", "--user-col", "group", "--item-col", "level"),
            "is model {'name': 'additive'}, this run asks for {'name': 'mf'",
        ),
    ):
        err = refused(capsys, toy, work, 2, *extra)
        assert f"previous model {first['model_uri']} {message}" in err
        assert "--fresh-on-mismatch" in err
    assert snapshot(work / "serving") == pushed
    code, fresh = run(toy, work, 2, "--embedding-dim", "3", "--fresh-on-mismatch")
    assert code == 0 and fresh["parent_model_uri"] is None
    assert fresh["features"]["level"] == {"old_levels": 0, "new_levels": 100, "vocab_size": 100}


@pytest.mark.reliability(
    "SIGKILL mid-Trainer", "two runs on one workdir", "secrets in the environment", "paths"
)
def test_a_killed_run_is_rerun_cleanly_while_a_second_run_is_refused(
    toy, tmp_path, capsys, monkeypatch
):
    work, cwd = tmp_path / "work", tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("NEWLEVELS_FAKE_TOKEN", SECRET)
    monkeypatch.chdir(cwd)
    data_before = snapshot(toy)
    argv = [
        sys.executable,
        "-m",
        "newlevels.cli",
        "run",
        "--data",
        str(toy),
        "--span",
        "1",
        "--workdir",
        str(work),
        *COLUMNS,
    ]
    victim = subprocess.Popen(
        argv,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=os.path.dirname(cli.__file__) + "/..",
    )
    try:
        deadline = time.monotonic() + 240
        while not (work / "tfx" / "incremental_trainer").exists():
            assert victim.poll() is None and time.monotonic() < deadline, (
                "run never reached the Trainer"
            )
            time.sleep(0.2)
        err = refused(capsys, toy, work, 1)
        holder = re.search(r"in use by another newlevels run \(pid (\d+)\)", err)
        assert holder and int(holder.group(1)) == victim.pid, err
        time.sleep(1.0)
    finally:
        # Killed here whatever happened above, so no run outlives a failed test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
    assert versions(work / "serving") == []

    code, summary = run(toy, work, 1)
    assert code == 0 and summary["pushed"]
    assert len(versions(work / "serving")) == 1
    assert not [v for v in versions(work / "serving") if not v.isdigit()], "no partial push"

    store = metadata.open_store(str(work / "metadata.sqlite"))
    runs = metadata.all_runs(store, "newlevels")
    assert len(runs) == 2 and runs[-1].nodes["Pusher"].output("pushed_model") is not None
    assert cli.main(["lineage", "--workdir", str(work)]) == 0

    with open(work / "metadata.sqlite", "rb") as handle:
        assert SECRET.encode() not in handle.read(), "no secret may reach MLMD"
    assert os.listdir(cwd) == [], "nothing is written outside the workdir"
    assert snapshot(toy) == data_before, "the data is never written to"
