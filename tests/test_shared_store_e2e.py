"""One MLMD store for a team, on real servers: pipelines, a foreign blesser, concurrent runs.

On MariaDB: two newlevels pipelines with different names and data (`team-a`:
the toy data at dim 2; `team-b`: other toy rows at dim 3, so a model of the
other pipeline would be refused as a parent) and a plain TFX pipeline whose
stock Evaluator blesses the newest model of the store. Each newlevels pipeline
resolves only its own parent; two runs of `team-a` span 2 started at once from
two workdirs (two machines) are guarded by the store's lease: one runs, the
other is refused naming it, one push. On PostgreSQL: a two-span pipeline and its
lineage. The session's passwords appear in nothing a run writes or prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from newlevels import cli
from newlevels.pipeline import metadata, store
from newlevels.pipeline.data.toy import write_toy
from newlevels.pipeline.pipeline import NodeIds
from newlevels.pipeline.report.from_store import summary_from_store
from tests import pipeline_checks as checks
from tests import plain_tfx, servers

COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]
OPTIONS = {"team-a": [], "team-b": ["--embedding-dim", "3"]}

pytestmark = pytest.mark.e2e


def start(url: str, pipeline: str, data, workdir, span: int, password: str) -> subprocess.Popen:
    """Starts `newlevels run` in its own process (a machine of the team)."""
    argv = [sys.executable, "-m", "newlevels.cli", "run", "--data", str(data), "--span", str(span)]
    options = ["--metadata", url, "--pipeline-name", pipeline, *OPTIONS.get(pipeline, [])]
    return subprocess.Popen(
        [*argv, "--workdir", str(workdir), *options, *COLUMNS],
        env={**os.environ, store.PASSWORD_ENV: password},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(processes: dict[str, subprocess.Popen]) -> dict[str, tuple[int, str, str]]:
    """Waits for every process: {name: (exit code, stdout, stderr)}."""
    return {
        name: (process.wait(timeout=1200), *process.communicate())
        for name, process in processes.items()
    }


def summary(workdir, span: int) -> dict:
    return checks.load_json(os.path.join(workdir, "runs", f"span-{span}", "summary.json"))


def files_holding(root, secret: str) -> list[str]:
    """Every file under `root` whose bytes contain `secret`."""
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                if secret.encode() in handle.read():
                    found.append(path)
    return found


def store_holding(mlmd_store, secret: str) -> list[str]:
    """Every artifact, execution and context of the store whose record mentions `secret`."""
    records = [
        *mlmd_store.get_artifacts(),
        *mlmd_store.get_executions(),
        *mlmd_store.get_contexts(),
    ]
    return [f"{type(r).__name__} {r.id}" for r in records if secret in str(r)]


def pushes_of_span(mlmd_store, pipeline: str, span: int) -> list[str]:
    """The destinations the pipeline's runs of `span` pushed to."""
    pushed = []
    for run in metadata.all_runs(mlmd_store, pipeline):
        examples = run.nodes[NodeIds.EXAMPLE_GEN].output("examples")
        if metadata.custom_value(examples, "span") != span:
            continue
        for node_id in (NodeIds.PUSHER, NodeIds.BASELINE_PUSHER):
            node = run.nodes.get(node_id)
            artifact = node.output("pushed_model") if node else None
            if metadata.custom_value(artifact, "pushed"):
                pushed.append(metadata.custom_value(artifact, "pushed_destination"))
    return pushed


