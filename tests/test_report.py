"""The report's pieces on small generated rows (the real run is in tests/test_pipeline_e2e.py)."""

from __future__ import annotations

import base64
import re

import numpy as np
from matplotlib import image as mpimg

from newlevels import cli
from newlevels.components.trainer.artifacts import FeatureRows
from newlevels.pipeline.predictions import Predictions
from newlevels.pipeline.report import figures, page
from newlevels.pipeline.report.projection import fit_projection

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def rows(count: int, dim: int, seed: int, prefix: str = "t") -> FeatureRows:
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(count, dim)).astype(np.float32)
    return FeatureRows(
        tuple(f"{prefix}{k}" for k in range(count)), weights, np.zeros(dim, np.float32)
    )


def assert_png(path) -> None:
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_SIGNATURE
    assert mpimg.imread(path).shape[2] in (3, 4)


def test_two_d_rows_are_plotted_as_exported_and_coloured_by_rate(tmp_path):
    model = rows(12, 2, seed=0)
    rates = {token: k / 11 for k, token in enumerate(model.vocabulary)}
    path = tmp_path / "e.png"
    drawn = figures.plot_embeddings(str(path), "f", model, 8, rates, fit_projection(model.weights))
    assert np.array_equal(drawn.points["old"], model.weights[:8].astype(np.float64))
    assert np.array_equal(drawn.points["new"], model.weights[8:].astype(np.float64))
    assert_png(path)


def test_rate_colours_run_blue_grey_red():
    blue, grey, red = (np.array(figures.RATE_COLOURS(x)[:3]) for x in (0.0, 0.5, 1.0))
    assert blue[2] > blue[0] and red[0] > red[2]
    assert np.allclose(grey, grey[0], atol=0.01), "50 % is grey"


def test_wider_rows_use_one_stated_pca_for_every_model(tmp_path):
    parent, model = rows(10, 5, seed=1), rows(14, 5, seed=2)
    projection = fit_projection(model.weights)
    assert "PCA" in projection.statement and projection.axes.shape == (5, 2)
    np.testing.assert_allclose(projection.axes.T @ projection.axes, np.eye(2), atol=1e-9)
    path = tmp_path / "m.png"
    drawn = figures.plot_movement(str(path), "f", parent, [("this model", model)], projection)
    np.testing.assert_allclose(drawn.points["this model/parent"], projection(parent.weights))
    starts, ends = drawn.segments["this model"][:, 0], drawn.segments["this model"][:, 1]
    np.testing.assert_allclose(starts, projection(parent.weights))
    np.testing.assert_allclose(ends, projection(model.weights[:10]))
    assert_png(path)


def test_probability_histograms_count_each_slice(tmp_path):
    predictions = Predictions(
        probability=np.array([0.1, 0.7, 0.9, 0.4, 0.3]),
        label=np.array([0, 1, 1, 0, 1]),
        new_level=np.array([True, False, True, True, False]),
        cohort=np.array(["new", "old", "new", "new", "unseen"]),
    )
    path = tmp_path / "p.png"
    names = ["overall", "new_level_rows", "unseen_level_rows", "old_level_rows"]
    drawn = figures.plot_probabilities(str(path), predictions, names)
    assert drawn.counts == {
        "overall": 5,
        "new_level_rows": 3,
        "unseen_level_rows": 1,
        "old_level_rows": 1,
    }
    assert_png(path)


def test_page_embeds_the_figures_and_the_gate_table(tmp_path):
    figure = tmp_path / "p.png"
    figures.plot_probabilities(
        str(figure),
        Predictions(np.array([0.2]), np.array([1]), np.array([True]), np.array(["new"])),
        ["overall"],
    )
    slices = {"auc": 0.8123, "accuracy": 0.7, "examples": 10}
    summary = {
        "span": 2,
        "strategy": "split",
        "features": {"level": {"old_levels": 80, "new_levels": 20, "vocab_size": 100}},
        "rows_trained": 5,
        "rows_total": 9,
        "metrics": {
            m: {s: dict(slices) for s in ("overall", "new_level_rows", "old_level_rows")}
            for m in ("candidate", "baseline")
        },
        "blessed": True,
        "pushed": True,
        "pushed_path": "/serving/1",
        "gate": {"min_auc": 0.55, "max_auc_drop": 0.02},
    }
    path = tmp_path / "report.html"
    page.write_page(str(path), summary, [str(figure)], ["a note"])
    text = path.read_text()
    assert "0.8123" in text and "BLESSED" in text and "/serving/1" in text
    encoded = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text).group(1)
    assert base64.b64decode(encoded) == figure.read_bytes()


def test_report_on_a_run_that_never_ran_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["report", "--workdir", str(tmp_path), "--span", "3"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("newlevels: error: ") and "run span 3" in error
    assert len(error.splitlines()) == 1
