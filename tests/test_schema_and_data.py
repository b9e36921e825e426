from __future__ import annotations

from tensorflow_metadata.proto.v0 import schema_pb2

from newlevels.pipeline.data.toy import INITIAL_LEVELS, toy_rows, write_toy
from newlevels.transforms.features import DataSpec


def test_categorical_features_have_no_closed_domain_so_new_levels_are_never_anomalies():
    schema = DataSpec.build(["userId", "movieId"], "liked", "id").raw_schema()
    by_name = {f.name: f for f in schema.feature}
    assert set(by_name) == {"id", "userId", "movieId", "liked"}
    for name in ("userId", "movieId"):
        assert by_name[name].type == schema_pb2.BYTES
        assert not by_name[name].HasField("domain") and not by_name[name].HasField("string_domain")
    assert not schema.string_domain
    assert by_name["liked"].type == schema_pb2.INT


def test_data_spec_round_trips_through_its_dict_form():
    spec = DataSpec.build(["a", "b"], "y", "id", embedding_dim=5)
    assert DataSpec.from_dict(spec.to_dict()) == spec


def test_toy_data_is_deterministic_and_split_at_level_80(tmp_path):
    assert toy_rows(300, seed=1) == toy_rows(300, seed=1)
    counts = write_toy(str(tmp_path))
    assert sum(counts.values()) == 5000
    span2 = (tmp_path / "span-2" / "toy.csv").read_text().splitlines()[1:]
    assert {int(line.split(",")[1][1:]) >= INITIAL_LEVELS for line in span2} == {True}
