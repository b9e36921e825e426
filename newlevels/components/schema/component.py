"""`FeatureSchemaGen`: the raw-data schema, written from the DataSpec instead of inferred.

SchemaGen would infer a closed string domain for a small vocabulary, and a new
level would then be an anomaly. Here categorical features are plain strings
with no domain: the set of levels is open by design.
"""

# No `from __future__ import annotations`: the @component decorator reads real types.
import json
import os

from tfx import v1 as tfx
from tfx.utils import io_utils

from newlevels.transforms.features import DataSpec

SCHEMA_FILE = "schema.pbtxt"


@tfx.dsl.components.component
def FeatureSchemaGen(  # noqa: N802 (TFX component naming)
    data_spec: tfx.dsl.components.Parameter[str],
    schema: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Schema],
) -> None:
    """Writes `schema.pbtxt` for the columns in `data_spec` (a DataSpec as JSON)."""
    spec = DataSpec.from_dict(json.loads(data_spec))
    io_utils.write_pbtxt_file(os.path.join(schema.uri, SCHEMA_FILE), spec.raw_schema())
