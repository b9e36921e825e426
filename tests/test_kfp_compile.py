"""`newlevels kfp compile`: a strict KFP PipelineSpec of the one pipeline, runtime parameters."""

from __future__ import annotations

import json
import os
import sys

import pytest
import tensorflow_model_analysis as tfma
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.dsl.components.common import resolver as tfx_resolver
from tfx.orchestration.kubeflow.v2.file_based_example_gen import driver as example_gen_driver
from tfx.proto import range_config_pb2

from newlevels import cli
from newlevels.cli.commands import kfp
from newlevels.components.evaluation.eval_config import AUC_CLASSES, gate_of
from newlevels.components.resolver.strategy import PipelineBlessedModelStrategy
from newlevels.components.trainer.executor import Properties
from newlevels.components.trainer.settings import TrainerSettings, TrainingOptions
from newlevels.contracts import gate as gates
from newlevels.kubeflow.compile import compile_job
from newlevels.pipeline import parameters
from newlevels.pipeline.pipeline import NodeIds, create_pipeline

IMAGE = "europe-docker.pkg.dev/project/repo/newlevels:0.1.0"
ROOT = "gs://bucket/newlevels"
BLESSING_RESOLVER = f"{NodeIds.PARENT_RESOLVER}-model-blessing-resolver"
MODEL_RESOLVER = f"{NodeIds.PARENT_RESOLVER}-model-resolver"
MF_OPTIONS = [
    "--model",
    "mf",
    "--user-col",
    "userId",
    "--item-col",
    "movieId",
    "--unfreeze-shared",
    "--replay-fraction",
    "0.1",
    "--min-count",
    "2",
    "--incremental-epochs",
    "5",
]
#: the training options MF_OPTIONS give (the rest keep their defaults).
MF_TRAINING = TrainingOptions(
    model="mf",
    user_column="userId",
    item_column="movieId",
    unfreeze_shared=True,
    replay_fraction=0.1,
    min_count=2,
    incremental_epochs=5,
)
RUN_OPTIONS = [
    "--pipeline-root",
    ROOT,
    "--span",
    "3",
    "--strategy",
    "constrained",
    "--min-auc",
    "0.6",
    "--tolerance",
    "0.015",
    "--beam-arg=--runner=DataflowRunner",
    "--beam-arg=--direct_num_workers=4",
    *MF_OPTIONS,
]
BEAM_ARGS = ["--direct_running_mode=in_memory", "--runner=DataflowRunner", "--direct_num_workers=4"]


def compile_to(tmp_path, monkeypatch, name: str) -> str:
    # Compile from inside a scratch folder so a leaked working directory shows.
    monkeypatch.chdir(tmp_path)
    out = str(tmp_path / name)
    assert cli.main(["kfp", "compile", "--out", out, "--image", IMAGE, *RUN_OPTIONS]) == 0
    return out


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> tuple[str, dict]:
    folder = tmp_path_factory.mktemp("kfp")
    with pytest.MonkeyPatch.context() as monkeypatch:
        out = compile_to(folder, monkeypatch, "pipeline.json")
    with open(out, encoding="utf-8") as handle:
        text = handle.read()
    return text, json.loads(text)


@pytest.fixture(scope="module")
def spec(compiled) -> pipeline_spec_pb2.PipelineSpec:
    _, job = compiled
    return json_format.ParseDict(
        job["pipelineSpec"], pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False
    )


def container(spec: pipeline_spec_pb2.PipelineSpec, task: str) -> dict:
    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    return executors[spec.components[task].executor_label]["container"]


def local_pipeline():
    """The pipeline `kfp compile` builds for RUN_OPTIONS, before compiling."""
    args = cli.build_parser().parse_args(["kfp", "values", *RUN_OPTIONS])
    return create_pipeline(kfp.kfp_config(args), runtime_parameters=True)


