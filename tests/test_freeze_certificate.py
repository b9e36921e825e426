"""The freeze certificate: table digests, the check of an extension, and the push guard."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import proto_utils

from newlevels.components import certificate
from newlevels.components.push.executor import AtomicPusherExecutor, check_certificate
from newlevels.components.trainer import artifacts
from newlevels.components.trainer.executor import record_digests
from newlevels.contracts import blessing as blessing_properties
from newlevels.contracts import decision as verdicts
from newlevels.contracts import gate as gates
from newlevels.contracts.digest import table_digest
from tests import manifests

PARENT_VOCAB = ("a", "b", "c")
NEW_TOKENS = ("d", "e")


def write_model(
    root: str, vocabulary, table: np.ndarray, parent_uri: str | None, parent_oov=None
) -> str:
    """An `embeddings/` folder as the Trainer writes it (one feature, `item`).

    `parent_oov` is the parent's OOV row the manifest records (None: not recorded, as
    by a release whose children kept their parent's OOV row).
    """
    old = len(PARENT_VOCAB) if parent_uri else 0
    recorded = {} if parent_oov is None else {"item": tuple(np.asarray(parent_oov, float))}
    manifest = manifests.manifest(
        ["item"],
        features={"item": manifests.counts(old, len(vocabulary) - old, table.shape[1])},
        parent_model_uri=parent_uri,
        parent_oov_rows=recorded,
    )
    rows = artifacts.FeatureRows.from_table(tuple(vocabulary), table)
    artifacts.write_embeddings(root, manifest, {"item": rows})
    write_served(root, table)
    return root


def write_served(root: str, table: np.ndarray) -> None:
    """A SavedModel holding the table where the export puts a served table."""
    served = tf.Module()
    served.model = tf.Module()
    served.model.embeddings = {"item": tf.Module()}
    served.model.embeddings["item"].embeddings = tf.Variable(np.asarray(table, np.float32))
    tf.saved_model.save(served, os.path.join(root, artifacts.SERVING_DIR))


@pytest.fixture
def family(tmp_path):
    """A parent and a child that extends it, keeping the parent's rows bit for bit."""
    generator = np.random.default_rng(0)
    parent_table = generator.normal(size=(4, 3)).astype(np.float32)
    child_table = np.concatenate([parent_table, generator.normal(size=(2, 3))]).astype(np.float32)
    parent = write_model(str(tmp_path / "parent"), PARENT_VOCAB, parent_table, None)
    child = write_model(str(tmp_path / "child"), PARENT_VOCAB + NEW_TOKENS, child_table, parent)
    return parent, child


def model_artifact(uri: str) -> standard_artifacts.Model:
    model = standard_artifacts.Model()
    model.uri = uri
    record_digests(model, artifacts.read_embeddings(uri))
    return model


def tamper_row(uri: str, row: int) -> None:
    path = os.path.join(uri, artifacts.EMBEDDINGS_DIR, "item", "weights.npy")
    weights = np.load(path)
    weights[row, 0] = np.nextafter(weights[row, 0], np.float32(np.inf))
    np.save(path, weights)


def test_the_digest_changes_with_a_row_a_token_or_the_order():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    digest = table_digest(PARENT_VOCAB, table)
    assert digest == table_digest(list(PARENT_VOCAB), table.astype(np.float64))
    moved = table.copy()
    moved[2, 1] = np.nextafter(moved[2, 1], np.float32(np.inf))
    assert table_digest(PARENT_VOCAB, moved) != digest
    assert table_digest(("a", "b", "x"), table) != digest
    assert table_digest(("b", "a", "c"), table[[0, 2, 1, 3]]) != digest
    with pytest.raises(ValueError, match="do not make a table of 4 rows"):
        table_digest(("a", "b"), table)


