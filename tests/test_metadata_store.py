"""Naming an MLMD store: URLs, ConnectionConfig files, passwords, and keeping them secret."""

from __future__ import annotations

import logging
import time

import pytest

from newlevels import cli
from newlevels.cli.commands import options
from newlevels.components.resolver import scope
from newlevels.pipeline import lease, metadata, preflight, store
from newlevels.pipeline.data.toy import write_toy
from newlevels.pipeline.errors import ConfigError
from newlevels.pipeline.local_runner import RedactingFormatter
from tests import mlmd_records

SECRET = "unit-Secret-9f2c71"
NO_ENV: dict[str, str] = {}


def resolve(metadata=None, connection_config=None, password_file=None, environ=NO_ENV):
    return store.resolve(metadata, connection_config, password_file, None, environ)


def test_mysql_and_postgresql_urls_build_their_connection_configs():
    mysql = resolve("mysql://alice@db.internal:3307/mlmd", environ={store.PASSWORD_ENV: SECRET})
    config = mysql.connection_config().mysql
    assert (config.host, config.port, config.user, config.database) == (
        "db.internal",
        3307,
        "alice",
        "mlmd",
    )
    assert config.password == SECRET
    assert mysql.label == "mysql://alice@db.internal:3307/mlmd" and mysql.is_server

    postgres = resolve("postgresql://bob@10.0.0.5/team")
    config = postgres.connection_config().postgresql
    assert (config.host, config.port, config.user, config.dbname, config.password) == (
        "10.0.0.5",
        "5432",
        "bob",
        "team",
        "",
    )
    assert resolve("postgres://bob@h/team").label == "postgresql://bob@h:5432/team"
    assert resolve("mysql://u@h/db").connection_config().mysql.port == 3306


def test_a_path_is_a_sqlite_store_and_nothing_names_the_default(tmp_path):
    sqlite = resolve(str(tmp_path / "team.sqlite"), environ={store.PASSWORD_ENV: SECRET})
    assert sqlite.sqlite_path == str(tmp_path / "team.sqlite") and not sqlite.is_server
    assert sqlite.connection_config().sqlite.connection_mode == 3  # READWRITE_OPENCREATE
    default = store.sqlite_store(str(tmp_path / "w" / "metadata.sqlite"))
    assert store.resolve(None, None, None, default, NO_ENV) is default


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://@host:3306/db", "no user"),
        ("mysql://u@:3306/db", "no host"),
        ("postgresql://u@host:5432", "no db"),
        ("mysql://u@host:port/db", "the port is not a number"),
        ("mysql://u@host/db?ssl=1", "unexpected parts"),
        ("gs://bucket/metadata", "unsupported store gs://"),
    ],
)
def test_malformed_urls_are_refused_naming_the_problem(url, named):
    with pytest.raises(ConfigError, match=named):
        resolve(url)


@pytest.mark.reliability("a store password")
def test_a_password_in_the_url_is_refused_without_repeating_it(capsys):
    with pytest.raises(ConfigError) as refused:
        resolve(f"mysql://alice:{SECRET}@db:3306/mlmd")
    assert SECRET not in str(refused.value) and "--metadata-password-file" in str(refused.value)
    argv = ["lineage", "--metadata", f"postgresql://bob:{SECRET}@db/team"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("newlevels: error: --metadata")
    assert SECRET not in err


def test_the_password_comes_from_its_file_before_the_environment(tmp_path):
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    environ = {store.PASSWORD_ENV: "from-the-environment"}
    config = resolve("mysql://u@h/db", password_file=str(secret_file), environ=environ)
    assert config.connection_config().mysql.password == SECRET
    config = resolve("mysql://u@h/db", environ=environ)
    assert config.connection_config().mysql.password == "from-the-environment"


def test_password_files_that_cannot_serve_are_named(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match=f"{empty}: the first line is empty"):
        resolve("mysql://u@h/db", password_file=str(empty))
    with pytest.raises(ConfigError, match="cannot read it"):
        resolve("mysql://u@h/db", password_file=str(tmp_path / "missing"))
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET)
    with pytest.raises(ConfigError, match="SQLite, it takes no password"):
        resolve(str(tmp_path / "m.sqlite"), password_file=str(secret_file))
    with pytest.raises(ConfigError, match="needs --metadata URL or --connection-config"):
        resolve(password_file=str(secret_file))


def test_a_connection_config_file_names_any_store(tmp_path):
    path = tmp_path / "mysql.pbtxt"
    path.write_text('mysql { host: "db" port: 3306 database: "mlmd" user: "u" }\n')
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET)
    config = resolve(connection_config=str(path), password_file=str(secret_file))
    assert config.connection_config().mysql.password == SECRET
    assert config.label == "mysql://u@db:3306/mlmd"

    path.write_text(
        f'postgresql {{ host: "db" port: "5432" dbname: "t" user: "u" password: "{SECRET}" }}'
    )
    config = resolve(connection_config=str(path), environ={store.PASSWORD_ENV: "other"})
    assert config.connection_config().postgresql.password == SECRET, "the file's own wins"
    with pytest.raises(ConfigError, match="gives another: keep one"):
        resolve(connection_config=str(path), password_file=str(secret_file))


