"""The compiled resolver queries: scoped to the pipeline, and finding the model a blessing names.

TFX's Kubeflow v2 compiler turns each resolver into metadata filter queries
(Vertex ML Metadata's syntax), none of which names a pipeline:

- the parent resolver: the latest LIVE `tfx.ModelBlessing` with `blessed=1`,
  then the `tfx.Model` whose name is that blessing's `current_model_id`;
- the base graph resolver: the latest LIVE `tfx.TransformGraph`.

`scope_resolver_queries` changes three things:

1. the ModelBlessing query also asks for `newlevels_pipeline` = the pipeline name,
   which the Decision writes on its blessings (a stock Evaluator's blessing, or
   another pipeline's, in the same store is never the parent);
2. the TransformGraph query asks for it too; the Transform executor writes it on
   the graph (another pipeline's graph is not resolved, where the executor would
   refuse it);
3. the Model query matches the model's `uri` on the blessing's `current_model`
   instead of its name on `current_model_id`. TFX's container entrypoint turns
   `current_model_id` into the model's artifact name only on the stock Evaluator's
   blessing (`refactor_model_blessing` in `kubeflow_v2_run_executor`); on the
   Decision's it stays TFX's int id, a hash of that name on Kubeflow, which names
   no artifact. `current_model` is the model's URI, which the launcher provisions
   per task run.
"""

from __future__ import annotations

import re
from typing import Any

from newlevels.components.resolver import scope

BLESSING = 'schema_title="tfx.ModelBlessing"'
GRAPH = 'schema_title="tfx.TransformGraph"'
MODEL = 'schema_title="tfx.Model"'
#: TFX's model term: `name="{{$.inputs.artifacts['input'].metadata['current_model_id']}}"`.
_MODEL_BY_ID = re.compile(
    r"""name="(\{\{\$\.inputs\.artifacts\['[^']+'\]\.metadata\[')"""
    + scope.CURRENT_MODEL_ID
    + r"""('\]\}\})\""""
)


def _query(spec: dict[str, Any], title: str) -> dict[str, str]:
    """The one compiled query whose filter asks for `title`.

    Raises:
        RuntimeError: the spec does not hold exactly one (a TFX change this must follow).
    """
    queries = [
        query
        for executor in spec["deploymentSpec"]["executors"].values()
        for query in executor.get("resolver", {}).get("outputArtifactQueries", {}).values()
        if title in query["filter"].split(" AND ")
    ]
    if len(queries) != 1:
        raise RuntimeError(f"expected one compiled {title} query, found {len(queries)}")
    return queries[0]


def scope_resolver_queries(spec: dict[str, Any], pipeline_name: str) -> None:
    """Scopes the ModelBlessing and TransformGraph queries to `pipeline_name`; the Model
    query matches the URI the blessing names.

    Args:
        spec: the compiled PipelineSpec (a dict), changed in place.
        pipeline_name: the pipeline's name (`--pipeline-name`).

    Raises:
        RuntimeError: a query is missing or not in the form TFX 1.16 compiles.
    """
    clause = scope.pipeline_filter(pipeline_name)
    for title in (BLESSING, GRAPH):
        _query(spec, title)["filter"] += f" AND {clause}"
    model = _query(spec, MODEL)
    model["filter"], found = _MODEL_BY_ID.subn(
        rf'uri="\g<1>{scope.CURRENT_MODEL}\g<2>"', model["filter"]
    )
    if found != 1:
        raise RuntimeError(f"expected one {scope.CURRENT_MODEL_ID} term in {model['filter']!r}")
