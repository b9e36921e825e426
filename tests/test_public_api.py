"""The public API: every name `newlevels` exports loads, and `import newlevels` stays light."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

import newlevels

#: public name -> the object it must be (module path, attribute).
EXPECTED = {
    "categorical_vocabularies": ("newlevels.transforms.vocabularies", "categorical_vocabularies"),
    "LABEL_KEY": ("newlevels.transforms.vocabularies", "LABEL_KEY"),
    "ROW_ID_KEY": ("newlevels.transforms.vocabularies", "ROW_ID_KEY"),
    "TransformOutputError": ("newlevels.transforms.vocabularies", "TransformOutputError"),
    "ParentResolver": ("newlevels.components.resolver.strategy", "parent_resolver"),
    "TrainingOptions": ("newlevels.components.trainer.settings", "TrainingOptions"),
    "TrainerSettings": ("newlevels.components.trainer.settings", "TrainerSettings"),
    "trainer_settings": ("newlevels.components.trainer.component", "trainer_settings"),
    "IncrementalTrainer": ("newlevels.components.trainer.component", "IncrementalTrainer"),
    "FullRetrainTrainer": ("newlevels.components.trainer.component", "FullRetrainTrainer"),
    "run_fn": ("newlevels.components.trainer.run_fn", "run_fn"),
    "Gate": ("newlevels.contracts.gate", "Gate"),
    "eval_config": ("newlevels.components.evaluation.eval_config", "eval_config"),
    "Decision": ("newlevels.components.evaluation.decision", "Decision"),
    "Pusher": ("newlevels.components.push.component", "Pusher"),
}
HEAVY = ("tensorflow", "tfx", "tensorflow_transform", "tensorflow_model_analysis", "apache_beam")


def test_import_newlevels_pulls_in_no_tensorflow_or_tfx():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, newlevels; newlevels.__version__; dir(newlevels); "
            "print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not set(HEAVY) & set(loaded)


def test_every_public_name_loads_as_documented():
    import importlib

    assert sorted(newlevels.__all__) == sorted(EXPECTED)
    assert set(newlevels.__all__) <= set(dir(newlevels))
    for name, (module, attribute) in EXPECTED.items():
        assert getattr(newlevels, name) is getattr(importlib.import_module(module), attribute)
        assert name in newlevels.__doc__


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'IncrementalTrainr'"):
        newlevels.IncrementalTrainr  # noqa: B018


def test_the_stock_trainer_finds_run_fn_by_the_public_dotted_path():
    from tfx.utils import import_utils

    assert import_utils.import_func_from_module("newlevels", "run_fn") is newlevels.run_fn


def test_the_trainers_carry_one_settings_value_in_their_roles():
    from tfx import v1 as tfx

    channel = {
        "examples": tfx.dsl.Channel(type=tfx.types.standard_artifacts.Examples),
        "transform_graph": tfx.dsl.Channel(type=tfx.types.standard_artifacts.TransformGraph),
    }
    settings = newlevels.trainer_settings(["user", "item"], strategy="two_tables")
    base = tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model)
    incremental = newlevels.IncrementalTrainer(base_model=base, settings=settings, **channel)
    full = newlevels.FullRetrainTrainer(settings=settings, **channel)
    configs = [
        newlevels.TrainerSettings.from_custom_config(json.loads(t.exec_properties["custom_config"]))
        for t in (incremental, full)
    ]
    assert [(c.role.value, c.strategy) for c in configs] == [
        ("incremental", "two_tables"),
        ("full", "full"),
    ]
    assert {c.data_spec.feature_names for c in configs} == {("user", "item")}


def test_the_readme_shows_the_example_pipelines_own_code():
    root = pathlib.Path(__file__).parent.parent
    readme = (root / "README.md").read_text()
    section = readme.split("## Use it in your own pipeline\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    # ruff formats the README's blocks too, at the top level: compare lines unindented.
    example = {
        line.strip()
        for path in (root / "examples" / "own_pipeline").glob("*.py")
        for line in path.read_text().splitlines()
    }
    shown = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    assert len(blocks) == 2 and len(shown) > 30
    assert [line for line in shown if line not in example] == []
    for name in newlevels.__all__:
        assert f"`newlevels.{name}" in section or f"`{name}`" in section, name