@pytest.mark.reliability("a store password")
def test_a_broken_connection_config_is_named_without_quoting_it(tmp_path):
    path = tmp_path / "bad.pbtxt"
    path.write_text(f"mysql {{ password: {SECRET} }}\n")  # unquoted: a parse error
    with pytest.raises(ConfigError) as refused:
        resolve(connection_config=str(path))
    assert str(path) in str(refused.value) and SECRET not in str(refused.value)
    path.write_text("")
    with pytest.raises(ConfigError, match="names no store"):
        resolve(connection_config=str(path))


def test_a_store_never_shows_its_password():
    config = resolve("mysql://alice@db/mlmd", environ={store.PASSWORD_ENV: SECRET})
    for shown in (repr(config), str(config), config.label):
        assert SECRET not in shown
    assert store.redact(f"password: {SECRET!r}") == f"password: '{store.REDACTED}'"


def test_the_run_log_formatter_redacts_messages_and_tracebacks():
    resolve("mysql://alice@db/mlmd", environ={store.PASSWORD_ENV: SECRET})
    formatter = RedactingFormatter("%(message)s")
    try:
        raise RuntimeError(f"connect failed with {SECRET}")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "tfx", logging.INFO, __file__, 1, "config: %s", (SECRET,), sys.exc_info()
        )
    text = formatter.format(record)
    assert SECRET not in text and text.count(store.REDACTED) == 2


@pytest.mark.parametrize("name", ["Newlevels", "team_a", "a" * 65, "a b", 'a"b', "9$"])
def test_pipeline_names_kubeflow_or_a_filter_would_refuse_are_refused(name, tmp_path, capsys):
    with pytest.raises(scope.PipelineNameError, match="--pipeline-name"):
        scope.check_pipeline_name(name)
    argv = ["run", "--data", str(tmp_path), "--span", "1", "--workdir", str(tmp_path / "w")]
    assert cli.main([*argv, "--pipeline-name", name]) == 2
    assert capsys.readouterr().err.startswith("newlevels: error: --pipeline-name")
    assert not (tmp_path / "w").exists()


def test_the_demo_refuses_a_store_already_holding_its_pipeline(tmp_path, capsys):
    path = tmp_path / "team.sqlite"
    mlmd_records.store_with_a_run_of(path, "newlevels")
    demo = tmp_path / "demo"
    assert cli.main(["demo", "--workdir", str(demo), "--metadata", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path} already holds runs of pipeline 'newlevels'" in err and "--pipeline-name" in err
    assert not demo.exists()


def test_a_report_of_a_span_the_store_never_ran_names_what_it_holds(tmp_path, capsys):
    path = tmp_path / "team.sqlite"
    mlmd_records.store_with_a_run_of(path, "movies")
    argv = ["report", "--workdir", str(tmp_path / "w"), "--span", "4", "--metadata", str(path)]
    assert cli.main([*argv, "--pipeline-name", "movies"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no run of span 4 of pipeline 'movies' (spans run: none)" in err
    assert (
        cli.main(
            [
                "report",
                "--workdir",
                str(tmp_path),
                "--span",
                "1",
                "--metadata",
                str(tmp_path / "no.sqlite"),
            ]
        )
        == 2
    )
    assert f"no MLMD store at {tmp_path / 'no.sqlite'}" in capsys.readouterr().err


TOY_COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]


def toy_run(tmp_path, *extra: str) -> list[str]:
    data = tmp_path / "data"
    if not data.exists():
        write_toy(str(data))
    argv = ["run", "--data", str(data), "--span", "1", "--workdir", str(tmp_path / "w")]
    return [*argv, *TOY_COLUMNS, *extra]


def test_a_run_is_refused_while_another_machine_holds_its_pipeline(tmp_path, capsys):
    path = tmp_path / "team.sqlite"
    mlmd_store = metadata.connect(store.sqlite_store(str(path)))
    now = time.time()
    lease.acquire(mlmd_store, "movies", lease.Holder("builder-7", 4242, 3, "/srv/w", now - 9, now))
    assert cli.main(toy_run(tmp_path, "--metadata", str(path), "--pipeline-name", "movies")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pipeline 'movies' is already running against" in err
    assert "span 3 on host builder-7, pid 4242" in err
    assert not (tmp_path / "w" / "runs").exists() and metadata.all_runs(mlmd_store, "movies") == []


def test_the_preflight_never_takes_another_pipelines_blessed_model(tmp_path, capsys):
    path = tmp_path / "team.sqlite"
    records = mlmd_records.Records(metadata.connect(store.sqlite_store(str(path))))
    # A plain TFX pipeline's Evaluator blessed a model (no newlevels files at its URI).
    records.push(records.pipeline("plain-tfx"), None)
    args = cli.build_parser().parse_args(toy_run(tmp_path, "--pipeline-name", "movies"))
    where = store.sqlite_store(str(path))
    config = options.run_config(args, args.data, 1, args.workdir, where)
    assert preflight.check_parent(config) is None, "a first run of 'movies'"


@pytest.mark.parametrize("error", [ConfigError, RuntimeError])
def test_the_cli_error_line_never_shows_a_password_in_use(error, monkeypatch, capsys):
    from newlevels.cli.commands import lineage

    store.remember_secret(SECRET)

    def fail(args):
        raise error(f"the driver said: password={SECRET}")

    monkeypatch.setattr(lineage, "execute", fail)
    assert cli.main(["lineage", "--store", "any.sqlite"]) in (1, 2)
    err = capsys.readouterr().err
    assert SECRET not in err and f"password={store.REDACTED}" in err
