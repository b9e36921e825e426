"""A delta applied to a FAISS index built from the parent gives the child's index, bit for bit.

The models are the Trainer's own exports (`tests/delta_models.py`): rows mixing old
and new levels trained a `split` child (old rows frozen), its `split` grandchild,
and a `full` child whose old rows moved.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from newlevels.cli import main
from newlevels.components.trainer import artifacts
from newlevels.contracts.digest import table_digest
from newlevels.delta.faiss_index import TableIndex
from newlevels.delta.format import DeltaError, read_delta, write_delta
from newlevels.delta.make import delta_between
from tests import delta_models

VECTOR_TABLES = ("item", "user")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    return delta_models.train_family(str(tmp_path_factory.mktemp("delta-models")))


def queries(index: TableIndex, seed: int = 0) -> np.ndarray:
    """Every row the index holds (old and new tokens) and as many random vectors."""
    rows = index.index.reconstruct_n(0, index.index.ntotal)
    random = np.random.default_rng(seed).normal(size=rows.shape).astype(np.float32)
    return np.concatenate([rows, random])


def assert_same_answers(index: TableIndex, rebuilt: TableIndex) -> None:
    """Same ids, and distances with the same bits, for k-NN queries of every kind."""
    assert index.vocabulary == rebuilt.vocabulary
    assert index.digest == rebuilt.digest == index.content_digest()
    found, expected = index.search(queries(rebuilt), 10), rebuilt.search(queries(rebuilt), 10)
    np.testing.assert_array_equal(found[1], expected[1])
    np.testing.assert_array_equal(found[0].view(np.uint32), expected[0].view(np.uint32))


@pytest.mark.parametrize("metric", ["ip", "l2"])
@pytest.mark.parametrize("table", VECTOR_TABLES)
def test_an_index_given_only_the_delta_answers_knn_as_one_rebuilt_from_the_child(
    models, tmp_path, table, metric
):
    index = TableIndex.build(models["parent"], table, metric)
    parent_rows = index.index.ntotal
    for child in ("child", "grandchild"):
        write_delta(delta_between(models[child]), str(tmp_path / child))
        delta = read_delta(str(tmp_path / child))
        added = index.apply(delta)
        assert added == len(delta.tables[table].tail) < index.index.ntotal
        assert_same_answers(index, TableIndex.build(models[child], table, metric))
        assert index.apply(delta) == 0  # a job that re-runs changes nothing
        assert_same_answers(index, TableIndex.build(models[child], table, metric))
    # Only the new rows travelled: the old ones were the index's all along.
    assert index.index.ntotal - parent_rows == len(delta_models.NEW[table]) + len(
        delta_models.NEWER[table]
    )
    index.save(str(tmp_path / "index"))
    assert_same_answers(TableIndex.load(str(tmp_path / "index")), index)


def test_a_delta_holds_the_tail_the_new_rows_the_digests_and_the_shared_weights(models, tmp_path):
    write_delta(delta_between(models["child"]), str(tmp_path / "delta"))
    delta = read_delta(str(tmp_path / "delta"))
    parent = artifacts.read_embeddings(models["parent"])
    child = artifacts.read_embeddings(models["child"])
    assert sorted(delta.tables) == ["item", "item_bias", "user", "user_bias"]
    for name, change in delta.tables.items():
        old, new = parent.features[name], child.features[name]
        assert change.tail == new.vocabulary[len(old.vocabulary) :]
        assert change.tail == tuple(delta_models.NEW[change.feature])
        np.testing.assert_array_equal(change.rows, new.weights[len(old.vocabulary) :])
        assert change.parent_digest == table_digest(old.vocabulary, old.table)
        assert change.child_digest == table_digest(new.vocabulary, new.table)
        # the child fitted its own OOV row, and the delta carries it
        assert not np.array_equal(new.oov, old.oov) and np.array_equal(change.oov, new.oov)
    bias = delta.shared["global_bias"]
    assert bias.changed  # the child trained it (--unfreeze-shared)
    np.testing.assert_array_equal(bias.child, child.shared["global_bias"])
    np.testing.assert_array_equal(bias.parent, parent.shared["global_bias"])


def test_a_v1_delta_without_an_oov_row_is_still_read(models, tmp_path):
    """A delta of the previous release: no `oov.npy`, its child kept the parent's OOV row."""
    folder = tmp_path / "delta"
    write_delta(delta_between(models["child"]), str(folder))
    manifest = json.loads((folder / "delta.json").read_text())
    (folder / "delta.json").write_text(json.dumps({**manifest, "format": "newlevels-delta-v1"}))
    for oov in folder.glob("*/oov.npy"):
        oov.unlink()
    delta = read_delta(str(folder))
    assert all(change.oov is None for change in delta.tables.values())