@pytest.fixture(scope="module")
def team(mysql_server, postgresql_server, tmp_path_factory):
    """Every run of this module, as a team's machines would start them.

    Round 1: team-a and team-b span 1 on MariaDB, and span 1 on PostgreSQL, side
    by side. Then the plain TFX pipeline blesses the newest model of the MariaDB
    store. Round 2, side by side: team-a span 2 from two machines at once,
    team-b span 2, and span 2 on PostgreSQL. Processes run in parallel: a run is
    mostly one busy thread, so two cores take two runs at once.
    """
    root = tmp_path_factory.mktemp("team")
    mysql = mysql_server.url(servers.fresh_database_name("team"))
    postgresql = postgresql_server.url(servers.fresh_database_name("pg"))
    data = {"team-a": root / "data-a", "team-b": root / "data-b", "pg": root / "data-pg"}
    write_toy(str(data["team-a"]))
    write_toy(str(data["team-b"]), seed=1)
    write_toy(str(data["pg"]))
    work = {name: root / f"work-{name}" for name in data} | {"team-a-2": root / "work-team-a-2"}
    pw = {"mysql": mysql_server.password, "pg": postgresql_server.password}

    def launch(span: int, name: str, url: str, pipeline: str, workdir: str, password: str):
        return start(url, pipeline, data[name], work[workdir], span, password)

    first = finish(
        {
            "team-a": launch(1, "team-a", mysql, "team-a", "team-a", pw["mysql"]),
            "team-b": launch(1, "team-b", mysql, "team-b", "team-b", pw["mysql"]),
            "pg": launch(1, "pg", postgresql, "newlevels", "pg", pw["pg"]),
        }
    )
    assert {name: done[0] for name, done in first.items()} == dict.fromkeys(first, 0), first
    where = store.resolve(mysql, None, None, None, environ={store.PASSWORD_ENV: pw["mysql"]})
    plain_tfx.run(str(root / "plain"), where.connection_config())
    mlmd_store = metadata.connect(where)
    blessed = [
        b
        for b in mlmd_store.get_artifacts_by_type("ModelBlessing")
        if metadata.custom_value(b, "blessed") == 1
    ]
    processes = {
        "team-a": launch(2, "team-a", mysql, "team-a", "team-a", pw["mysql"]),
        "team-a-2": launch(2, "team-a", mysql, "team-a", "team-a-2", pw["mysql"]),
        "team-b": launch(2, "team-b", mysql, "team-b", "team-b", pw["mysql"]),
        "pg": launch(2, "pg", postgresql, "newlevels", "pg", pw["pg"]),
    }
    pids = {name: process.pid for name, process in processes.items()}
    second = finish(processes)
    pg_where = store.resolve(postgresql, None, None, None, environ={store.PASSWORD_ENV: pw["pg"]})
    return {
        "root": root,
        "urls": {"mysql": mysql, "pg": postgresql},
        "passwords": pw,
        "stores": {"mysql": mlmd_store, "pg": metadata.connect(pg_where)},
        "work": work,
        "first": {name: summary(work[name], 1) for name in first},
        "rounds": (first, second),
        "pids": pids,
        "newest_blessed": max(blessed, key=lambda b: b.id),
    }


@pytest.mark.reliability("other pipelines' blessed models in a shared store")
def test_a_plain_tfx_pipelines_blessed_model_is_never_a_parent(team):
    foreign = team["newest_blessed"]
    (model,) = team["stores"]["mysql"].get_artifacts_by_id(
        [metadata.custom_value(foreign, "current_model_id")]
    )
    assert model.uri.startswith(str(team["root"] / "plain")), "the newest blessing is foreign"
    _, second = team["rounds"]
    assert second["team-b"][0] == 0
    second_b = summary(team["work"]["team-b"], 2)
    assert second_b["parent_model_uri"] == team["first"]["team-b"]["model_uri"]
    assert second_b["pushed"]


def concurrent_outcome(team) -> tuple[str, str]:
    """Of the two runs of team-a span 2 started at once: (the one that ran, the one refused)."""
    _, second = team["rounds"]
    codes = {name: second[name][0] for name in ("team-a", "team-a-2")}
    assert sorted(codes.values()) == [0, 2], second
    won = next(name for name, code in codes.items() if code == 0)
    return won, next(name for name in codes if name != won)


@pytest.mark.reliability("other pipelines' blessed models in a shared store")
def test_two_pipelines_in_one_store_each_extend_only_their_own_models(team):
    first = team["first"]
    # Side by side in one store, and neither took the other's model as a first parent.
    assert first["team-a"]["parent_model_uri"] is None
    assert first["team-b"]["parent_model_uri"] is None
    won, _ = concurrent_outcome(team)
    for name, workdir in (("team-a", team["work"][won]), ("team-b", team["work"]["team-b"])):
        second = summary(workdir, 2)
        assert second["parent_model_uri"] == first[name]["model_uri"], name
        assert second["features"]["level"] == {
            "old_levels": 80,
            "new_levels": 20,
            "vocab_size": 100,
        }


