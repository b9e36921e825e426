"""MLMD on real MariaDB and PostgreSQL servers: connecting, the run lease, the scoped parent.

No pipeline runs here (see tests/test_shared_store_e2e.py): the stores are
filled with the artifacts and contexts TFX would write.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time

import pytest
from tfx.types import standard_artifacts

from newlevels import cli
from newlevels.components.resolver.strategy import (
    MODEL,
    MODEL_BLESSING,
    PipelineBlessedModelStrategy,
)
from newlevels.pipeline import lease, metadata, store
from tests import mlmd_records, servers

WRONG = "wrong-Password-51c0"


def open_store(server):
    """A fresh database on `server`, as the CLI names it (one per module: MLMD takes
    seconds to create its tables)."""
    where = store.resolve(
        server.url(servers.fresh_database_name("servers")),
        None,
        None,
        None,
        environ={store.PASSWORD_ENV: server.password},
    )
    return where, metadata.connect(where)


@pytest.fixture(scope="module", params=["mysql", "postgresql"])
def server_store(request):
    server = request.getfixturevalue(f"{request.param}_server")
    return (server, *open_store(server))


@pytest.fixture(scope="module")
def mysql_store(mysql_server):
    return open_store(mysql_server)


@pytest.mark.reliability("a store password")
def test_a_wrong_password_is_one_line_naming_the_store_and_no_password(
    server_store, monkeypatch, capsys
):
    server, where, _ = server_store
    monkeypatch.setenv(store.PASSWORD_ENV, WRONG)
    assert cli.main(["lineage", "--metadata", where.label]) == 2
    captured = capsys.readouterr()
    line = captured.err
    assert line.count("\n") == 1 and line.startswith("newlevels: error: ")
    assert where.label in line and "is not a readable MLMD store" in line
    assert WRONG not in line and server.password not in line
    assert captured.out == ""


def test_a_store_without_the_pipeline_says_which_it_holds(server_store, monkeypatch, capsys):
    server, where, mlmd_store = server_store
    mlmd_records.Records(mlmd_store).pipeline(f"held-{server.scheme}")
    monkeypatch.setenv(store.PASSWORD_ENV, server.password)
    assert cli.main(["lineage", "--metadata", where.label, "--pipeline-name", "team-z"]) == 2
    err = capsys.readouterr().err
    assert "no run of pipeline 'team-z'" in err and f"pipelines in it: held-{server.scheme}" in err


def other_machine(span: int = 2, heartbeat: float | None = None, pid: int = 4242) -> lease.Holder:
    now = time.time()
    return lease.Holder("builder-7", pid, span, "/srv/work", now - 60, heartbeat or now)


def test_a_second_run_is_refused_naming_the_run_holding_the_pipeline(server_store):
    _, where, mlmd_store = server_store
    lease.acquire(mlmd_store, "team-a", other_machine())
    with pytest.raises(lease.PipelineBusyError) as refused:
        lease.acquire(
            mlmd_store, "team-a", lease.Holder.this_process(2, "/here"), label=where.label
        )
    message = str(refused.value)
    for named in ("'team-a'", where.label, "span 2", "host builder-7", "pid 4242", "started"):
        assert named in message
    # Another pipeline in the same store is not held up.
    lease.acquire(mlmd_store, "team-b", lease.Holder.this_process(1, "/here"))


@pytest.mark.reliability("two runs of one pipeline at once")
def test_two_runs_that_read_the_same_ticket_cannot_both_take_the_next(server_store, monkeypatch):
    _, _, mlmd_store = server_store
    # Both runs read "no ticket yet"; the first creates ticket 1 ...
    lease.acquire(mlmd_store, "race", other_machine())
    # ... and the second, still believing there is none, tries to create it too.
    monkeypatch.setattr(lease, "latest_ticket", lambda *_: None)
    with pytest.raises(lease.PipelineBusyError, match="host builder-7, pid 4242"):
        lease.acquire(mlmd_store, "race", lease.Holder.this_process(2, "/here"))


@pytest.mark.reliability("a killed run's store lease")
def test_a_closed_dead_or_silent_lease_is_taken_over_and_a_live_one_is_not(mysql_store):
    _, mlmd_store = mysql_store
    pipelines = iter(f"stale-{n}" for n in range(10))

    def taken_after(holder: lease.Holder) -> bool:
        pipeline = next(pipelines)
        lease.acquire(mlmd_store, pipeline, holder)
        try:
            lease.acquire(mlmd_store, pipeline, lease.Holder.this_process(3, "/here"))
        except lease.PipelineBusyError:
            return False
        return True

    dead = 2**22 + 12345  # above Linux's pid_max: no such process
    assert taken_after(lease.Holder(socket.gethostname(), dead, 1, "/w", time.time(), time.time()))
    assert taken_after(other_machine(heartbeat=time.time() - lease.STALE_SECONDS - 1))
    closed = other_machine()
    assert taken_after(dataclasses.replace(closed, finished=time.time()))
    assert not taken_after(other_machine())
    init = lease.Holder(socket.gethostname(), 1, 1, "/w", time.time(), time.time())
    assert not taken_after(init), "a live process of this host keeps its lease"


def test_a_held_lease_beats_while_the_run_lasts_and_is_closed_after(server_store):
    _, where, mlmd_store = server_store
    with lease.held(where, "beat", 1, "/here", heartbeat_seconds=0.2) as ticket:
        time.sleep(1.0)
        beating = lease.Holder.from_context(lease.latest_ticket(mlmd_store, "beat"))
        assert beating.heartbeat > beating.started and not beating.finished
        assert ticket.name == "beat#1"
    done = lease.Holder.from_context(lease.latest_ticket(mlmd_store, "beat"))
    assert done.finished >= done.heartbeat > beating.heartbeat
    with lease.held(where, "beat", 2, "/here") as ticket:
        assert ticket.name == "beat#2"


def resolved(mlmd_store, pipeline_name: str) -> int | None:
    """The model id TFX's resolver step gets from our strategy, on the pipeline's channels."""

    def channel(type_name, artifact_class):
        wrapped = []
        for found in metadata.pipeline_artifacts(mlmd_store, pipeline_name, type_name):
            artifact = artifact_class()
            artifact.set_mlmd_artifact(found)
            wrapped.append(artifact)
        return wrapped

    inputs = {
        MODEL: channel("Model", standard_artifacts.Model),
        MODEL_BLESSING: channel("ModelBlessing", standard_artifacts.ModelBlessing),
    }
    models = PipelineBlessedModelStrategy(pipeline_name).resolve_artifacts(mlmd_store, inputs)
    return models[MODEL][0].id if models[MODEL] else None


def test_each_pipeline_resolves_only_the_models_its_own_pushes_blessed(mysql_store):
    _, mlmd_store = mysql_store
    build = mlmd_records.Records(mlmd_store)
    team_a, team_b, plain, old = (
        build.pipeline(n) for n in ("team-a", "team-b", "plain-tfx", "old-line")
    )
    a_pushed = build.push(team_a, "team-a")
    b_pushed = build.push(team_b, "team-b")
    # Newer blessed models that are not team-a's pushes: a plain TFX pipeline's
    # Evaluator, a blessing naming another pipeline, and a span the Decision held
    # (its blessing says 0) while the stock Evaluator in team-a blessed it.
    build.push(plain, None)
    build.push(team_a, "team-b")
    held = build.put(team_a, "Model")
    build.put(
        team_a, "ModelBlessing", blessed=0, current_model_id=held.id, newlevels_pipeline="team-a"
    )
    build.put(team_a, "ModelBlessing", blessed=1, current_model_id=held.id)
    # A pipeline recorded before the Decision: its blessings name no pipeline.
    build.push(old, None)
    old_last = build.push(old, None)

    assert resolved(mlmd_store, "team-a") == a_pushed.id
    assert resolved(mlmd_store, "team-b") == b_pushed.id
    assert resolved(mlmd_store, "old-line") == old_last.id
    assert resolved(mlmd_store, "team-c") is None
    # The preflight and `newlevels lineage` read the resolver's parent.
    for name in ("team-a", "team-b", "old-line", "plain-tfx", "team-c"):
        found = metadata.last_pushed_model(mlmd_store, name)
        assert (found.id if found else None) == resolved(mlmd_store, name), name


RACER = """
import os, sys, time
from newlevels.pipeline import metadata, store
folder, me, count, urls = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
open(os.path.join(folder, me), "w").close()
while len(os.listdir(folder)) < count:  # every racer is ready: connect at once
    time.sleep(0.005)
for url in urls:
    try:
        metadata.connect(store.resolve(url, None, None, None))
        print("ok")
    except Exception as error:
        print(str(error).splitlines()[0])
"""


def test_runs_starting_together_on_an_empty_database_all_connect(
    mysql_server, postgresql_server, tmp_path
):
    """MLMD creates its tables on first use; concurrent first users collide there."""
    urls = [
        mysql_server.url(servers.fresh_database_name("first")),
        postgresql_server.url(servers.fresh_database_name("first")),
    ]
    env = {**os.environ, store.PASSWORD_ENV: mysql_server.password}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path), str(n), "3", *urls],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for n in range(3)
    ]
    outcomes = [racer.communicate(timeout=600)[0].split("\n")[:2] for racer in racers]
    assert outcomes == [["ok", "ok"]] * 3