def test_a_childs_old_rows_digest_is_its_parents_rows_digest(family):
    parent, child = family
    parent_rows = certificate.rows_digests(artifacts.read_embeddings(parent))
    child_model = model_artifact(child)
    recorded = child_model.get_json_value_custom_property(certificate.OLD_ROWS_DIGEST)
    assert recorded == parent_rows
    assert model_artifact(parent).get_json_value_custom_property(certificate.OLD_ROWS_DIGEST) == {}
    verdict = certificate.verify(artifacts.read_embeddings(child), parent_rows, recorded)
    assert verdict == verdicts.Certificate(
        True, "the old rows of item are the parent's, by sha256 digest"
    )


def test_a_moved_old_row_or_a_forged_digest_breaks_the_certificate(family):
    parent, child = family
    parent_rows = certificate.rows_digests(artifacts.read_embeddings(parent))
    recorded = model_artifact(child).get_json_value_custom_property(certificate.OLD_ROWS_DIGEST)
    forged = {"item": "0" * 64}
    verdict = certificate.verify(artifacts.read_embeddings(child), parent_rows, forged)
    assert not verdict.ok and "recorded old-rows digest of 'item'" in verdict.detail
    tamper_row(child, 1)  # token "b": an old row
    verdict = certificate.verify(artifacts.read_embeddings(child), parent_rows, recorded)
    assert not verdict.ok and "old rows of 'item' in the candidate's files" in verdict.detail


@pytest.fixture
def refitted(tmp_path, family):
    """The family's child as this release writes it: its own OOV row, the parent's recorded."""
    parent, child = family
    table = artifacts.read_embeddings(child).features["item"].table
    parent_oov = table[0].copy()
    table[0] = table[0] + np.float32(0.25)  # an extension fits its own OOV row
    uri = str(tmp_path / "refitted")
    return parent, write_model(uri, PARENT_VOCAB + NEW_TOKENS, table, parent, parent_oov)


def test_a_child_s_own_oov_row_keeps_the_certificate_and_is_pushed(tmp_path, refitted):
    parent, child = refitted
    parent_rows = certificate.rows_digests(artifacts.read_embeddings(parent))
    model = model_artifact(child)
    recorded = model.get_json_value_custom_property(certificate.OLD_ROWS_DIGEST)
    assert recorded == parent_rows  # the Trainer's record, under the parent's OOV row
    assert certificate.verify(artifacts.read_embeddings(child), parent_rows, recorded).ok
    serving = push(tmp_path, model, blessing_for(gates.EXTEND, parent_rows))
    assert len(os.listdir(serving)) == 1


def test_a_child_s_own_oov_row_does_not_cover_a_moved_old_token_row(tmp_path, refitted):
    parent, child = refitted
    parent_rows = certificate.rows_digests(artifacts.read_embeddings(parent))
    model = model_artifact(child)  # recorded before the row moved: its files are checked
    tamper_row(child, 2)  # token "c": an old row
    verdict = certificate.verify(artifacts.read_embeddings(child), parent_rows, None)
    assert not verdict.ok and "old rows of 'item' in the candidate's files" in verdict.detail
    with pytest.raises(certificate.FreezeCertificateError, match="refusing to push .*refitted"):
        push(tmp_path, model, blessing_for(gates.EXTEND, parent_rows))
    assert not os.path.exists(tmp_path / "serving") or os.listdir(tmp_path / "serving") == []


def test_digests_recorded_by_the_previous_release_still_verify(family):
    """The previous release recorded the child's OOV row (its parent's) with its old rows."""
    parent, child = family
    table = artifacts.read_embeddings(child).features["item"].table
    old_release = {"item": table_digest(PARENT_VOCAB, table[: len(PARENT_VOCAB) + 1])}
    parent_rows = {"item": table_digest(PARENT_VOCAB, table[: len(PARENT_VOCAB) + 1])}
    assert parent_rows == certificate.rows_digests(artifacts.read_embeddings(parent))
    assert artifacts.read_embeddings(child).manifest.parent_oov_rows == {}
    assert certificate.verify(artifacts.read_embeddings(child), parent_rows, old_release).ok


