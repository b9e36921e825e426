"""Each run flag's default is its dataclass field's: written once, read by the CLI and the API."""

from __future__ import annotations

import argparse
import dataclasses

from newlevels.cli.commands import options
from newlevels.components.trainer.settings import TrainingOptions
from newlevels.contracts.gate import Gate
from newlevels.pipeline.config import RunConfig


def parsed_defaults() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    options.add_run_options(parser)
    return parser.parse_args([])


def test_the_run_flags_default_to_the_training_options_and_gate_fields():
    args = parsed_defaults()
    assert options.training_options(args) == TrainingOptions()
    gate = Gate()
    assert [getattr(args, f.name) for f in dataclasses.fields(Gate)] == [
        getattr(gate, f.name) for f in dataclasses.fields(Gate)
    ]
    strategy = next(f for f in dataclasses.fields(RunConfig) if f.name == "strategy")
    assert args.strategy == strategy.default


def test_a_run_config_from_default_flags_equals_the_dataclass_defaults(tmp_path):
    config = options.run_config(
        parsed_defaults(), str(tmp_path / "data"), 1, str(tmp_path / "work")
    )
    assert (config.options, config.gate) == (TrainingOptions(), Gate())
