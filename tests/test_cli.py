from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from newlevels import cli
from newlevels.cli.commands import demo, options
from newlevels.components.trainer import early_stopping, init
from newlevels.components.trainer.settings import (
    Role,
    TrainerSettings,
    TrainingOptions,
    TrainingOptionsError,
)
from newlevels.pipeline.errors import ConfigError
from newlevels.transforms.features import DataSpec


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
    for name in (
        "run",
        "data",
        "demo",
        "lineage",
        "reproduce-seed",
        "report",
        "kfp",
        "delta",
        "index",
    ):
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
            str(tmp_path / "data"),
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
    assert settings.options.model == "mf" and settings.family.name == "mf"
    assert settings.options.width == 16 and settings.options.embedding_dim is None
    assert settings.options.unfreeze_shared and settings.options.replay_fraction == 0.1
    assert settings.options.min_count == 3


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
    assert {config.trainer_settings(role).options.distribution for role in Role} == {"mirrored"}


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


def test_top_level_help_and_light_commands_do_not_import_tensorflow():
    # `newlevels --help` should answer at once; run's options import TensorFlow.
    code = (
        "import sys\n"
        "from newlevels import cli\n"
        "for argv in (['--help'], ['data', '--help']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, e.code\n"
        "print('TF', 'tensorflow' in sys.modules)\n"
        "try:\n"
        "    cli.main(['run', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TF', 'tensorflow' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [line for line in out if line.startswith("TF ")] == ["TF False", "TF True"]


def test_incremental_epochs_cap_early_stopping_and_apply_only_to_a_run_with_a_parent(tmp_path):
    def options_for(*extra: str):
        argv = [
            "run",
            "--data",
            str(tmp_path / "d"),
            "--span",
            "1",
            "--workdir",
            str(tmp_path / "w"),
        ]
        args = cli.build_parser().parse_args([*argv, *extra])
        return options.run_config(args, args.data, 1, args.workdir).options

    stopping = options_for("--epochs", "3")
    assert stopping.incremental_epochs is None and stopping.early_stopping == "on"
    cap = early_stopping.DEFAULT_EPOCH_CAP
    assert stopping.epochs_for(Role.INCREMENTAL, extends_parent=True) == cap
    assert stopping.stops_early(Role.INCREMENTAL, extends_parent=True)
    for role, parent in ((Role.INCREMENTAL, False), (Role.FULL, True), (Role.FULL, False)):
        assert stopping.epochs_for(role, parent) == 3
        assert not stopping.stops_early(role, parent)
    fixed = options_for("--epochs", "3", "--early-stopping", "off")
    assert {fixed.epochs_for(role, parent) for role in Role for parent in (True, False)} == {3}
    apart = options_for("--incremental-epochs", "7")
    assert apart.epochs_for(Role.INCREMENTAL, extends_parent=True) == 7
    assert apart.epochs_for(Role.INCREMENTAL, extends_parent=False) == 2
    assert apart.epochs_for(Role.FULL, extends_parent=True) == 2


def test_init_early_stopping_and_adapt_flags_reach_the_training_options(tmp_path):
    data, work = str(tmp_path / "data"), str(tmp_path / "w")
    run = ["run", "--data", data, "--span", "1", "--workdir", work]
    args = cli.build_parser().parse_args(run)
    defaults = options.run_config(args, args.data, 1, args.workdir).options
    assert (defaults.init, defaults.adapt) == (init.DEFAULT, "none")
    extra = ["--init", "mean", "--holdout-fraction", "0.2", "--patience", "3", "--adapt", "head"]
    args = cli.build_parser().parse_args([*run, *extra])
    config = options.run_config(args, args.data, 1, args.workdir)
    for role in Role:
        got = config.trainer_settings(role).options
        assert (got.init, got.holdout_fraction, got.patience, got.adapt) == ("mean", 0.2, 3, "head")


def test_trainer_settings_round_trip_through_a_flat_custom_config_and_refuse_unknown_keys():
    spec = DataSpec.build(["userId", "movieId"], "liked", "id")
    options = TrainingOptions(
        incremental_epochs=5, model="mf", unfreeze_shared=True, min_count=2, embedding_dim=8
    )
    settings = TrainerSettings(spec, Role.INCREMENTAL, "masked", options)
    config = settings.to_custom_config()
    assert config["incremental_epochs"] == 5 and config["model"] == "mf"  # flat keys
    assert TrainerSettings.from_custom_config(json.loads(json.dumps(config))) == settings
    with pytest.raises(TrainingOptionsError, match="unknown trainer config keys: epoch"):
        TrainerSettings.from_custom_config({**config, "epoch": 3})


def test_a_trainer_config_from_when_the_data_spec_carried_the_width_keeps_it():
    spec = DataSpec.build(["level"], "label", "id").to_dict()
    spec["categorical"][0]["embedding_dim"] = 5  # as releases before the model option wrote it
    config = {"data_spec": spec, "role": "incremental", "strategy": "split"}
    assert TrainerSettings.from_custom_config(config).options.width == 5
    assert TrainerSettings.from_custom_config({**config, "embedding_dim": 4}).options.width == 4


def test_embedding_dim_is_a_model_option_with_the_familys_default(tmp_path):
    run = ["run", "--data", str(tmp_path / "d"), "--span", "1", "--workdir", str(tmp_path / "w")]
    for extra, width in (([], 2), (["--embedding-dim", "7"], 7), (["--model", "mf"], 16)):
        args = cli.build_parser().parse_args([*run, *extra])
        config = options.run_config(args, args.data, 1, args.workdir)
        assert {config.trainer_settings(role).options.width for role in Role} == {width}
        assert "embedding_dim" not in json.dumps(config.data_spec.to_dict())
    with pytest.raises(TrainingOptionsError, match="--embedding-dim must be 1 or more"):
        TrainingOptions(embedding_dim=0)


def test_sparse_updates_reach_both_trainers_and_default_to_lazy(tmp_path):
    run = ["run", "--data", str(tmp_path / "d"), "--span", "1", "--workdir", str(tmp_path / "w")]
    for extra, expected in (([], "lazy"), (["--sparse-updates", "dense"], "dense")):
        args = cli.build_parser().parse_args([*run, *extra])
        config = options.run_config(args, args.data, 1, args.workdir)
        assert {config.trainer_settings(role).options.sparse_updates for role in Role} == {expected}
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args([*run, "--sparse-updates", "eager"])
