"""README blocks generated from committed results files, and the rewrite that keeps them so.

A block in a Markdown file is

    <!-- results: benchmarks/results.json headlines -->
    ...lines rendered from that file...
    <!-- /results -->

where the path is relative to the Markdown file's folder and the name picks a renderer
in `RENDERERS`. The path may name a folder: the renderer then gets {file name: JSON}
of every `*.json` in it (the timelines' index compares every committed timeline).
`newlevels bench --render` rewrites every block (and RESULTS.md) from
the committed JSON; `tests/test_readme_results.py` fails when a block holds anything
else, so no figure in a block can drift from its results file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

from newlevels.bench.headlines import headline_lines
from newlevels.bench.markdown import ResultsError, read_json_folder
from newlevels.bench.timeline_index import index_lines, span_lines


def init_sweep_lines(results: dict[str, Any]) -> list[str]:
    """The init sweep's summary tables (`init_sweep_report.summary_lines`).

    Imported when called: the sweep's cohorts module reads the yearly spans through the
    ingest code (TensorFlow, TFX), which rendering the other blocks never needs.
    """
    from newlevels.bench.init_sweep_report import summary_lines

    return summary_lines(results)


def init_swap_lines(results: dict[str, Any]) -> list[str]:
    """The swap sweep's medians (`init_sweep_swap.markdown` up to its per-span tables)."""
    lines = page_lines("newlevels.bench.init_sweep_swap", results)
    measured = [line for line in lines if line.startswith("Measured ")]
    medians = lines[lines.index("## Median over spans 2-9 of AUC minus the full retrain's") :]
    table = medians[1 : medians.index("## Per span (AUC)")]
    return [*measured, "", "Median over spans 2-9 of AUC minus the full retrain's:", *table]


def page_lines(module: str, results: dict[str, Any]) -> list[str]:
    """A benchmark's own Markdown (`<module>.markdown(results)`) without its title line."""
    import importlib

    lines = importlib.import_module(module).markdown(results).splitlines()
    return lines[1:] if lines and lines[0].startswith("# ") else lines


def file_lines(module: str) -> Callable[[dict[str, Any]], list[str]]:
    """A renderer that shows `page_lines`, its sections two levels down (they sit under a
    README section); the module is imported when the block is rendered."""

    def render(results: dict[str, Any]) -> list[str]:
        lines = page_lines(module, results)
        return [f"##{line}" if line.startswith("## ") else line for line in lines]

    return render


def demo_lines(results: dict[str, Any]) -> list[str]:
    """The demo's captured span-2 table (`demo_capture.demo_lines`)."""
    from newlevels.bench.demo_capture import demo_lines as lines

    return lines(results)


def demo_lineage_lines(results: dict[str, Any]) -> list[str]:
    """`newlevels lineage` on the demo's workdir (`demo_capture.lineage_lines`)."""
    from newlevels.bench.demo_capture import lineage_lines

    return lineage_lines(results)


def seed_lines(results: dict[str, Any]) -> list[str]:
    """The seed post's experiment (`newlevels reproduce-seed`'s JSON)."""
    from newlevels.cli.commands.reproduce_seed import seed_lines as lines

    return lines(results)


RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "headlines": headline_lines,
    "seed": seed_lines,
    "demo": demo_lines,
    "demo-lineage": demo_lineage_lines,
    "scale": file_lines("newlevels.bench.scale_report"),
    "span-cost": file_lines("newlevels.bench.span_cost"),
    "evaluator-cost": file_lines("newlevels.bench.evaluator_cost"),
    "timelines": index_lines,
    "timeline-spans": span_lines,
    "init-sweep": init_sweep_lines,
    "init-sweep-swap": init_swap_lines,
}
OPEN = re.compile(r"<!-- results: (?P<file>\S+) (?P<name>[\w-]+) -->\n")
CLOSE = "<!-- /results -->"


def render_blocks(text: str, root: str) -> str:
    """`text` with every results block's body rendered anew from its results file.

    Args:
        text: a Markdown document.
        root: the folder the blocks' file paths are relative to.

    Raises:
        ResultsError: naming the block at fault.
    """
    parts, position = [], 0
    for match in OPEN.finditer(text):
        if match.start() < position:
            raise ResultsError(f"results block {match.group(0).strip()} opens inside another")
        end = text.find(CLOSE, match.end())
        if end < 0:
            raise ResultsError(f"results block {match.group(0).strip()} has no {CLOSE}")
        name, path = match.group("name"), os.path.join(root, match.group("file"))
        if name not in RENDERERS:
            raise ResultsError(f"results block names {name!r}: choose one of {list(RENDERERS)}")
        try:
            if os.path.isdir(path):
                results = read_json_folder(path)
            else:
                with open(path, encoding="utf-8") as handle:
                    results = json.load(handle)
        except (OSError, ResultsError) as error:
            raise ResultsError(f"results block {name!r}: {error}") from None
        body = "\n".join(RENDERERS[name](results)).rstrip("\n") + "\n"
        parts += [text[position : match.end()], body]
        position = end
    return "".join(parts) + text[position:]


def rewrite(path: str) -> bool:
    """Renders every results block of the Markdown file at `path` in place.

    Returns:
        Whether the file changed.
    """
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    rendered = render_blocks(text, os.path.dirname(os.path.abspath(path)))
    if rendered != text:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(rendered)
    return rendered != text
