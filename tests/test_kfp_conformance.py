"""A Kubeflow conformance run: every task of the compiled PipelineSpec, run as a launcher would.

`newlevels kfp compile` writes the spec; `tests/kfp_launcher.py` then runs its DAG
locally for span 1 and span 2, each task a subprocess of this venv's `python` with
exactly the compiled command and arguments (`kubeflow_v2_run_executor`, the ExampleGen
driver hook in `lifecycle.preCacheCheck`), an ExecutorInput filled in as the KFP v2
driver and launcher fill it, outputs under the spec's `defaultPipelineRoot`, and a
SQLite MLMD store kept as the launcher keeps it, from which the resolver tasks answer
their queries. Span 2's rows mix old and new levels (a new item rated by an old user,
and the reverse), so old embedding rows receive gradients while span 2 trains.

What it covers: every custom executor and user function imports from the installed
package by the dotted path the spec names, and the image's import check covers each;
every argument the compiler wrote parses; each output lands at the URI the launcher
provisioned and is read from there by the next task; the ExampleGen driver resolves the
span a run passes; the conditions of the compiled spec evaluate on real task inputs; the
Decision's blessing reaches the Pusher and, in the next run, the parent resolver, whose
Model query finds the model each blessing names; the graph and blessing queries skip
another pipeline's newer artifacts (the pipeline is compiled under a non-default name);
JSON properties (the rows digests) cross task boundaries in the launcher's envelope;
span 2's candidate keeps every old row bit-identical.

What it does not prove:
- that the open-source KFP backend runs this spec. It does not, as of kubeflow/pipelines
  at 7b70c7b (2026-08): its compiler refuses resolver executors at run creation, it
  ignores `lifecycle.preCacheCheck` (SpanExampleGen then gets no `span`), and it
  hands upstream artifacts over with an empty instance schema, which TFX 1.16's
  entrypoint cannot parse. Resolver queries, the hook and typed inputs here follow
  Vertex AI Pipelines, the backend the compiled spec targets;
- anything about cluster scheduling, pods, resources, retries, the image itself
  (`docker build` is not run: the venv stands in for it), object stores (gs://, s3://:
  the pipeline root is a local folder, and the launcher's upload and download steps are
  not exercised), the backend's caching (never used: every task runs), its own MLMD
  service (one SQLite store per test, its filter grammar emulated in `kfp_mlmd.py`), or
  Vertex AI's exact ordering and formatting where its documentation is silent (the newest
  matching artifact wins; an empty upstream input resolves to nothing; metadata structs
  and lists are wrapped as the open-source launcher wraps them, which Vertex may not do:
  `components/properties.py` reads both).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil

import numpy as np
import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2 as kfp

from newlevels import cli
from newlevels.components.ingest.csv_rows import span_dir
from newlevels.contracts import blessing as blessing_properties
from newlevels.kubeflow import image_check
from newlevels.pipeline.pipeline import NodeIds
from tests import kfp_cel, kfp_executors
from tests import pipeline_checks as checks
from tests import test_image_recipe as image_recipe
from tests.kfp_launcher import COMPLETE, LocalLauncher, TaskRun
from tests.kfp_mlmd import LauncherStore

pytestmark = pytest.mark.e2e

FEATURES = ("user", "item")
COLUMNS = ["--categorical", ",".join(FEATURES), "--label", "label", "--id", "id"]
#: not the default name, so that a query or property missing the name finds nothing.
PIPELINE_NAME = "conformance"
#: levels per feature in span 1 and, cumulatively, in span 2.
LEVELS = {1: 12, 2: 18}
ROWS = {1: 900, 2: 360}


def write_mixed_spans(out: str, seed: int = 0) -> None:
    """Two spans of (user, item) rows; span 2 adds levels of both, mostly beside old ones.

    Each level has its own effect on the label, so every row is learnable from both
    of its levels and a row holding one old and one new level moves the old row
    unless the strategy freezes it.
    """
    rng = np.random.default_rng(seed)
    effects = {f: rng.normal(0.0, 1.5, size=LEVELS[2]) for f in FEATURES}
    for span, rows in ROWS.items():
        levels = {f: rng.integers(0, LEVELS[span], size=rows) for f in FEATURES}
        logits = sum(effects[f][levels[f]] for f in FEATURES)
        labels = (rng.uniform(size=rows) < 1.0 / (1.0 + np.exp(-logits))).astype(int)
        folder = span_dir(out, span)
        os.makedirs(folder)
        with open(os.path.join(folder, "rows.csv"), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", *FEATURES, "label"])
            for i in range(rows):
                tokens = [f"{f}{levels[f][i]}" for f in FEATURES]
                writer.writerow([f"s{span}-{i}", *tokens, labels[i]])


def run_values(options: list[str]) -> dict[str, str]:
    """The runtime parameter values `newlevels kfp values` prints for `options`."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(["kfp", "values", *options]) == 0
    return json.loads(printed.getvalue())


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The mixed data, the compiled spec and a launcher with an empty MLMD store."""
    folder = tmp_path_factory.mktemp("conformance")
    data, root, out = str(folder / "data"), str(folder / "root"), str(folder / "pipeline.json")
    write_mixed_spans(data)
    options = ["--pipeline-root", root, "--data-root", data, "--pipeline-name", PIPELINE_NAME]
    options += COLUMNS
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["kfp", "compile", "--out", out, *options]) == 0
    with open(out, encoding="utf-8") as handle:
        spec = json_format.ParseDict(json.load(handle)["pipelineSpec"], kfp.PipelineSpec())
    store = str(folder / "mlmd.sqlite")
    launcher = LocalLauncher(spec, LauncherStore(store))
    return {
        "spec": spec,
        "launcher": launcher,
        "store": store,
        "options": options,
        "data": data,
        "root": root,
    }


def run_span(compiled, span: int) -> dict[str, TaskRun]:
    values = run_values([*compiled["options"], "--span", str(span)])
    return compiled["launcher"].run(f"span-{span}", values)


@pytest.fixture(scope="module")
def first(compiled) -> dict[str, TaskRun]:
    return run_span(compiled, 1)


@pytest.fixture(scope="module")
def second(compiled, first) -> dict[str, TaskRun]:
    return run_span(compiled, 2)


@pytest.fixture(
    params=[pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)]
)
def span_run(request) -> tuple[int, dict[str, TaskRun]]:
    """Each span's run, with `-m slow` (the default run's 30-minute budget): span 1, then span 2."""
    return request.param, request.getfixturevalue("first" if request.param == 1 else "second")


def producer(spec: kfp.PipelineSpec, task: str, key: str) -> tuple[str, str]:
    """The (task, output key) that input `key` of `task` reads, as the spec wires it."""
    source = spec.root.dag.tasks[task].inputs.artifacts[key].task_output_artifact
    return source.producer_task, source.output_artifact_key


def run_resolver(compiled, store: LauncherStore, task: str, given: dict) -> dict[str, list]:
    """What the compiled resolver task `task` returns from `store`, given its input artifacts."""
    spec = compiled["spec"]
    component = spec.components[spec.root.dag.tasks[task].component_ref.name]
    executor_input = kfp.ExecutorInput()
    for key, artifact in given.items():
        declared = component.input_definitions.artifacts[key].artifact_type
        runtime = store.runtime_artifact(artifact, declared)
        executor_input.inputs.artifacts[key].artifacts.append(runtime)
    resolver = compiled["launcher"].executors[component.executor_label].resolver
    return kfp_executors.resolve(store, task, resolver, executor_input)


def ids(artifacts) -> list[int]:
    return [artifact.id for artifact in artifacts]


def metadata(artifact) -> dict:
    return {k: getattr(v, v.WhichOneof("value")) for k, v in artifact.custom_properties.items()}


def spec_modules(spec: kfp.PipelineSpec) -> set[str]:
    """The newlevels modules a task imports by the dotted paths the spec names."""
    named = [
        container["args"][container["args"].index("--executor_class_path") + 1]
        for executor in json_format.MessageToDict(spec.deployment_spec)["executors"].values()
        if "--executor_class_path" in (container := executor.get("container", {})).get("args", [])
    ]
    for task in spec.root.dag.tasks.values():
        for value in task.inputs.parameters.values():
            constant = value.runtime_value.constant
            if constant.WhichOneof("kind") == "string_value":
                named.append(constant.string_value)
    return {n.rsplit(".", 1)[0] for n in named if re.fullmatch(r"newlevels(\.\w+)+", n)}


def test_the_image_recipe_checks_every_module_the_compiled_spec_imports(compiled):
    commands = image_recipe.shell_commands()
    check = ["python", "-m", image_check.__name__]
    assert check in commands
    # After the sources are gone, so the installed package is what imports.
    assert commands.index(["rm", "-rf", "/tmp/newlevels"]) < commands.index(check)
    modules = spec_modules(compiled["spec"])
    assert {"newlevels.components.trainer.run_fn", "newlevels.transforms.preprocessing"} <= modules
    assert modules <= set(image_check.task_modules())


def test_every_task_of_the_compiled_spec_runs_its_container(compiled, span_run):
    _, runs = span_run
    assert set(runs) == set(compiled["spec"].root.dag.tasks)
    assert {name: run.state for name, run in runs.items()} == dict.fromkeys(runs, COMPLETE)
    for name, run in runs.items():
        output_file = run.executor_input.outputs.output_file
        # Resolvers run no container; every container's entrypoint wrote its outputs.
        assert not output_file or os.path.isfile(output_file), name


def test_every_input_is_the_artifact_its_producer_wrote_and_is_found_at_its_uri(compiled, span_run):
    spec, (_, runs) = compiled["spec"], span_run
    types = {t.id: t.name for t in compiled["launcher"].store.store.get_artifact_types()}
    for name, task in spec.root.dag.tasks.items():
        for key in task.inputs.artifacts:
            source, output = producer(spec, name, key)
            read = [a.id for a in runs[name].inputs[key]]
            assert read == [a.id for a in runs[source].outputs.get(output, [])], (name, key)
            for artifact in runs[name].inputs[key]:
                # A blessing is its `blessed` property (what the Pusher checks); every
                # other input is a payload that must be at the URI the consumer got.
                if types[artifact.type_id] != "tfx.ModelBlessing":
                    assert os.listdir(artifact.uri), (name, key, artifact.uri)


def test_the_example_gen_driver_hook_resolves_the_span_each_run_passes(span_run):
    span, runs = span_run
    example_gen = runs[NodeIds.EXAMPLE_GEN]
    [examples] = example_gen.outputs["examples"]
    # TFX's entrypoint prefixes a custom property that shadows a type property
    # ("custom:span"), and the launcher stores the metadata keys as they come.
    assert metadata(examples)["custom:span"] == span
    passed = example_gen.executor_input.inputs.parameter_values
    [split] = json.loads(passed["input_config"].string_value)["splits"]
    assert split["pattern"] == f"span-{span}/*"


@pytest.mark.slow
def test_the_blessing_reaches_the_pusher_which_pushes_under_the_pipeline_root(compiled, first):
    gate, key = producer(compiled["spec"], NodeIds.PUSHER, "model_blessing")
    [blessing] = first[gate].outputs[key]
    [model] = first[NodeIds.PUSHER].inputs["model"]
    # A blessing is its properties: TFX's Pusher reads `blessed` (model_utils.is_model_blessed),
    # the scoped parent query `newlevels_pipeline`, the model query `current_model`.
    assert metadata(blessing)["blessed"] == 1.0
    assert metadata(blessing)[blessing_properties.PIPELINE] == PIPELINE_NAME
    assert metadata(blessing)["current_model"] == model.uri
    assert [a.id for a in first[NodeIds.PUSHER].inputs["model_blessing"]] == [blessing.id]
    [pushed] = first[NodeIds.PUSHER].outputs["pushed_model"]
    assert metadata(pushed)["pushed"] == 1.0
    destination = metadata(pushed)["pushed_destination"]
    assert destination.startswith(compiled["root"]) and os.listdir(destination)
    # The full retrain's blessing is not blessed on an extension: one push per span.
    [not_pushed] = first[NodeIds.BASELINE_PUSHER].outputs["pushed_model"]
    assert metadata(not_pushed)["pushed"] == 0.0


@pytest.mark.slow
def test_compiled_conditions_run_tasks_with_new_levels_and_skip_them_without(compiled, first):
    conditional = {
        name: task
        for name, task in compiled["spec"].root.dag.tasks.items()
        if task.trigger_policy.condition
    }
    assert conditional, "the compiled spec gates the no-op span"
    for name, task in conditional.items():
        executor_input = first[name].executor_input
        view = json_format.MessageToDict(executor_input, preserving_proto_field_name=True)
        assert kfp_cel.evaluate(task.trigger_policy.condition, view) is True
        # An input with nothing resolved (span 1's parent) is an empty ArtifactList.
        for listing in view["inputs"]["artifacts"].values():
            for artifact in listing.get("artifacts", []):
                if "newlevels_new_levels" in artifact["metadata"]:
                    artifact["metadata"]["newlevels_new_levels"] = 0.0
        assert kfp_cel.evaluate(task.trigger_policy.condition, view) is False, name


@pytest.mark.slow
def test_every_blessing_names_its_model_as_the_compiled_model_resolver_looks_it_up(compiled, first):
    """The candidate's blessing and the full retrain's each lead the compiled Model query
    to the model they bless, so a rebased full retrain is found as the next parent too."""
    resolver, key = producer(compiled["spec"], NodeIds.INCREMENTAL_TRAINER, "base_model")
    decision = first[NodeIds.DECISION]
    for model_key in ("candidate", "baseline"):
        [blessing] = decision.outputs[f"{model_key}_blessing"]
        found = run_resolver(compiled, compiled["launcher"].store, resolver, {"input": blessing})
        assert ids(found[key]) == ids(decision.inputs[model_key]), model_key


@pytest.mark.slow
def test_the_compiled_queries_skip_newer_graphs_and_blessings_of_other_pipelines(
    compiled, first, tmp_path
):
    """Another newlevels pipeline's, and a plain TFX pipeline's (no pipeline property),
    newer TransformGraph and blessed ModelBlessing in the same store change nothing the
    compiled graph and blessing queries resolve."""
    shutil.copy(compiled["store"], tmp_path / "mlmd.sqlite")
    store = LauncherStore(str(tmp_path / "mlmd.sqlite"))
    spec = compiled["spec"]
    model_resolver, _ = producer(spec, NodeIds.INCREMENTAL_TRAINER, "base_model")
    queries = [producer(spec, NodeIds.TRANSFORM, "base_transform_graph")]
    queries.append(producer(spec, model_resolver, "input"))

    def resolved() -> dict[str, list[int]]:
        return {key: ids(run_resolver(compiled, store, task, {})[key]) for task, key in queries}

    ours = resolved()
    assert all(ours.values()), ours
    store.open_run("other", "other-run")
    for title, extra in (("tfx.TransformGraph", {}), ("tfx.ModelBlessing", {"blessed": 1.0})):
        for owner, scope in (("other", {blessing_properties.PIPELINE: "other"}), ("plain", {})):
            runtime = json_format.ParseDict(
                {"uri": f"/{owner}/{title}", "type": {"schemaTitle": title}}, kfp.RuntimeArtifact()
            )
            runtime.metadata.update({**extra, **scope})
            store.record_artifact(f"{owner}/{title}", "output", runtime)
    assert resolved() == ours


@pytest.mark.slow
def test_the_next_runs_parent_resolver_returns_the_pushed_model(compiled, first, second):
    [pushed_model] = first[NodeIds.PUSHER].inputs["model"]
    resolver, resolved = producer(compiled["spec"], NodeIds.INCREMENTAL_TRAINER, "base_model")
    assert [a.id for a in second[resolver].outputs[resolved]] == [pushed_model.id]
    base = second[NodeIds.INCREMENTAL_TRAINER].inputs["base_model"]
    assert [a.id for a in base] == [pushed_model.id]


@pytest.mark.slow
def test_span_two_extends_the_pushed_model_and_keeps_every_old_row_bit_identical(
    compiled, first, second
):
    [parent] = first[NodeIds.PUSHER].inputs["model"]
    [child] = second[NodeIds.INCREMENTAL_TRAINER].outputs["model"]
    assert checks.max_change_by_token(parent.uri, child.uri) == dict.fromkeys(FEATURES, 0.0)
    assert metadata(child)["newlevels_new_levels"] == 2 * (LEVELS[2] - LEVELS[1])
    old = {f: {f"{f}{i}" for i in range(LEVELS[1])} for f in FEATURES}
    mixed = [
        row
        for row in checks.csv_rows(compiled["data"], 2)
        if checks.is_training_row(row["id"]) and len({row[f] in old[f] for f in FEATURES}) == 2
    ]
    assert len(mixed) > 100, "span 2 must train rows that hold an old and a new level"
    # The Decision verified the freeze certificate on digests that crossed task boundaries.
    [blessing] = second[NodeIds.DECISION].outputs["candidate_blessing"]
    reasons = json_format.MessageToDict(metadata(blessing)[blessing_properties.REASONS])["list"]
    assert any(line.endswith("are the parent's, by sha256 digest") for line in reasons), reasons
