"""Markdown pieces shared by the RESULTS.md sections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

GIB = 1024.0


class ResultsError(ValueError):
    """A results file, or a README block rendered from one, cannot be used as it is."""


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