def test_every_component_compiles_into_the_strict_pipeline_spec(compiled, spec):
    _, job = compiled
    json_format.ParseDict(job, pipeline_spec_pb2.PipelineJob(), ignore_unknown_fields=False)
    components = {c.id for c in local_pipeline().components} - {NodeIds.PARENT_RESOLVER}
    assert {
        NodeIds.EXAMPLE_GEN,
        NodeIds.SCHEMA_GEN,
        NodeIds.BASE_GRAPH_RESOLVER,
        NodeIds.TRANSFORM,
        NodeIds.INCREMENTAL_TRAINER,
        NodeIds.FULL_TRAINER,
        NodeIds.EVALUATOR,
        NodeIds.DECISION,
        NodeIds.PUSHER,
        NodeIds.BASELINE_PUSHER,
    } <= components
    assert set(spec.root.dag.tasks) == {*components, BLESSING_RESOLVER, MODEL_RESOLVER}
    assert spec.pipeline_info.name == "newlevels"
    assert spec.schema_version == "2.1.0"
    for task in components - {NodeIds.BASE_GRAPH_RESOLVER}:
        assert container(spec, task)["image"] == IMAGE
    assert job["runtimeConfig"]["gcsOutputDirectory"] == f"{ROOT}/tfx"
    assert spec.default_pipeline_root == f"{ROOT}/tfx"


def test_parent_resolver_compiles_to_two_metadata_queries(spec):
    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]

    def query(task: str, key: str) -> str:
        resolver = executors[spec.components[task].executor_label]["resolver"]
        return resolver["outputArtifactQueries"][key]["filter"]

    blessing = query(BLESSING_RESOLVER, "model_blessing")
    assert 'schema_title="tfx.ModelBlessing"' in blessing
    assert "metadata.blessed.number_value=1" in blessing
    # Scoped to the pipeline: another pipeline's (or a stock Evaluator's) blessing
    # in the same store never names this pipeline.
    assert blessing.endswith(' AND metadata.newlevels_pipeline.string_value="newlevels"')
    # The Model the blessing names, by its URI: the Decision's `current_model_id` is TFX's
    # int id (a hash of the artifact name on Kubeflow), which names no artifact.
    model = query(MODEL_RESOLVER, "model")
    assert model == (
        'schema_title="tfx.Model" AND state=LIVE AND '
        "uri=\"{{$.inputs.artifacts['input'].metadata['current_model']}}\""
    )
    chained = spec.root.dag.tasks[MODEL_RESOLVER].inputs.artifacts["input"]
    assert chained.task_output_artifact.producer_task == BLESSING_RESOLVER
    base_model = spec.root.dag.tasks[NodeIds.INCREMENTAL_TRAINER].inputs.artifacts["base_model"]
    assert base_model.task_output_artifact.producer_task == MODEL_RESOLVER


def test_base_transform_graph_resolver_compiles_to_a_latest_graph_query(spec):
    """Earlier spans come through the latest TransformGraph (its span history) of this
    pipeline: the Transform executor writes the pipeline's name on each graph."""
    executors = json_format.MessageToDict(spec.deployment_spec)["executors"]
    label = spec.components[NodeIds.BASE_GRAPH_RESOLVER].executor_label
    query = executors[label]["resolver"]["outputArtifactQueries"]["transform_graph"]["filter"]
    assert query == (
        'schema_title="tfx.TransformGraph" AND state=LIVE AND '
        'metadata.newlevels_pipeline.string_value="newlevels"'
    )
    base = spec.root.dag.tasks[NodeIds.TRANSFORM].inputs.artifacts["base_transform_graph"]
    assert base.task_output_artifact.producer_task == NodeIds.BASE_GRAPH_RESOLVER
    transform_inputs = spec.root.dag.tasks[NodeIds.TRANSFORM].inputs.parameters
    assert transform_inputs["pipeline_name"].runtime_value.constant.string_value == "newlevels"
    graph = spec.root.dag.tasks[NodeIds.FULL_TRAINER].inputs.artifacts["transform_graph"]
    assert graph.task_output_artifact.producer_task == NodeIds.TRANSFORM


def test_the_pipeline_name_names_the_compiled_pipeline_and_scopes_its_queries(tmp_path):
    args = cli.build_parser().parse_args(
        ["kfp", "values", *RUN_OPTIONS, "--pipeline-name", "team-a"]
    )
    job = compile_job(kfp.kfp_config(args), IMAGE)
    assert job["pipelineSpec"]["pipelineInfo"]["name"] == "team-a"
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    filters = [
        query["filter"]
        for executor in executors.values()
        for query in executor.get("resolver", {}).get("outputArtifactQueries", {}).values()
    ]
    clause = ' AND metadata.newlevels_pipeline.string_value="team-a"'
    scoped = [f for f in filters if f.endswith(clause)]
    assert sorted(f.split(" AND ")[0] for f in scoped) == [
        'schema_title="tfx.ModelBlessing"',
        'schema_title="tfx.TransformGraph"',
    ]


