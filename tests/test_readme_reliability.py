"""The README's reliability table names real tests, and every reliability test is in it."""

from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULES = (
    "test_bad_input.py",
    "test_reliability.py",
    "test_faults_e2e.py",
    "test_odd_tokens_e2e.py",
)


def reliability_table() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Reliability", 1)[1]
    return section.split("\n## ", 1)[0]


def defined_tests(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    }


def test_every_test_named_in_the_table_exists():
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", reliability_table())
    assert len(named) >= 15
    for path, name in named:
        assert name in defined_tests(ROOT / path), f"{path}::{name} is not a test"


def test_every_reliability_test_is_in_the_table():
    table = reliability_table()
    for module in MODULES:
        for name in defined_tests(ROOT / "tests" / module):
            assert f"tests/{module}::{name}`" in table, f"{module}::{name} missing from README"
