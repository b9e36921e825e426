"""JSON custom properties read out of the KFP v2 launcher's envelope (components/properties.py)."""

from __future__ import annotations

import pytest
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as entrypoint
from tfx.types import standard_artifacts

from newlevels.components.properties import json_property
from tests.kfp_mlmd import to_mlmd_value, to_struct_value

DIGESTS = {"user": "3f2a", "item": "9c1d"}
#: a digest map of a single table named "struct": no envelope, read as it is.
ODD = {"struct": "3f2a"}


def through_the_launcher(value) -> standard_artifacts.Model:
    """A Model whose property `p` = `value` crossed a KFP task boundary: written out by TFX's
    entrypoint, recorded and handed on by the launcher, parsed by the next entrypoint."""
    written = standard_artifacts.Model()
    written.set_json_value_custom_property("p", value)
    [output] = entrypoint.translate_executor_output({"m": [written]}, {})["m"].artifacts
    handed = pipeline_spec_pb2.RuntimeArtifact(uri="/m")
    handed.type.schema_title = "tfx.Model"
    stored = to_mlmd_value(output.metadata.fields["p"])
    handed.metadata.fields["p"].CopyFrom(to_struct_value(stored))
    listing = pipeline_spec_pb2.ArtifactList(artifacts=[handed])
    [read] = entrypoint.parse_raw_artifact_dict({"m": listing})["m"]
    return read


@pytest.mark.parametrize(
    ("value", "enveloped"),
    [
        (DIGESTS, {"struct": DIGESTS}),
        ({}, {"struct": {}}),
        (["a", "b"], {"list": ["a", "b"]}),
        (ODD, {"struct": ODD}),
    ],
)
def test_a_json_property_reads_back_as_written_across_a_kfp_task_boundary(value, enveloped):
    read = through_the_launcher(value)
    assert read.get_json_value_custom_property("p") == enveloped
    assert json_property(read, "p") == value


def test_a_json_property_written_locally_reads_as_written():
    model = standard_artifacts.Model()
    model.set_json_value_custom_property("p", DIGESTS)
    assert json_property(model, "p") == DIGESTS
    model.set_json_value_custom_property("q", ODD)
    assert json_property(model, "q") == ODD
    assert json_property(model, "absent") is None
