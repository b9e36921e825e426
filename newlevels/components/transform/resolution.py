"""Which transform graph a run builds on: the latest one of this pipeline's Transform.

A Kubeflow compile resolves it with TFX's LatestArtifactStrategy, one of the two
strategies the Kubeflow v2 compiler compiles (with LatestBlessedModelStrategy).
Locally, `LatestGraphStrategy` picks the same graph but answers a first run with
no graph instead of failing the resolver (TFX then records a failed execution,
whose error text MLMD's PostgreSQL backend cannot store). Locally, TFX scopes the
query to this pipeline and this Transform node by their MLMD contexts. Compiled,
it is scoped by the graph's `newlevels_pipeline` property (`kubeflow/queries.py`);
the executor still refuses a graph whose span history belongs to another pipeline.
The CLI reads the same graph from MLMD before a run (`check_span_order`), so a span
out of order is refused before anything runs.
"""

from __future__ import annotations

import ml_metadata as mlmd
from ml_metadata import errors as mlmd_errors
from ml_metadata.proto import metadata_store_pb2
from tfx import types
from tfx import v1 as tfx
from tfx.types import standard_artifacts

from newlevels.components.transform import history

GRAPH_KEY = "transform_graph"


class LatestGraphStrategy(tfx.dsl.experimental.LatestArtifactStrategy):
    """TFX's LatestArtifactStrategy, resolving to no graph (not failing) before any exists."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]]:
        """The latest graph, or an empty list on a pipeline's first run."""
        return self._resolve(input_dict)


def base_graph_resolver(
    transform_id: str, resolver_id: str, kubeflow: bool = False
) -> tfx.dsl.Resolver:
    """A Resolver whose `transform_graph` output is the latest graph of node `transform_id`.

    Args:
        transform_id: the Transform node's id.
        resolver_id: this resolver's node id.
        kubeflow: compile with TFX's own strategy (the one the Kubeflow v2 compiler knows).
    """
    return tfx.dsl.Resolver(
        strategy_class=(
            tfx.dsl.experimental.LatestArtifactStrategy if kubeflow else LatestGraphStrategy
        ),
        **{
            GRAPH_KEY: tfx.dsl.Channel(
                type=standard_artifacts.TransformGraph,
                producer_component_id=transform_id,
                output_key=GRAPH_KEY,
            )
        },
    ).with_id(resolver_id)


def latest_graph_uri(store: mlmd.MetadataStore, pipeline: str, transform_id: str) -> str | None:
    """The URI of the graph the resolver would pick (the newest live one), or None.

    A store that holds no run yet (a shared store another pipeline or the run's lease
    created) lacks the types: MLMD raises NotFoundError for them.
    """
    try:
        node = store.get_context_by_type_and_name("node", f"{pipeline}.{transform_id}")
        graph_type = store.get_artifact_type(standard_artifacts.TransformGraph.TYPE_NAME)
    except mlmd_errors.NotFoundError:
        return None
    if node is None or graph_type is None:
        return None
    live = [
        artifact
        for artifact in store.get_artifacts_by_context(node.id)
        if artifact.type_id == graph_type.id and artifact.state == metadata_store_pb2.Artifact.LIVE
    ]
    return max(live, key=lambda artifact: artifact.id).uri if live else None


def check_span_order(
    store: mlmd.MetadataStore | None, pipeline: str, transform_id: str, span: int
) -> None:
    """Refuses a span whose earlier spans this pipeline has not all ingested.

    Args:
        store: the pipeline's MLMD store, or None before its first run.
        pipeline: the pipeline name.
        transform_id: the Transform node's id.
        span: the span about to run.

    Raises:
        history.SpanHistoryError: naming the spans to run first.
    """
    uri = latest_graph_uri(store, pipeline, transform_id) if store is not None else None
    history.earlier_entries(history.read_history(uri) if uri else None, span, pipeline)
