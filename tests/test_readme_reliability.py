"""The README's reliability table and the tests guarding it name each other exactly.

A test declares the rows it guards with `@pytest.mark.reliability("<start of the row's
case cell>", ...)`. Each row must name exactly the tests that declare it, every
named test must exist, and every test of the reliability modules must declare a row.
"""

from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: modules whose every test guards a row of the table.
MODULES = (
    "test_bad_input.py",
    "test_reliability.py",
    "test_faults_e2e.py",
    "test_odd_tokens_e2e.py",
    "test_push.py",
)
NAMED_TEST = re.compile(r"`(tests/[\w/]+\.py::\w+)`")


def reliability_rows(readme: str) -> dict[str, set[str]]:
    """Each row of the reliability table: its case cell -> the tests its last cell names."""
    section = readme.split("## Reliability", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    rows = {}
    for line in lines[1:]:  # the header; the separator line starts with "| ---"
        if line.startswith("| ---"):
            continue
        cells = [cell.strip() for cell in line.strip("| ").split(" | ")]
        rows[cells[0]] = set(NAMED_TEST.findall(cells[-1]))
    return rows


def declared_rows(path: pathlib.Path) -> dict[str, tuple[str, ...] | None]:
    """Every test function of a module -> the cases its `reliability` marker names (or None)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    tests = {}
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        tests[node.name] = None
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == (
                "pytest.mark.reliability"
            ):
                tests[node.name] = tuple(ast.literal_eval(arg) for arg in decorator.args)
    return tests


def declarations() -> dict[str, tuple[str, ...] | None]:
    """`tests/<module>::<test>` -> its declared cases, over every test module."""
    found = {}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for name, cases in declared_rows(path).items():
            found[f"tests/{path.name}::{name}"] = cases
    return found


def row_of(case: str, rows: dict[str, set[str]]) -> str:
    matches = [row for row in rows if row.startswith(case)]
    assert len(matches) == 1, f"{case!r} names {len(matches)} rows of the table, not one"
    return matches[0]


def table_and_declarations() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The README's row -> tests, and the same map built from the tests' markers."""
    rows = reliability_rows((ROOT / "README.md").read_text(encoding="utf-8"))
    declared: dict[str, set[str]] = {row: set() for row in rows}
    for test, cases in declarations().items():
        for case in cases or ():
            declared[row_of(case, rows)].add(test)
    return rows, declared


def test_every_row_names_existing_tests_that_declare_it():
    rows, declared = table_and_declarations()
    tests = declarations()
    for row, named in rows.items():
        assert named, f"row {row!r} names no test"
        for test in named:
            assert test in tests, f"{test} (row {row!r}) is not a test"
    assert rows == declared, "each row must name exactly the tests whose marker names it"


def test_every_test_of_the_reliability_modules_declares_its_rows():
    tests = declarations()
    for module in MODULES:
        for test, cases in tests.items():
            if test.startswith(f"tests/{module}::"):
                assert cases, f"{test} has no @pytest.mark.reliability row"