def test_the_local_resolver_is_scoped_to_the_pipeline_name():
    args = cli.build_parser().parse_args(
        ["kfp", "values", *RUN_OPTIONS, "--pipeline-name", "team-a"]
    )
    pipeline = create_pipeline(kfp.kfp_config(args))
    (resolver,) = [c for c in pipeline.components if c.id == NodeIds.PARENT_RESOLVER]
    properties = resolver.exec_properties
    assert properties[tfx_resolver.RESOLVER_STRATEGY_CLASS] is PipelineBlessedModelStrategy
    assert properties[tfx_resolver.RESOLVER_CONFIG] == {"pipeline_name": "team-a"}
    assert pipeline.pipeline_info.pipeline_name == "team-a"


def test_beam_args_reach_every_beam_powered_component(spec):
    for task in (NodeIds.EXAMPLE_GEN, NodeIds.TRANSFORM, NodeIds.EVALUATOR):
        args = container(spec, task)["args"]
        assert args[-len(BEAM_ARGS) :] == BEAM_ARGS, task
        assert "--direct_num_workers=1" not in args
    driver = container(spec, NodeIds.EXAMPLE_GEN)["lifecycle"]["preCacheCheck"]
    assert driver["args"][-len(BEAM_ARGS) :] == BEAM_ARGS


def test_runtime_parameters_are_pipeline_inputs_wired_to_whole_properties(compiled, spec):
    _, job = compiled
    inputs = spec.root.input_definitions.parameters
    assert set(inputs) == set(parameters.NAMES)
    defaults = job["runtimeConfig"]["parameterValues"]
    for name in parameters.NAMES:
        assert inputs[name].parameter_type == pipeline_spec_pb2.ParameterType.STRING
        assert inputs[name].default_value.string_value == defaults[name]

    def wired(task: str, prop: str) -> str:
        return spec.root.dag.tasks[task].inputs.parameters[prop].component_input_parameter

    assert wired(NodeIds.EXAMPLE_GEN, "input_base") == parameters.DATA_ROOT
    assert wired(NodeIds.EXAMPLE_GEN, "range_config") == parameters.RANGE_CONFIG
    assert wired(NodeIds.INCREMENTAL_TRAINER, "custom_config") == (
        parameters.INCREMENTAL_TRAINER_CONFIG
    )
    assert wired(NodeIds.EVALUATOR, "eval_config") == parameters.EVAL_CONFIG
    assert wired(NodeIds.DECISION, "eval_config") == parameters.EVAL_CONFIG
    assert wired(NodeIds.DECISION, "policy") == parameters.DECISION_POLICY
    assert wired(NodeIds.FULL_TRAINER, "custom_config") == ""

    assert defaults[parameters.DATA_ROOT] == f"{ROOT}/data"
    span = json_format.Parse(defaults[parameters.RANGE_CONFIG], range_config_pb2.RangeConfig())
    assert span.static_range.start_span_number == span.static_range.end_span_number == 3
    trainer = TrainerSettings.from_custom_config(
        json.loads(defaults[parameters.INCREMENTAL_TRAINER_CONFIG])
    )
    assert trainer.strategy == "constrained"
    # The mf options travel in the runtime parameter; the full retrain's constant
    # custom_config holds the same options (one model family per run).
    assert trainer.options == MF_TRAINING
    assert trainer.options.width == 16
    full_config = spec.root.dag.tasks[NodeIds.FULL_TRAINER].inputs.parameters["custom_config"]
    full = TrainerSettings.from_custom_config(
        json.loads(full_config.runtime_value.constant.string_value)
    )
    assert full.strategy == "full" and full.options == MF_TRAINING
    config = json_format.Parse(defaults[parameters.EVAL_CONFIG], tfma.EvalConfig())
    assert [list(s.feature_keys) for s in config.slicing_specs] == [
        [],
        ["level_cohort"],
        ["level_cohort_userId"],
        ["level_cohort_movieId"],
    ]
    assert defaults[parameters.DECISION_POLICY] == gates.EXTEND_OR_REBASE


