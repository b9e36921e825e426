"""Append-only vocabularies or tf.Transform's analyzer cache: the Transform executor timed.

The same Examples artifacts (one per span, as the pipeline ingested them) go
through our Transform executor (span N alone, extending span N-1's graph) and
through TFX's (spans 1..N, with the analyzer cache of spans 1..N-1), each in a
fresh process (`cases.CASES["span_transform"]`). The cached variant runs the
`tft.vocabulary` preprocessing it can cache (`cacheable_preprocessing_fn`).
"""

from __future__ import annotations

import json
import os
from typing import Any

from newlevels.bench import common


def cacheable_preprocessing_fn(inputs: dict, custom_config: dict) -> dict:
    """Our preprocessing with `tft.vocabulary` per feature, as it was before append-only
    vocabularies: its analyzers tf.Transform can cache (the analyzer-cache variant)."""
    import tensorflow as tf
    import tensorflow_transform as tft

    from newlevels.transforms.features import DataSpec
    from newlevels.transforms.vocabularies import LABEL_KEY, ROW_ID_KEY, VOCABULARY_FORMAT

    spec = DataSpec.from_dict(custom_config["data_spec"])
    outputs = {f.name: tf.reshape(inputs[f.name], [-1]) for f in spec.categorical}
    for feature in spec.categorical:
        tft.vocabulary(
            outputs[feature.name],
            vocab_filename=feature.vocabulary_name,
            file_format=VOCABULARY_FORMAT,
        )
    outputs[LABEL_KEY] = tf.reshape(tf.cast(inputs[spec.label], tf.int64), [-1])
    outputs[ROW_ID_KEY] = tf.reshape(inputs[spec.id_column], [-1])
    return outputs