@pytest.mark.reliability("two runs of one pipeline at once")
def test_concurrent_runs_of_one_span_are_guarded_one_runs_and_one_is_refused(team):
    won, lost = concurrent_outcome(team)
    refusal = team["rounds"][1][lost][2]
    assert refusal.count("\n") == 1 and "pipeline 'team-a' is already running" in refusal
    assert f"pid {team['pids'][won]}" in refusal and "span 2 on host" in refusal
    assert team["urls"]["mysql"] in refusal and str(team["work"][won]) in refusal
    # One push for the span; the refused run wrote nothing in the store or its workdir.
    assert len(pushes_of_span(team["stores"]["mysql"], "team-a", 2)) == 1
    assert len(metadata.all_runs(team["stores"]["mysql"], "team-a")) == 2
    assert not os.path.exists(os.path.join(team["work"][lost], "runs", "span-2"))


def test_lineage_reads_each_pipeline_back_with_the_parent_its_next_run_takes(
    team, monkeypatch, capsys
):
    monkeypatch.setenv(store.PASSWORD_ENV, team["passwords"]["mysql"])
    url = team["urls"]["mysql"]
    for pipeline in ("team-a", "team-b"):
        assert cli.main(["lineage", "--metadata", url, "--pipeline-name", pipeline]) == 0
        table = capsys.readouterr().out.splitlines()
        assert [row.split()[0] for row in table[1:-1]] == ["1", "2"], table
        parent = metadata.last_pushed_model(team["stores"]["mysql"], pipeline)
        assert table[-1].endswith(f"extends model {parent.id} (the last it pushed)")
        argv = ["lineage", "--metadata", url, "--pipeline-name", pipeline, "--format", "json"]
        assert cli.main(argv) == 0
        rows = json.loads(capsys.readouterr().out)
        assert rows[-1]["candidate"]["id"] == parent.id
        assert rows[-1]["candidate"]["parent_id"] == rows[0]["candidate"]["id"]


def test_a_two_span_pipeline_on_postgresql_chains_and_reads_back(team, monkeypatch, capsys):
    _, second = team["rounds"]
    assert second["pg"][0] == 0, second["pg"]
    first, last = team["first"]["pg"], summary(team["work"]["pg"], 2)
    assert first["pushed"] and last["pushed"]
    assert last["parent_model_uri"] == first["model_uri"]
    assert checks.max_change_by_token(first["model_uri"], last["model_uri"]) == {"level": 0.0}
    monkeypatch.setenv(store.PASSWORD_ENV, team["passwords"]["pg"])
    assert cli.main(["lineage", "--metadata", team["urls"]["pg"], "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["span"] for r in rows] == [1, 2]
    assert rows[1]["candidate"]["parent_id"] == rows[0]["candidate"]["id"]
    assert [r["candidate"]["uri"] for r in rows] == [first["model_uri"], last["model_uri"]]


@pytest.mark.reliability("a store password")
def test_the_passwords_reach_no_file_log_output_or_mlmd_record(team):
    for kind, secret in team["passwords"].items():
        assert files_holding(team["root"], secret) == [], kind
        assert store_holding(team["stores"][kind], secret) == [], kind
        for _, out, err in (*team["rounds"][0].values(), *team["rounds"][1].values()):
            assert secret not in out + err, kind


def test_a_report_reads_a_run_of_another_machine_from_the_store(team, tmp_path, monkeypatch):
    won, _ = concurrent_outcome(team)
    written = summary(team["work"][won], 2)
    monkeypatch.setenv(store.PASSWORD_ENV, team["passwords"]["mysql"])
    from_store = summary_from_store(team["stores"]["mysql"], "team-a", 2)
    assert {key: written[key] for key in from_store if key != "run_id"} == {
        key: value for key, value in from_store.items() if key != "run_id"
    }
    here = tmp_path / "here"  # this machine: no summary of that run
    argv = ["report", "--workdir", str(here), "--span", "2", "--pipeline-name", "team-a"]
    assert cli.main([*argv, "--metadata", team["urls"]["mysql"]]) == 0
    page = here / "runs" / "span-2" / "report" / "report.html"
    assert page.exists() and "movement-level.png" in page.read_text()
