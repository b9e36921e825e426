"""Tokens with odd bytes round-trip through vocabularies, vocab.txt and serving."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import tensorflow as tf

from newlevels.components.trainer import artifacts
from newlevels.transforms.features import DataSpec
from tests import pipeline_checks as checks

ODD = ["", "a,b", 'q"uote', "line\nbreak", "cr\rtoken", "emoji 🎬", "back\\slash", "\\n", "plain"]
SPEC = DataSpec.build(["item"], "label", "id")


@pytest.mark.reliability("tokens with a comma")
@pytest.mark.parametrize("token", ODD + ["\\", "x\\ny", "\n\r\\"])
def test_vocab_lines_escape_and_unescape_any_token(token):
    line = artifacts.escape_token(token)
    assert "\n" not in line and "\r" not in line
    assert artifacts.unescape_token(line) == token


@pytest.mark.reliability("tokens with a comma")
def test_a_dangling_escape_is_refused():
    with pytest.raises(ValueError, match="bad escape"):
        artifacts.unescape_token("oops\\")


@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.reliability("tokens with a comma")
def test_odd_tokens_get_their_own_rows_and_serve_from_them(tmp_path):
    data = tmp_path / "data" / "span-1"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rate = {token: (i + 1) / (len(ODD) + 1) for i, token in enumerate(ODD)}
    with open(data / "odd.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "item", "label"])
        for i in range(900):
            token = ODD[i % len(ODD)]
            writer.writerow([f"r{i}", token, int(rng.uniform() < rate[token])])
    (summary,) = checks.run_spans(
        str(tmp_path / "data"),
        str(tmp_path / "work"),
        (1,),
        "split",
        ["--categorical", "item", "--label", "label", "--id", "id"],
    )
    rows = artifacts.read_embeddings(summary["model_uri"]).features["item"]
    assert sorted(rows.vocabulary) == sorted(ODD)
    served = checks.predict(
        summary["pushed_path"], checks.to_examples([{"item": t} for t in rows.vocabulary], SPEC)
    )
    expected = tf.sigmoid(tf.reduce_sum(tf.constant(rows.weights), axis=-1)).numpy()
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-7)
    oov = tf.sigmoid(tf.reduce_sum(tf.constant(rows.oov))).numpy()
    assert all(abs(p - oov) > 1e-6 for p in served), "no odd token may fall into the OOV row"