def test_a_moved_new_row_keeps_the_certificate(family):
    parent, child = family
    parent_rows = certificate.rows_digests(artifacts.read_embeddings(parent))
    tamper_row(child, 3)  # token "d": a new row
    assert certificate.verify(artifacts.read_embeddings(child), parent_rows, None).ok


def blessing_for(decision: str, parent_rows: dict) -> standard_artifacts.ModelBlessing:
    blessing = standard_artifacts.ModelBlessing()
    blessing.set_int_custom_property("blessed", 1)
    blessing.set_string_custom_property(blessing_properties.DECISION, decision)
    blessing.set_json_value_custom_property(blessing_properties.PARENT_ROWS_DIGEST, parent_rows)
    return blessing


def push(tmp_path, model: standard_artifacts.Model, blessing) -> str:
    """Runs the Pusher's executor on `model`; returns the serving base directory."""
    serving = str(tmp_path / "serving")
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed")
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving)
    )
    AtomicPusherExecutor().Do(
        {
            standard_component_specs.MODEL_KEY: [model],
            standard_component_specs.MODEL_BLESSING_KEY: [blessing],
        },
        {standard_component_specs.PUSHED_MODEL_KEY: [pushed]},
        {standard_component_specs.PUSH_DESTINATION_KEY: proto_utils.proto_to_json(destination)},
    )
    return serving


def test_the_push_guard_refuses_an_extension_whose_old_rows_moved_and_copies_nothing(
    tmp_path, family
):
    parent, child = family
    parent_rows = certificate.rows_digests(artifacts.read_embeddings(parent))
    model = model_artifact(child)
    tamper_row(child, 0)  # token "a": an old row (weights.npy holds no OOV row)
    with pytest.raises(certificate.FreezeCertificateError, match="refusing to push .*child"):
        push(tmp_path, model, blessing_for(gates.EXTEND, parent_rows))
    assert not os.path.exists(tmp_path / "serving") or os.listdir(tmp_path / "serving") == []
    # A rebase serves the full retrain, whose rows are not meant to be the parent's.
    check_certificate(model, blessing_for(gates.REBASE, parent_rows))


def test_the_push_guard_copies_an_extension_that_kept_its_parents_rows(tmp_path, family):
    parent, child = family
    parent_rows = certificate.rows_digests(artifacts.read_embeddings(parent))
    serving = push(tmp_path, model_artifact(child), blessing_for(gates.EXTEND, parent_rows))
    (version,) = os.listdir(serving)
    assert "saved_model.pb" in os.listdir(os.path.join(serving, version))


def test_the_push_guard_refuses_a_savedmodel_serving_other_rows_than_its_embeddings(
    tmp_path, family
):
    parent, child = family
    parent_rows = certificate.rows_digests(artifacts.read_embeddings(parent))
    table = artifacts.read_embeddings(child).features["item"].table
    table[2, 2] = np.nextafter(table[2, 2], np.float32(-np.inf))
    write_served(child, table)
    with pytest.raises(certificate.FreezeCertificateError, match="serves other rows of 'item'"):
        push(tmp_path, model_artifact(child), blessing_for(gates.EXTEND, parent_rows))
    assert not os.path.exists(tmp_path / "serving") or os.listdir(tmp_path / "serving") == []


def test_movement_matches_rows_by_token(family, tmp_path):
    parent, _ = family
    rows = artifacts.read_embeddings(parent).features["item"]
    # A full retrain orders its vocabulary its own way and lacks token "a".
    order = [2, 1]
    shifted = rows.weights[order] + np.float32(0.5)
    retrain = write_model(
        str(tmp_path / "retrain"),
        ("c", "b"),
        np.concatenate([rows.oov[np.newaxis], shifted]),
        None,
    )
    moved = certificate.movement(
        artifacts.read_embeddings(parent), artifacts.read_embeddings(retrain)
    )
    assert moved == {"item": {"max_abs": 0.5, "mean_abs": 0.5, "tokens": 2, "missing": 1}}