def transform_case(
    mode: str,
    examples: list[dict[str, Any]],
    schema: str,
    out: str,
    cache_in: str | None = None,
    base_graph: str | None = None,
    materialize: bool = True,
    data_spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Times one Transform executor run in this process (`cases.CASES["span_transform"]`).

    Args:
        mode: "append_only" (our executor on `examples`, one span, extending
            `base_graph`) or "cache" (TFX's executor on every span in `examples`,
            reading the analyzer cache `cache_in` and writing `out/cache`).
        examples: `{"uri", "span"}` of each Examples artifact to read.
        schema: the Schema artifact's URI.
        out: where the outputs go.
        cache_in: the analyzer cache of a run over the spans before the last.
        base_graph: the previous span's transform graph (append_only).
        materialize: write transformed examples (for "cache": of every span).
        data_spec: the columns (`DataSpec.to_dict()`; default: MovieLens's).

    Returns:
        {"seconds": the executor's wall time, "spans": the spans read}.
    """
    import time

    from tfx.components.transform.executor import Executor as TfxTransform
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
    from tfx.proto import transform_pb2
    from tfx.types import artifact_utils, standard_artifacts
    from tfx.types import standard_component_specs as keys
    from tfx.utils import proto_utils

    from newlevels.components.ingest.executor import SPLIT_TRAIN, SPLITS
    from newlevels.components.transform import executor as span_transform
    from newlevels.pipeline.config import (
        DEFAULT_BEAM_ARGS,
        DEFAULT_CATEGORICAL,
        DEFAULT_ID,
        DEFAULT_LABEL,
        PIPELINE_NAME,
    )
    from newlevels.pipeline.local_runner import no_tfx_sdist
    from newlevels.pipeline.pipeline import dotted_name
    from newlevels.transforms.features import DataSpec
    from newlevels.transforms.preprocessing import preprocessing_fn

    def artifact(kind, uri: str, **custom: int):
        made = kind()
        made.uri = uri
        for key, value in custom.items():
            made.set_int_custom_property(key, value)
        return made

    inputs = {
        keys.EXAMPLES_KEY: [
            artifact(standard_artifacts.Examples, e["uri"], span=e["span"]) for e in examples
        ],
        keys.SCHEMA_KEY: [artifact(standard_artifacts.Schema, schema)],
    }
    for made in inputs[keys.EXAMPLES_KEY]:
        made.split_names = artifact_utils.encode_split_names(list(SPLITS))
    outputs = {
        keys.TRANSFORM_GRAPH_KEY: [artifact(standard_artifacts.TransformGraph, f"{out}/graph")]
    }
    if materialize:
        outputs[keys.TRANSFORMED_EXAMPLES_KEY] = [
            artifact(standard_artifacts.Examples, f"{out}/transformed/{e['span']}")
            for e in examples
        ]
    spec = (
        DataSpec.from_dict(data_spec)
        if data_spec
        else DataSpec.build(DEFAULT_CATEGORICAL, DEFAULT_LABEL, DEFAULT_ID)
    )
    splits = transform_pb2.SplitsConfig(analyze=[SPLIT_TRAIN], transform=list(SPLITS))
    properties = {
        keys.CUSTOM_CONFIG_KEY: json.dumps({"data_spec": spec.to_dict()}),
        keys.SPLITS_CONFIG_KEY: proto_utils.proto_to_json(splits),
        keys.DISABLE_STATISTICS_KEY: 1,
    }
    if mode == "append_only":
        executor_class = span_transform.Executor
        properties[keys.PREPROCESSING_FN_KEY] = dotted_name(preprocessing_fn)
        properties[span_transform.PIPELINE_NAME_KEY] = PIPELINE_NAME
        if base_graph:
            inputs[span_transform.BASE_GRAPH_KEY] = [
                artifact(standard_artifacts.TransformGraph, base_graph)
            ]
    else:
        executor_class = TfxTransform
        properties[keys.PREPROCESSING_FN_KEY] = dotted_name(cacheable_preprocessing_fn)
        outputs[keys.UPDATED_ANALYZER_CACHE_KEY] = [
            artifact(standard_artifacts.TransformCache, f"{out}/cache")
        ]
        if cache_in:
            inputs[keys.ANALYZER_CACHE_KEY] = [
                artifact(standard_artifacts.TransformCache, cache_in)
            ]
    context = BaseBeamExecutor.Context(
        beam_pipeline_args=list(DEFAULT_BEAM_ARGS), tmp_dir=f"{out}/tmp", unique_id="bench"
    )
    with no_tfx_sdist(DEFAULT_BEAM_ARGS):
        started = time.perf_counter()
        executor_class(context).Do(inputs, outputs, properties)
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "spans": [e["span"] for e in examples]}


def span_artifacts(workdir: str) -> dict[int, dict[str, str]]:
    """Per span, the URIs its first run wrote: Examples, schema and transform graph."""
    from newlevels.pipeline import metadata
    from newlevels.pipeline.config import PIPELINE_NAME
    from newlevels.pipeline.pipeline import NodeIds

    store = metadata.open_store(os.path.join(workdir, "metadata.sqlite"))
    found: dict[int, dict[str, str]] = {}
    for run in metadata.all_runs(store, PIPELINE_NAME):
        examples = run.nodes[NodeIds.EXAMPLE_GEN].output("examples")
        span = metadata.custom_value(examples, "span")
        found.setdefault(
            span,
            {
                "examples": examples.uri,
                "schema": run.nodes[NodeIds.SCHEMA_GEN].output("schema").uri,
                "graph": run.nodes[NodeIds.TRANSFORM].output("transform_graph").uri,
            },
        )
    return found


def compare(workdir: str, root: str, compared: tuple[int, int], repeats: int) -> dict[str, Any]:
    """Append-only vocabularies against the analyzer cache: executor seconds at `compared` spans.

    Each case runs in a fresh process on the Examples the pipeline ingested.
    `cache` reads spans 1..N with the cache a run over spans 1..N-1 wrote (that
    run is set-up, not timed), materialising every span's transformed examples
    as TFX's Transform does; `cache_analysis_only` writes none (the Trainers
    would then read raw examples). The cases alternate (each repeat runs every
    variant at every span), so a change in the machine's load falls on all alike.
    """
    spans = span_artifacts(workdir)
    cases: dict[tuple[str, int], dict[str, Any]] = {}
    for span in compared:
        examples = [{"uri": spans[k]["examples"], "span": k} for k in range(1, span + 1)]
        schema = spans[span]["schema"]
        setup = os.path.join(root, "transform", f"cache-setup-{span}")
        common.run_case(
            "span_transform",
            {
                "mode": "cache",
                "examples": examples[:-1],
                "schema": schema,
                "out": setup,
                "materialize": False,
            },
        )
        cases["append_only", span] = {
            "mode": "append_only",
            "examples": examples[-1:],
            "schema": schema,
            "base_graph": spans[span - 1]["graph"],
        }
        for name, materialize in (("cache", True), ("cache_analysis_only", False)):
            cases[name, span] = {
                "mode": "cache",
                "examples": examples,
                "schema": schema,
                "cache_in": os.path.join(setup, "cache"),
                "materialize": materialize,
            }
    timings: dict[str, dict[int, list[float]]] = {}
    for repeat in range(repeats):
        for (name, span), params in cases.items():
            out = os.path.join(root, "transform", f"{name}-{span}-{repeat}")
            result = common.run_case("span_transform", {**params, "out": out})
            timings.setdefault(name, {}).setdefault(span, []).append(result["seconds"])
    first, last = compared
    return {
        name: {
            "seconds": by_span,
            "median_s": {span: common.median(times) for span, times in by_span.items()},
            "ratio": round(common.median(by_span[last]) / common.median(by_span[first]), 3),
        }
        for name, by_span in timings.items()
    }
