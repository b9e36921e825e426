"""The Transform executor: TFX's, on span N, with the base graph and the span history around it.

Before: resolves the spans before N from the base graph's record (refusing a
gap or another pipeline's graph) and hands the previous span's transform graph
to `preprocessing_fn` through `custom_config`, so each vocabulary extends the
previous one (`transforms/append_only.py`). After: checks that the earlier
spans' transformed examples hold every feature the new graph outputs and that
every categorical vocabulary did extend the base (a `preprocessing_fn` that
drops `custom_config` would leave the earlier spans' tokens out of the full
retrain), then records spans 1..N in the new graph (`history.py`) and the span
on the graph and on the transformed examples.
"""

from __future__ import annotations

import json
from typing import Any

import tensorflow_transform as tft
from tfx import types
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.transform import executor as tfx_transform
from tfx.types import artifact_utils, standard_component_specs

from newlevels.components.transform import history
from newlevels.contracts.blessing import PIPELINE as PIPELINE_PROPERTY
from newlevels.transforms.append_only import BASE_TRANSFORM_GRAPH_KEY, read_tokens
from newlevels.transforms.features import DataSpec
from newlevels.transforms.vocabularies import TransformOutputError

BASE_GRAPH_KEY = "base_transform_graph"
PIPELINE_NAME_KEY = "pipeline_name"
#: the custom properties FileBasedExampleGen's driver records on Examples; the
#: executor records them on the transformed Examples and the graph too.
SPAN_PROPERTY = example_gen_utils.SPAN_PROPERTY_NAME
VERSION_PROPERTY = example_gen_utils.VERSION_PROPERTY_NAME


def _number(artifact: types.Artifact, key: str) -> int | None:
    # Locally the driver's int; through Kubeflow's launcher a number in a struct (3.0).
    if not artifact.has_custom_property(key):
        return None
    return int(artifact.get_custom_property(key))


def span_and_version(examples: types.Artifact) -> tuple[int, int | None]:
    """The span and version FileBasedExampleGen's driver recorded on an Examples artifact.

    Raises:
        history.SpanHistoryError: if it records no span of 1 or more.
    """
    span = _number(examples, SPAN_PROPERTY)
    if span is None or span < 1:
        raise history.SpanHistoryError(
            f"examples {examples.uri} record no span of 1 or more ({SPAN_PROPERTY}={span}): "
            "they must come from a FileBasedExampleGen over span-{SPAN} folders"
        )
    return span, _number(examples, VERSION_PROPERTY)


def check_append_only(base_graph: str, graph: str, names: list[str]) -> None:
    """Refuses a graph whose vocabularies do not start with the base graph's, token for token.

    Args:
        base_graph: the previous span's transform graph (its URI).
        graph: the transform graph just written.
        names: the vocabularies to check (the categorical features').

    Raises:
        TransformOutputError: naming the vocabulary and the fix.
    """
    base, new = tft.TFTransformOutput(base_graph), tft.TFTransformOutput(graph)
    for name in names:
        before = base.vocabulary_file_by_name(name)
        after = new.vocabulary_file_by_name(name)
        if before is None or after is None:
            continue  # a feature new to the spec, or one the contract check names
        tokens = read_tokens(before)
        if read_tokens(after)[: len(tokens)] != tokens:
            raise TransformOutputError(
                f"vocabulary {name!r} of transform graph {graph} does not extend the previous "
                f"span's ({before}): compute it with newlevels.transforms.categorical_vocabularies"
                "(inputs, features, custom_config), which appends the new tokens to it"
            )


def check_same_features(base_graph: str, graph: str) -> None:
    """Refuses a graph that outputs features the base graph's examples lack.

    The full retrain reads the earlier spans' transformed examples with this
    graph's feature spec, so each feature it outputs must be in theirs.

    Args:
        base_graph: the previous span's transform graph (its URI).
        graph: the transform graph just written.

    Raises:
        history.SpanHistoryError: naming the features and the fix.
    """
    before = tft.TFTransformOutput(base_graph).transformed_feature_spec()
    added = sorted(set(tft.TFTransformOutput(graph).transformed_feature_spec()) - set(before))
    if added:
        raise history.SpanHistoryError(
            f"transform graph {graph} outputs {added}, which the earlier spans' transformed "
            f"examples (graph {base_graph}) lack: the columns changed; start a new workdir"
        )


class Executor(tfx_transform.Executor):
    """TFX's Transform executor, extending the base graph's vocabularies and span history."""

    def Do(  # noqa: N802 (TFX API)
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        examples = artifact_utils.get_single_instance(
            input_dict[standard_component_specs.EXAMPLES_KEY]
        )
        span, version = span_and_version(examples)
        pipeline = exec_properties[PIPELINE_NAME_KEY]
        bases = input_dict.get(BASE_GRAPH_KEY) or []
        base = history.read_history(bases[0].uri) if bases else None
        earlier = history.earlier_entries(base, span, pipeline)
        config_key = standard_component_specs.CUSTOM_CONFIG_KEY
        custom_config = json.loads(exec_properties.get(config_key) or "null") or {}
        base_graph = earlier[-1].transform_graph if earlier else None
        custom_config[BASE_TRANSFORM_GRAPH_KEY] = base_graph
        super().Do(
            input_dict, output_dict, {**exec_properties, config_key: json.dumps(custom_config)}
        )

        graph = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.TRANSFORM_GRAPH_KEY]
        )
        if base_graph is not None:
            check_same_features(base_graph, graph.uri)
            if "data_spec" in custom_config:
                spec = DataSpec.from_dict(custom_config["data_spec"])
                names = [feature.vocabulary_name for feature in spec.categorical]
                check_append_only(base_graph, graph.uri, names)
        transformed = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.TRANSFORMED_EXAMPLES_KEY]
        )
        entry = history.SpanEntry(
            span=span,
            version=version,
            examples=examples.uri,
            transformed_examples=transformed.uri,
            transform_graph=graph.uri,
            splits=tuple(artifact_utils.decode_split_names(transformed.split_names)),
        )
        history.write_history(graph.uri, history.SpanHistory(pipeline, (*earlier, entry)))
        graph.set_string_custom_property(PIPELINE_PROPERTY, pipeline)
        for artifact in (graph, transformed):
            artifact.set_int_custom_property(SPAN_PROPERTY, span)
            if version is not None:
                artifact.set_int_custom_property(VERSION_PROPERTY, version)
