from __future__ import annotations

import os

import pytest

from components.trainer.settings import Role
from pipeline import cli
from pipeline.commands import demo, options
from pipeline.errors import ConfigError


def test_demo_never_empties_a_folder_it_did_not_make(tmp_path):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match="not made by the demo"):
        demo.fresh_workdir(str(precious))
    assert (precious / "keep.txt").read_text() == "x"


def test_demo_resets_its_own_workdir(tmp_path):
    workdir = tmp_path / "demo"
    demo.fresh_workdir(str(workdir))
    (workdir / "stale.txt").write_text("old run")
    data_root = demo.fresh_workdir(str(workdir))
    assert not (workdir / "stale.txt").exists()
    assert data_root == str(workdir / "data")


def test_every_command_is_registered_with_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in ("run", "data", "demo", "lineage", "reproduce-seed", "report", "kfp"):
        assert name in out


def test_data_toy_writes_two_spans(tmp_path, capsys):
    assert cli.main(["data", "toy", "--out", str(tmp_path)]) == 0
    assert "span 1: 3967 rows, span 2: 1033 rows" in capsys.readouterr().out
    assert (tmp_path / "span-1" / "toy.csv").exists() and (tmp_path / "span-2" / "toy.csv").exists()


def test_data_movielens_writes_three_time_ordered_spans(tmp_path, capsys):
    assert cli.main(["data", "movielens", "--out", str(tmp_path), "--spans", "3"]) == 0
    assert "span 1: 84945 rows, span 2: 2224 rows, span 3: 12835 rows" in capsys.readouterr().out


def test_mf_options_reach_the_trainer_settings_with_the_mf_default_dim(tmp_path):
    args = cli.build_parser().parse_args(
        [
            "run",
            "--data",
            str(tmp_path),
            "--span",
            "1",
            "--workdir",
            str(tmp_path / "w"),
            "--model",
            "mf",
            "--unfreeze-shared",
            "--replay-fraction",
            "0.1",
            "--min-count",
            "3",
        ]
    )
    settings = options.run_config(args, args.data, 1, args.workdir).trainer_settings(
        Role.INCREMENTAL
    )
    assert settings.model == "mf" and settings.family.name == "mf"
    assert {f.embedding_dim for f in settings.data_spec.categorical} == {16}
    assert settings.unfreeze_shared and settings.replay_fraction == 0.1
    assert settings.min_count == 3


def test_beam_args_replace_the_defaults_of_the_same_flag_and_append_the_rest():
    args = cli.build_parser().parse_args(
        [
            "run",
            "--data",
            "gs://bucket/data",
            "--span",
            "2",
            "--workdir",
            "work",
            "--beam-arg=--runner=FlinkRunner",
            "--beam-arg=--direct_num_workers=2",
            "--distribution",
            "mirrored",
        ]
    )
    config = options.run_config(args, args.data, args.span, args.workdir)
    assert config.beam_args == (
        "--direct_running_mode=in_memory",
        "--runner=FlinkRunner",
        "--direct_num_workers=2",
    )
    assert config.data_root == "gs://bucket/data"
    assert os.path.isabs(config.workdir)
    assert {config.trainer_settings(role).distribution for role in Role} == {"mirrored"}


def test_every_command_has_the_scale_out_options():
    parser = cli.build_parser()
    for argv in (
        ["run", "--data", "d", "--span", "1", "--workdir", "w"],
        ["demo"],
        ["kfp", "compile", "--out", "p.json", "--pipeline-root", "gs://b/r"],
    ):
        args = parser.parse_args([*argv, "--beam-arg=--runner=SparkRunner"])
        assert args.beam_args == ["--runner=SparkRunner"]
        assert args.distribution == "default"


def test_sparse_updates_reach_both_trainers_and_default_to_lazy(tmp_path):
    run = ["run", "--data", str(tmp_path), "--span", "1", "--workdir", str(tmp_path / "w")]
    for extra, expected in (([], "lazy"), (["--sparse-updates", "dense"], "dense")):
        args = cli.build_parser().parse_args([*run, *extra])
        config = options.run_config(args, args.data, 1, args.workdir)
        assert {config.trainer_settings(role).sparse_updates for role in Role} == {expected}
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args([*run, "--sparse-updates", "eager"])