def test_the_compiled_gate_holds_each_threshold_on_its_cohort_slice(spec):
    default = spec.root.input_definitions.parameters[parameters.EVAL_CONFIG].default_value
    config = json_format.Parse(default.string_value, tfma.EvalConfig())
    (auc,) = [m for m in config.metrics_specs[0].metrics if m.class_name in AUC_CLASSES]
    found = {
        (dict(t.slicing_specs[0].feature_values).get("level_cohort", "overall"), kind): bound
        for t in auc.per_slice_thresholds
        for kind, bound in (
            ("floor", t.threshold.value_threshold.lower_bound.value),
            ("change", t.threshold.change_threshold.absolute.value),
        )
        if t.threshold.HasField(f"{'value' if kind == 'floor' else 'change'}_threshold")
    }
    assert found == {
        ("overall", "floor"): pytest.approx(0.6),
        ("overall", "change"): pytest.approx(-0.015),
        ("new", "change"): pytest.approx(-0.015),
        ("old", "change"): pytest.approx(-gates.Gate().staleness_budget),
    }
    assert gate_of(config, gates.EXTEND_OR_REBASE) == gates.Gate(min_auc=0.6, tolerance=0.015)


#: the steps that run only when the candidate added a level (inside the Cond).
CONDITIONAL = (
    NodeIds.FULL_TRAINER,
    NodeIds.EVALUATOR,
    NodeIds.DECISION,
    NodeIds.PUSHER,
    NodeIds.BASELINE_PUSHER,
)


def test_only_the_conditional_steps_trigger_on_the_candidates_new_levels(spec):
    for name, task in spec.root.dag.tasks.items():
        condition = task.trigger_policy.condition
        if name not in CONDITIONAL:
            assert condition == "", name
            continue
        prefix = "(inputs.artifacts['"
        assert condition.startswith(prefix), name
        key = condition[len(prefix) : condition.index("']")]
        assert condition.endswith(f"metadata['{Properties.NEW_LEVELS}'] > 0.0)"), name
        source = task.inputs.artifacts[key].task_output_artifact
        assert (source.producer_task, source.output_artifact_key) == (
            NodeIds.INCREMENTAL_TRAINER,
            "model",
        ), name


def task_values(spec, task: str, run_values: dict[str, str]) -> dict[str, str]:
    """The parameter values a task's executor gets for a run, as the KFP launcher fills them."""
    values = {}
    for name, value in spec.root.dag.tasks[task].inputs.parameters.items():
        if value.component_input_parameter:
            values[name] = run_values[value.component_input_parameter]
        else:
            values[name] = value.runtime_value.constant.string_value
    return values


def test_a_per_run_gate_reaches_both_the_evaluator_and_the_decision(spec, capsys):
    per_run = [
        "--min-auc",
        "0.7",
        "--max-auc-drop",
        "0.03",
        "--staleness-budget",
        "0.08",
        "--policy",
        "extend-only",
    ]
    options = [o for o in RUN_OPTIONS if o not in ("--min-auc", "0.6", "--tolerance", "0.015")]
    capsys.readouterr()
    assert cli.main(["kfp", "values", *options, *per_run]) == 0
    run_values = json.loads(capsys.readouterr().out)
    expected = gates.Gate(
        min_auc=0.7, tolerance=0.03, staleness_budget=0.08, policy=gates.EXTEND_ONLY
    )
    evaluator = task_values(spec, NodeIds.EVALUATOR, run_values)
    decision = task_values(spec, NodeIds.DECISION, run_values)
    assert evaluator["eval_config"] == decision["eval_config"]
    evaluator_config = json_format.Parse(evaluator["eval_config"], tfma.EvalConfig())
    assert gate_of(evaluator_config, gates.EXTEND_ONLY) == expected
    assert gate_of(decision["eval_config"], decision["policy"]) == expected
    # Nothing of the gate is a compile-time constant of the Decision (its baseline plan
    # is: a compiled pipeline trains the full retrain on every span).
    constants = {
        k
        for k, v in spec.root.dag.tasks[NodeIds.DECISION].inputs.parameters.items()
        if not v.component_input_parameter
    }
    assert constants == {"pipeline_name", "baseline_plan"}


