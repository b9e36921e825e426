"""The README's results blocks and RESULTS.md hold exactly what the committed results render."""

from __future__ import annotations

import json
import pathlib

import pytest

from newlevels import cli
from newlevels.bench import readme, results
from newlevels.bench.markdown import ResultsError

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"


TIMELINE_BLOCKS = (
    "<!-- results: benchmarks/timeline timelines -->",
    "<!-- results: benchmarks/timeline/movielens-before.json timeline-spans -->",
    "<!-- results: benchmarks/timeline/movielens-after.json timeline-spans -->",
    "<!-- results: benchmarks/timeline/drift-before.json timeline-spans -->",
    "<!-- results: benchmarks/timeline/drift-after.json timeline-spans -->",
    "<!-- results: benchmarks/init_sweep_additive.json init-sweep -->",
)


def test_every_results_block_of_the_readme_is_what_its_results_file_renders():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "<!-- results: benchmarks/results.json headlines -->" in text
    assert all(block in text for block in TIMELINE_BLOCKS)
    assert readme.render_blocks(text, str(ROOT)) == text, "run `newlevels bench --render`"


def test_results_md_is_what_the_committed_results_json_renders():
    figures = json.loads(RESULTS.read_text(encoding="utf-8"))
    committed = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    assert results.render(figures) == committed, "run `newlevels bench --render`"


def test_a_figure_edited_by_hand_is_put_back_by_the_render(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    b1 = json.loads(RESULTS.read_text(encoding="utf-8"))["b1"]
    edited = text.replace(f"**{b1['ratio']}x**", "**0.1x**", 1)
    assert edited != text
    assert readme.render_blocks(edited, str(ROOT)) == text


def test_a_timeline_figure_edited_by_hand_is_put_back_by_the_render():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = json.loads((ROOT / "benchmarks/timeline/movielens-after.json").read_text())
    index_line = next(
        line for line in text.splitlines() if line.startswith("| movielens | after | `-` |")
    )
    wall = f"| {after['aggregates']['wall_s_total']} |"
    assert wall in index_line
    edited = text.replace(index_line, index_line.replace(wall, "| 1.0 |"), 1)
    assert edited != text
    assert readme.render_blocks(edited, str(ROOT)) == text


def test_a_folder_block_with_no_results_is_named(tmp_path):
    (tmp_path / "timeline").mkdir()
    block = "<!-- results: timeline timelines -->\n<!-- /results -->"
    with pytest.raises(ResultsError, match="no results"):
        readme.render_blocks(f"# title\n\n{block}\n", str(tmp_path))


@pytest.mark.parametrize(
    "block,message",
    [
        ("<!-- results: results.json headlines -->\nx\n", "has no <!-- /results -->"),
        ("<!-- results: results.json sideways -->\n<!-- /results -->", "names 'sideways'"),
        ("<!-- results: missing.json headlines -->\n<!-- /results -->", "No such file"),
    ],
)
def test_a_broken_block_is_named(tmp_path, block, message):
    (tmp_path / "results.json").write_text(RESULTS.read_text(encoding="utf-8"))
    with pytest.raises(ResultsError, match=message):
        readme.render_blocks(f"# title\n\n{block}\n", str(tmp_path))


def test_render_command_rewrites_results_md_and_the_readme_blocks(tmp_path, capsys):
    out = tmp_path / "benchmarks"
    out.mkdir()
    (out / "results.json").write_text(RESULTS.read_text(encoding="utf-8"))
    (tmp_path / "README.md").write_text(
        "intro\n<!-- results: benchmarks/results.json headlines -->\nstale\n<!-- /results -->\n"
    )
    argv = ["bench", "--render", "--out", str(out), "--readme", str(tmp_path / "README.md")]
    assert cli.main(argv) == 0
    assert "(rewritten)" in capsys.readouterr().out
    page = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "stale" not in page and page == readme.render_blocks(page, str(tmp_path))
    assert (out / "RESULTS.md").read_text() == (ROOT / "benchmarks" / "RESULTS.md").read_text()
    assert cli.main(argv) == 0 and "(unchanged)" in capsys.readouterr().out
    (out / "results.json").unlink()
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith(f"newlevels: error: cannot read {out}")
