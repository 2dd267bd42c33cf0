"""The study's figures and page read on a laptop: one style per method, 11 px text, small multiples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linalg_rnn.rnn.showdown import _figures as figures
from linalg_rnn.rnn.showdown import publish, results_page
from linalg_rnn.rnn.showdown._page import _public_command

BOOK_LABELS = ["vanilla", "clip", "tbptt_short", "tbptt_long", "orthogonal_init", "orthogonal_init+clip",
               "qr_every_1", "qr_every_5", "qr_every_25", "polar_every_5",
               "orthogonal_init+qr_projection+clip", "expm", "cayley", "lstm", "lstm_equal_params"]
OKABE_ITO = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442"}


def study_rows_and_curves(labels, lengths=(10, 20), zoom_every=10):
    """Rows and curves of a small fake study: every label on adding and copy, two seeds."""
    rows, curves = [], {}
    for task in ("adding", "copy"):
        for L in lengths:
            for k, label in enumerate(labels):
                for seed in (0, 1):
                    ratio = 0.1 + 0.05 * k + 0.01 * seed
                    rows.append({"task": task, "seq_len": L, "strategy": label, "seed": seed,
                                 "loss_ratio": ratio, "status": "finished", "success": ratio <= 0.1,
                                 "baseline_loss": 1.0,
                                 "phase": "main", "max_grad_norm": 1.0, "max_w_hh_spectral_norm": 1.1,
                                 "final_w_hh_spectral_norm": 1.0, "diverged": False, "time_per_step_s": 0.01,
                                 "steps_to_threshold": None, "steps": 100, "wall_s": 1.0})
                    steps = range(10, 101, 10)
                    curves[f"{task}{L}{label}{seed}"] = {
                        "task": task, "seq_len": L, "strategy": label, "seed": seed,
                        "curves": {"val_loss": [[s, ratio + 1 / s] for s in steps],
                                   "grad_norm": [[s, 1.0 + k / s] for s in steps],
                                   "w_hh_spectral_norm": [[s, 1.0 + 0.01 * k] for s in steps],
                                   "w_hh_zoom": [[s, 1.0 + 0.001 * s] for s in range(50, 101, zoom_every)]},
                        "eigenvalues": {"start": [[1.0, 0.5], [0.0, 0.5]], "end": [[0.9, 0.2], [0.1, -0.1]]}}
    return rows, curves


def test_every_label_of_the_book_and_any_other_gets_a_style_of_its_own():
    labels = BOOK_LABELS + ["mine", "mine_too", "tbptt"]
    styles = figures._styles(labels)
    combos = [(s["color"], s["ls"], s["marker"]) for s in styles.values()]
    assert len(set(combos)) == len(labels)
    assert {s["color"] for s in styles.values()} <= OKABE_ITO, "colour-blind-safe colours only"
    assert set(figures.STYLES) == set(BOOK_LABELS)
    assert {s["color"] for s in figures._styles(["vanilla", "clip"]).values()} == {"#000000"}, \
        "a family shares its colour ..."
    assert figures._styles(["vanilla"])["vanilla"]["ls"] != figures._styles(["clip"])["clip"]["ls"], \
        "... and its members differ in line style (and marker)"


def _legend(fig) -> dict[str, tuple]:
    legend = fig.legends[0]
    return {text.get_text(): (h.get_color(), h.get_linestyle(), h.get_marker())
            for text, h in zip(legend.get_texts(), legend.legend_handles, strict=True)}


def test_all_figures_of_a_study_draw_each_method_in_the_same_style():
    rows, curves = study_rows_and_curves(BOOK_LABELS + ["mine"])
    drawn = [draw(rows, curves) for name, draw in figures.FIGURES.items() if name != "eigenvalues.png"]
    legends = [_legend(fig) for fig in drawn]
    assert all(legend == legends[0] for legend in legends)
    assert len(set(legends[0].values())) == len(BOOK_LABELS) + 1


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_every_figure_is_720_px_wide_with_no_text_below_11_px(name):
    rows, curves = study_rows_and_curves(BOOK_LABELS)
    fig = figures.FIGURES[name](rows, curves)
    assert round(fig.get_figwidth() * fig.dpi) == 720
    assert figures._smallest_text_px(fig) >= 11


def test_fourteen_methods_are_split_into_small_multiples_by_family():
    rows, curves = study_rows_and_curves(BOOK_LABELS)
    fig = figures.plot_headline(rows)
    assert [ax.get_title() for ax in fig.axes[:4]] == list(figures.FAMILIES)
    assert max(len(ax.containers) for ax in fig.axes) == 6, "no panel holds more than a family and vanilla"


@pytest.mark.parametrize("every, words", [(1, "recorded every step"), (10, "recorded every 10 steps")])
def test_the_w_hh_title_says_how_often_the_last_steps_were_recorded(every, words):
    rows, curves = study_rows_and_curves(["vanilla", "qr_every_5"], zoom_every=every)
    title = figures.plot_w_hh_norms(rows, curves)._suptitle.get_text()
    assert words in title and "seed 0" in title and "adding, T = 20" in title


def test_the_page_never_shows_the_folder_the_author_wrote_to():
    command = "linalg-rnn showdown --profile standard --workers 2 --out /home/me/study --no-progress"
    assert _public_command(command) == "linalg-rnn showdown --profile standard --workers 2 --no-progress"
    assert _public_command("linalg-rnn showdown --out=/x/y") == "linalg-rnn showdown"


def _study_folder(folder: Path, with_curves: bool) -> Path:
    rows, curves = study_rows_and_curves(["vanilla", "qr_every_5"])
    meta = {"command": f"linalg-rnn showdown --profile t.toml --out {folder}", "date": "2026-01-01",
            "profile": {"name": "t", "description": "a test"},
            "machine": {"platform": "Linux", "cpu_count": 2},
            "executor": "local", "workers": 1, "device": "cpu", "versions": {"python": "3"}, "wall_s": 60}
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({"meta": meta, "runs": rows}))
    (folder / "results.csv").write_text("task\n")
    (folder / "summary.md").write_text("# summary\n")
    if with_curves:
        (folder / "curves.json").write_text(json.dumps(curves))
    return folder


def test_publish_draws_every_figure_from_the_results_and_keeps_the_curves(tmp_path):
    study = _study_folder(tmp_path / "study", with_curves=True)
    page = publish(study, tmp_path / "docs" / "results" / "s", tmp_path / "docs" / "r.rst")
    dest = tmp_path / "docs" / "results" / "s"
    assert (dest / "curves.json").is_file()
    for name in figures.FIGURES:
        assert figures.MIN_TEXT_KEY.encode() in (dest / "figures" / name).read_bytes(), name
    text = page.read_text()
    assert ".. image:: results/s/figures/w_hh_norm.png" in text and str(study) not in text
    assert "   :class: per-cell stack-on-phone" in text


def test_without_curves_only_the_headline_is_drawn_and_the_page_says_why(tmp_path):
    study = _study_folder(tmp_path / "study", with_curves=False)
    (study / "figures").mkdir()
    (study / "figures" / "loss_curves.png").write_bytes(b"old")  # drawn by an older version
    publish(study, study, tmp_path / "r.rst")  # the committed copy, published again in place
    assert sorted(p.name for p in (study / "figures").iterdir()) == ["headline.png"]
    page = results_page(study)
    assert page.count("Not in this copy of the study") == 4


def test_the_headline_plots_the_reported_test_numbers_and_falls_back_to_validation_only_without_them():
    import matplotlib.pyplot as plt
    rows = [{"task": "copy", "seq_len": 10, "strategy": "clip", "seed": s, "loss_ratio": 0.5,
             "test_ratio": 0.02, "status": "finished", "success": False} for s in range(5)]
    fig = figures.plot_headline(rows)
    ys = [y for ax in fig.axes for line in ax.get_lines() for y in line.get_ydata()]
    assert 0.02 in ys and 0.5 not in ys and "Final test loss" in fig._suptitle.get_text()
    plt.close(fig)
    old = [{k: v for k, v in r.items() if k != "test_ratio"} for r in rows]
    fig = figures.plot_headline(old)
    ys = [y for ax in fig.axes for line in ax.get_lines() for y in line.get_ydata()]
    assert 0.5 in ys and "validation (these rows have no test numbers)" in fig._suptitle.get_text()
    plt.close(fig)