def test_compiled_spec_holds_no_local_machine_path(compiled, tmp_path):
    text, _ = compiled
    local = {
        "/work/",
        "/tmp/",
        "/home/",
        "/root/",
        os.path.expanduser("~"),
        sys.prefix,
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        "_wheels",
        "module_file",
    }
    assert [path for path in local if path in text] == []


def test_no_component_carries_a_module_file_to_stage_as_a_wheel():
    pipeline = local_pipeline()
    for component in pipeline.components:
        for prop in ("module_file", "module_path"):
            assert component.exec_properties.get(prop) is None, (component.id, prop)
    by_id = {component.id: component.exec_properties for component in pipeline.components}
    assert by_id[NodeIds.TRANSFORM]["preprocessing_fn"] == (
        "newlevels.transforms.preprocessing.preprocessing_fn"
    )
    for trainer in (NodeIds.INCREMENTAL_TRAINER, NodeIds.FULL_TRAINER):
        assert by_id[trainer]["run_fn"] == "newlevels.components.trainer.run_fn.run_fn"


def test_yaml_output_is_the_pipeline_spec_alone_with_its_defaults(tmp_path, monkeypatch):
    out = compile_to(tmp_path, monkeypatch, "pipeline.yaml")
    with open(out, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    spec = json_format.ParseDict(
        document, pipeline_spec_pb2.PipelineSpec(), ignore_unknown_fields=False
    )
    data_root = spec.root.input_definitions.parameters[parameters.DATA_ROOT]
    assert data_root.default_value.string_value == f"{ROOT}/data"
    assert os.listdir(tmp_path) == ["pipeline.yaml"]


def test_values_prints_the_parameters_a_run_passes(capsys):
    assert cli.main(["kfp", "values", *RUN_OPTIONS]) == 0
    values = json.loads(capsys.readouterr().out)
    assert set(values) == set(parameters.NAMES)
    assert json.loads(values[parameters.INCREMENTAL_TRAINER_CONFIG])["strategy"] == "constrained"


@pytest.mark.parametrize(("span", "expected"), [("1", 1), ("", 2)])
def test_example_gen_driver_ingests_the_span_a_run_passes(
    compiled, spec, tmp_path, capsys, span, expected
):
    """The container's ExampleGen driver, fed the compiled task and a run's values."""
    _, job = compiled
    data = str(tmp_path / "data")
    assert cli.main(["data", "toy", "--out", data]) == 0
    options = ["--pipeline-root", ROOT, "--data-root", data, "--span", span or "1"]
    capsys.readouterr()
    assert cli.main(["kfp", "values", *options]) == 0
    run_values = json.loads(capsys.readouterr().out)
    if not span:
        run_values[parameters.RANGE_CONFIG] = ""  # the newest span folder
    executor_input = pipeline_spec_pb2.ExecutorInput()
    for name, value in spec.root.dag.tasks[NodeIds.EXAMPLE_GEN].inputs.parameters.items():
        if value.component_input_parameter:
            run_value = run_values[value.component_input_parameter]
            executor_input.inputs.parameter_values[name].string_value = run_value
        else:
            executor_input.inputs.parameter_values[name].CopyFrom(value.runtime_value.constant)
    examples = executor_input.outputs.artifacts["examples"].artifacts.add()
    examples.type.schema_title = "tfx.Examples"
    examples.uri = str(tmp_path / "examples")
    executor_input.outputs.output_file = str(tmp_path / "out" / "executor_output.json")

    inputs_spec = spec.components[NodeIds.EXAMPLE_GEN].input_definitions
    example_gen_driver._run_driver(executor_input, inputs_spec)

    with open(executor_input.outputs.output_file, encoding="utf-8") as handle:
        output = json_format.Parse(handle.read(), pipeline_spec_pb2.ExecutorOutput())
    assert output.parameter_values["span"].number_value == expected
    assert f"span-{expected}/*" in output.parameter_values["input_config"].string_value
