"""Markdown pieces shared by the RESULTS.md sections."""

from __future__ import annotations

import glob
import json
import os
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


def read_json_folder(folder: str) -> dict[str, Any]:
    """{file name: its parsed JSON} for every `*.json` directly in `folder`, by name.

    Raises:
        ResultsError: if `folder` holds no JSON file.
    """
    paths = sorted(glob.glob(os.path.join(folder, "*.json")))
    if not paths:
        raise ResultsError(f"{folder}: no results (*.json) in this folder")
    found = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            found[os.path.basename(path)] = json.load(handle)
    return found


def exact(value: float) -> str:
    """A difference that must be exactly 0.0 when a guarantee holds: 0.0, or 3 digits."""
    return "0.0" if value == 0.0 else f"{value:.3g}"


def number(value: float | None, signed: bool = False) -> str:
    """4 decimals (a sign with `signed`), or - for a missing value."""
    if value is None:
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"