def test_an_index_refuses_a_delta_made_for_another_table_and_stays_as_it_was(models):
    index = TableIndex.build(models["parent"], "item")
    before = (index.digest, index.index.ntotal, list(index.vocabulary))
    # The grandchild's delta applies to the child's table, not to the parent's.
    with pytest.raises(DeltaError, match="apply the deltas in order"):
        index.apply(delta_between(models["grandchild"]))
    # An index of the full retrain is not the parent's either.
    sibling = TableIndex.build(models["full"], "item")
    with pytest.raises(DeltaError, match="but this index holds"):
        sibling.apply(delta_between(models["child"]))
    assert (index.digest, index.index.ntotal, index.vocabulary) == before


def test_a_child_whose_old_rows_moved_gets_no_delta(models):
    with pytest.raises(DeltaError, match=r"table '\w+': the row of token '\w+' moved"):
        delta_between(models["full"])


def test_an_index_refuses_a_delta_that_would_move_an_old_row(models):
    """A delta that claims the full retrain's table (made without the freeze check)."""
    delta = delta_between(models["child"])
    full = artifacts.read_embeddings(models["full"]).features["item"]
    size = delta.tables["item"].parent_rows
    forged = dataclasses.replace(
        delta.tables["item"],
        rows=full.weights[size:],
        child_digest=table_digest(full.vocabulary, full.table),
    )
    delta = dataclasses.replace(delta, tables={**delta.tables, "item": forged})
    index = TableIndex.build(models["parent"], "item")
    with pytest.raises(DeltaError, match="an old row would move"):
        index.apply(delta)
    assert index.index.ntotal == size and index.content_digest() == forged.parent_digest


def folder_bytes(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("newlevels: error: "), err
    return err


def test_the_commands_build_apply_query_and_refuse_in_one_line(models, tmp_path, capsys):
    idx = tmp_path / "index"
    for child in ("child", "grandchild"):
        assert main(["delta", "--model", models[child], "--out", str(tmp_path / child)]) == 0
    assert (
        main(
            ["index", "build", "--model", models["parent"], "--table", "item"] + ["--out", str(idx)]
        )
        == 0
    )
    before = folder_bytes(idx)
    capsys.readouterr()

    assert (
        main(["index", "apply", "--index", str(idx), "--delta", str(tmp_path / "grandchild")]) == 2
    )
    assert "apply the deltas in order" in one_error_line(capsys)
    assert folder_bytes(idx) == before
    assert main(["delta", "--model", models["full"], "--out", str(tmp_path / "moved")]) == 2
    assert "moved" in one_error_line(capsys) and not (tmp_path / "moved").exists()

    for child in ("child", "grandchild"):
        assert main(["index", "apply", "--index", str(idx), "--delta", str(tmp_path / child)]) == 0
    assert_same_answers(TableIndex.load(str(idx)), TableIndex.build(models["grandchild"], "item"))
    capsys.readouterr()
    assert main(["index", "query", "--index", str(idx), "--token", "m0", "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[0].split() == ["id", "ip", "token"]
