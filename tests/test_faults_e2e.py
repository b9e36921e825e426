"""Faults and re-runs on the real pipeline: nothing wrong is pushed, nothing is lost."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from newlevels import cli
from newlevels.pipeline import metadata
from newlevels.pipeline.data.toy import write_toy
from tests import pipeline_checks as checks

COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]
SECRET = "newlevels-test-secret-5b9d0c"

pytestmark = pytest.mark.e2e


def run(data, workdir, span, *extra) -> tuple[int, dict | None]:
    argv = ["run", "--data", str(data), "--span", str(span), "--workdir", str(workdir)]
    code = cli.main([*argv, *COLUMNS, *extra])
    path = os.path.join(workdir, "runs", f"span-{span}", "summary.json")
    return code, (checks.load_json(path) if code == 0 else None)


def snapshot(folder) -> dict[str, str]:
    """Every file under `folder` with the SHA-256 of its bytes."""
    found = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, folder)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def versions(serving) -> list[str]:
    return sorted(os.listdir(serving)) if os.path.isdir(serving) else []


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    data = tmp_path_factory.mktemp("faults") / "data"
    write_toy(str(data))
    return data


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

    capsys.readouterr()
    code, again = run(toy, work, 2)
    assert code == 0 and again["new_levels"] == 0 and again["rows_trained"] == 0
    assert not again["pushed"] and again["parent_model_uri"] == second["model_uri"]
    assert "no new levels" in capsys.readouterr().out
    assert len(versions(serving)) == 2, "re-running a span pushes nothing new"

    # The previous model's files are damaged: refused before anything runs.
    weights = os.path.join(second["model_uri"], "embeddings", "level", "weights.npy")
    with open(weights, "r+b") as handle:
        handle.truncate(10)
    capsys.readouterr()
    code, _ = run(toy, work, 2)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and second["model_uri"] in err
    assert len(versions(serving)) == 2


def test_a_parent_with_another_dimension_is_refused_unless_asked_to_start_fresh(
    toy, tmp_path, capsys
):
    work = tmp_path / "work"
    assert run(toy, work, 1)[0] == 0
    pushed = snapshot(work / "serving")
    capsys.readouterr()
    code, _ = run(toy, work, 2, "--embedding-dim", "3")
    err = capsys.readouterr().err.strip()
    assert code == 2 and "has features/dims {'level': 2}" in err and "--fresh-on-mismatch" in err
    assert snapshot(work / "serving") == pushed
    code, fresh = run(toy, work, 2, "--embedding-dim", "3", "--fresh-on-mismatch")
    assert code == 0 and fresh["parent_model_uri"] is None
    assert fresh["features"]["level"] == {"old_levels": 0, "new_levels": 100, "vocab_size": 100}


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
        capsys.readouterr()
        assert run(toy, work, 1)[0] == 2
        assert "in use by another newlevels run" in capsys.readouterr().err
        time.sleep(1.0)
        os.killpg(victim.pid, signal.SIGKILL)
    finally:
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
