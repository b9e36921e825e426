"""The table digest: one value per (tokens, bits) table, however it is fed."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest

from newlevels.contracts.digest import TableDigest, table_digest

TOKENS = ("a", "", "line\nbreak", "é")


def table(rows: int = 5, width: int = 3) -> np.ndarray:
    return np.arange(rows * width, dtype=np.float32).reshape(rows, width) / 7


def test_the_digest_is_sha256_over_header_rows_then_length_prefixed_tokens():
    data = table()
    expected = hashlib.sha256(
        b"newlevels-table-v1\n"
        + struct.pack("<QQ", 5, 3)
        + data.astype("<f4").tobytes()
        + b"".join(struct.pack("<Q", len(t.encode())) + t.encode() for t in TOKENS)
    ).hexdigest()
    assert table_digest(TOKENS, data) == f"sha256:{expected}"


def test_the_digest_can_be_fed_in_chunks():
    data = table()
    chunked = TableDigest(5, 3).rows(data[:1]).rows(data[1:4]).rows(data[4:])
    assert chunked.tokens(TOKENS[:2]).tokens(TOKENS[2:]).hexdigest() == table_digest(TOKENS, data)


def one_ulp_up(data: np.ndarray) -> np.ndarray:
    data[2, 1] = np.nextafter(data[2, 1], np.float32(np.inf))
    return data


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(lambda: (TOKENS, table()[[0, 2, 1, 3, 4]]), id="rows swapped"),
        pytest.param(lambda: (("a", "", "é", "line\nbreak"), table()), id="tokens swapped"),
        pytest.param(lambda: (("a", "line", "\nbreak", "é"), table()), id="token boundary"),
        pytest.param(lambda: (TOKENS, np.where(table() == 0, -0.0, table())), id="-0.0"),
        pytest.param(lambda: (TOKENS[:3], table()[:4]), id="one row fewer"),
        pytest.param(lambda: (TOKENS, one_ulp_up(table())), id="one bit"),
    ],
)
def test_any_change_of_bits_order_or_tokens_changes_the_digest(other):
    assert table_digest(*other()) != table_digest(TOKENS, table())


def test_a_table_without_one_row_per_token_plus_the_oov_row_has_no_digest():
    with pytest.raises(ValueError, match="do not make a table of 5 rows"):
        table_digest(TOKENS[:3], table())
    with pytest.raises(ValueError, match="tokens after 1 of 5 rows"):
        TableDigest(5, 3).rows(table()[:1]).tokens(TOKENS)
    with pytest.raises(ValueError, match="table of width 3"):
        TableDigest(5, 3).rows(table(5, 2))
