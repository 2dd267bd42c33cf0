"""The study's figures, drawn from ``results.json`` rows and ``curves.json`` (no pyplot state).

Every helper returns a :class:`matplotlib.figure.Figure`; :func:`save_figures`
writes them all as PNG files.

The figures are sized for the results page: 7.2 inches at 100 dots per inch is
720 pixels, the width of the page's text column on a laptop, so they are shown
at their natural size there, and no text in them is smaller than 8 points
(11 pixels).  Fourteen methods in one panel are unreadable, so the methods are
drawn as *small multiples*: one column of panels per family of methods, with
vanilla in grey in every panel as the common reference.  Every method keeps
one style (colour, line style and marker) in every figure; the colours are
Okabe and Ito's palette, which readers with any common colour-vision
deficiency can tell apart, and the line style and marker tell apart the
members of a family, which share a colour.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ._aggregate import summarize

__all__ = ["plot_curves", "plot_eigenvalues", "plot_headline", "plot_w_hh_norms", "save_figures"]

WIDTH_IN, DPI = 7.2, 100  # 720 px: the results page's text column on a laptop
TICK_PT, LABEL_PT, TITLE_PT = 8, 8.5, 9.5  # 8 pt at 100 dpi is 11 px, the smallest text in any figure
# The PNG text chunk that records the smallest text in pixels at natural size (read by docs/check_site.py).
MIN_TEXT_KEY = "linalg_rnn:min_text_px"

# Okabe & Ito (2008), without the yellow that vanishes on white.
_BLACK, _ORANGE, _SKY, _GREEN, _BLUE, _VERMILLION, _PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7")
# One style per label of the book's profiles: (colour, line style, marker). A family shares a colour.
STYLES = {
    "vanilla": (_BLACK, "-", "o"),
    "clip": (_BLACK, "--", "s"),
    "tbptt_short": (_ORANGE, "-", "^"),
    "tbptt_long": (_ORANGE, "--", "v"),
    "orthogonal_init": (_SKY, "-", "D"),
    "orthogonal_init+clip": (_SKY, "--", "d"),
    "qr_every_1": (_GREEN, "-", "P"),
    "qr_every_5": (_GREEN, "--", "X"),
    "qr_every_25": (_GREEN, ":", "*"),
    "polar_every_5": (_BLUE, "-", "h"),
    "orthogonal_init+qr_projection+clip": (_BLUE, "--", "p"),
    "expm": (_VERMILLION, "-", "<"),
    "cayley": (_VERMILLION, "--", ">"),
    "lstm": (_PURPLE, "-", "8"),
    "lstm_equal_params": (_PURPLE, "--", "H"),
}
FAMILIES = {
    "no repair": ("vanilla", "clip", "tbptt_short", "tbptt_long"),
    "orthogonal start": ("orthogonal_init", "orthogonal_init+clip"),
    "projection": ("qr_every_1", "qr_every_5", "qr_every_25", "polar_every_5",
                   "orthogonal_init+qr_projection+clip"),
    "parametrized, gated": ("expm", "cayley", "lstm", "lstm_equal_params"),
}
OTHER = "other"  # the family of labels the book does not know (your own profile's)
REFERENCE = "vanilla"  # drawn in grey in every family's panels


def _example() -> tuple[list[dict], dict]:
    """Two seeds of two methods: rows and curves for the examples below."""
    rows = [{"task": "adding", "seq_len": 10, "strategy": m, "seed": s, "loss_ratio": 0.5 + s / 10,
             "status": "finished", "success": False, "baseline_loss": 1 / 6, "phase": "main"}
            for m in ("vanilla", "clip") for s in (0, 1)]
    series = {"val_loss": [[1, 0.1], [2, 0.08]], "grad_norm": [[1, 2.0], [2, 1.5]],
              "w_hh_spectral_norm": [[1, 1.0], [2, 1.02]], "w_hh_zoom": [[1, 1.0], [2, 1.02]]}
    eigenvalues = {"start": [[1.0, 0.0], [0.0, 1.0]], "end": [[0.9, 0.1], [0.1, 0.9]]}
    curves = {f"{m}{s}": {"task": "adding", "seq_len": 10, "strategy": m, "seed": s, "curves": series,
                          "eigenvalues": eigenvalues} for m in ("vanilla", "clip") for s in (0, 1)}
    return rows, curves


def _styles(labels: Sequence[str]) -> dict[str, dict]:
    """Each label's plot style: the book's own for its labels, unused combinations for others.

    Every figure of a study passes the same labels (in the same order), so an
    unknown label gets the same style in all of them.
    """
    taken = set(STYLES.values())
    spare = [(c, ls, m) for ls in ("-.", ":", "-", "--")
             for c, m in zip((_ORANGE, _SKY, _GREEN, _BLUE, _VERMILLION, _PURPLE, _BLACK),
                             ("o", "s", "^", "v", "D", "P", "X"), strict=True)
             if (c, ls, m) not in taken]
    styles, unknown = {}, 0
    for label in labels:
        if label not in STYLES:
            unknown += 1
        color, ls, marker = STYLES.get(label) or spare[(unknown - 1) % len(spare)]
        styles[label] = {"color": color, "ls": ls, "marker": marker}
    return styles


def _family(label: str) -> str:
    return next((name for name, members in FAMILIES.items() if label in members), OTHER)


def _families(labels: Sequence[str]) -> dict[str, list[str]]:
    """The families present among ``labels`` (book order, then ``other``), each with its labels."""
    found = {name: [x for x in members if x in labels] for name, members in FAMILIES.items()}
    found[OTHER] = [x for x in labels if _family(x) == OTHER]
    return {name: members for name, members in found.items() if members}


def _strategies(rows: Sequence[dict]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r.get("phase", "main") == "main" and r["strategy"] not in seen:
            seen.append(r["strategy"])
    return seen


def _figure(fig: Figure | None, size: tuple[float, float]) -> Figure:
    """``fig`` resized and laid out for drawing (a lesson passes ``plt.figure()``, so pyplot holds
    it and sphinx-gallery saves it), or a new figure made without pyplot (a study's files)."""
    if fig is None:
        return Figure(figsize=size, dpi=DPI, layout="constrained")
    fig.set_size_inches(*size)
    fig.set_layout_engine("constrained")
    return fig


def _wrap(label: str, width: int = 22) -> str:
    """A long strategy label broken after its ``+`` signs so that it fits a small panel's title."""
    lines, line = [], ""
    for part in label.split("+"):
        piece = part if not line else "+" + part
        if line and len(line) + len(piece) > width:
            lines.append(line + "+")
            line = part
        else:
            line += piece
    return "\n".join(lines + [line])


def _legend(fig: Figure, styles: dict[str, dict], labels: Sequence[str], ncol: int = 3) -> None:
    """One legend for the whole figure, below the panels, in family order."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], lw=1.4, ms=5, **styles[x]) for x in labels]
    fig.legend(handles, list(labels), loc="outside lower center", ncol=min(ncol, len(labels)),
               fontsize=TICK_PT, handlelength=2.6, columnspacing=1.2, frameon=False)


def _grid(fig: Figure, nrows: int, ncols: int, sharey: str | bool = False):
    axes = np.array(fig.subplots(nrows, ncols, squeeze=False, sharey=sharey))
    for ax in axes.ravel():
        ax.tick_params(labelsize=TICK_PT)
    return axes


def _ordered(rows: Sequence[dict]) -> tuple[dict[str, list[str]], list[str], dict[str, dict]]:
    """The families, the labels in family order and every label's style, for one study."""
    labels = _strategies(rows)
    families = _families(labels)
    ordered = [x for members in families.values() for x in members]
    return families, ordered, _styles(labels)


def _empty(ax, text: str = "not run") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=TICK_PT,
            color="0.4")
    ax.set_xticks([])


def plot_headline(rows: Sequence[dict], *, fig: Figure | None = None) -> Figure:
    """Loss/baseline against sequence length: one row of panels per task, one column per family of methods.

    Each point is the mean over seeds of the final held-out *test* loss as a
    fraction of the task's baseline (the reported number; rows older than the
    test stream fall back to the validation loss, and the title says which);
    the bar is the bootstrap 95 % interval of that mean (none under five
    seeds). Below the dotted line at 0.1 a seed counts as a success; vanilla
    is drawn in grey in every column as the common reference.

    Examples
    --------
    >>> rows = [{"task": "adding", "seq_len": L, "strategy": "clip", "seed": 0, "loss_ratio": 0.5,
    ...          "status": "finished", "success": False} for L in (10, 20)]
    >>> len(plot_headline(rows).axes)
    1
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_headline(rows, fig=plt.figure())  # held by pyplot: a lesson's runner saves it
    >>> fig.number in plt.get_fignums(), len(fig.axes)
    (True, 1)
    >>> plt.close(fig)
    """
    lines = summarize(rows)
    key = "test_ratio" if any(x["test_ratio_mean"] is not None for x in lines) else "loss_ratio"
    tasks = list(dict.fromkeys(line["task"] for line in lines))
    families, ordered, styles = _ordered(rows)
    fig = _figure(fig, (WIDTH_IN, 1.55 * max(1, len(tasks)) + 1.6))
    axes = _grid(fig, max(1, len(tasks)), len(families), sharey="row")
    for i, task in enumerate(tasks):
        lengths = sorted({x["seq_len"] for x in lines if x["task"] == task})
        for j, (family, members) in enumerate(families.items()):
            ax = axes[i, j]
            drawn = False
            shown = ([REFERENCE] if REFERENCE not in members else []) + members
            for k, strategy in enumerate(shown):
                pts = sorted((x for x in lines if x["task"] == task and x["strategy"] == strategy
                              and x[f"{key}_mean"] is not None), key=lambda x: x["seq_len"])
                if not pts:
                    continue
                # the lengths as evenly spaced categories, each method nudged sideways so no bar hides another
                x = np.array([lengths.index(p["seq_len"]) for p in pts]) + 0.09 * (k - (len(shown) - 1) / 2)
                mean = np.array([p[f"{key}_mean"] for p in pts])
                ci = [p[f"{key}_ci"] or (p[f"{key}_mean"],) * 2 for p in pts]  # no interval: no bar
                lo, hi = np.array([c[0] for c in ci]), np.array([c[1] for c in ci])
                style = dict(color="0.6", ls="-", marker="o") if strategy not in members else styles[strategy]
                ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], lw=1.2, ms=4, capsize=2, **style)
                drawn = drawn or strategy in members
            if not drawn:
                _empty(ax)
            else:
                ax.set_xticks(range(len(lengths)), [str(L) for L in lengths])
                ax.set_xlim(-0.6, len(lengths) - 0.4)
            ax.axhline(1.0, color="gray", ls="--", lw=0.8)
            ax.axhline(0.1, color="gray", ls=":", lw=0.8)
            ax.set_yscale("log")
            if i == 0:
                ax.set_title(family, fontsize=TITLE_PT)
            if j == 0:
                ax.set_ylabel(f"{task}\nloss / baseline", fontsize=LABEL_PT)
            if i == len(tasks) - 1:
                ax.set_xlabel("length T", fontsize=LABEL_PT)
    _legend(fig, styles, ordered)
    which = "test" if key == "test_ratio" else "validation (these rows have no test numbers)"
    fig.suptitle(f"Final {which} loss / the task's baseline, by task (rows) and family of methods\n"
                 "(columns): mean over seeds, bar = bootstrap 95 % interval; dashed: the baseline, "
                 "dotted: success (0.1);\ngrey: vanilla, for reference", fontsize=TITLE_PT)
    return fig


def _by_cell(curves: dict, task: str, seq_len: int, strategy: str) -> list[dict]:
    return [c for c in curves.values()
            if c["task"] == task and c["seq_len"] == seq_len and c["strategy"] == strategy]


def _band(ax, runs: list[dict], key: str, style: dict, scale: float = 1.0, lw: float = 1.2) -> bool:
    """Median over seeds and the min–max band, on the union of the seeds' steps (True if drawn)."""
    series = [np.array(r["curves"].get(key) or [[np.nan, np.nan]], dtype=float) for r in runs]
    series = [s for s in series if np.isfinite(s).all() and len(s)]
    if not series:
        return False
    steps = np.unique(np.concatenate([s[:, 0] for s in series]))
    values = np.array([np.interp(steps, s[:, 0], s[:, 1], left=np.nan, right=np.nan) for s in series])
    values = values / scale
    with np.errstate(all="ignore"):
        median = np.nanmedian(values, axis=0)
        ax.plot(steps, median, color=style["color"], ls=style["ls"], lw=lw, marker=style.get("marker"),
                ms=3.5, markevery=max(1, len(steps) // 4))
        if len(series) > 1:
            ax.fill_between(steps, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=style["color"],
                            alpha=0.15, lw=0)
    return True


def _longest(lines: Sequence[dict]) -> list[tuple[str, int]]:
    """(task, its longest length), in the study's order."""
    tasks = list(dict.fromkeys(x["task"] for x in lines))
    return [(t, max(x["seq_len"] for x in lines if x["task"] == t)) for t in tasks]


def _curve_panels(fig: Figure, rows, curves, key: str, cells: list[tuple[str, int]], scale_of, ylabel: str):
    families, ordered, styles = _ordered(rows)
    axes = _grid(fig, max(1, len(cells)), len(families), sharey="row")
    grey = {"color": "0.6", "ls": "-", "marker": None}
    for i, (task, L) in enumerate(cells):
        for j, (family, members) in enumerate(families.items()):
            ax = axes[i, j]
            if REFERENCE not in members:
                _band(ax, _by_cell(curves, task, L, REFERENCE), key, grey, scale_of(task, L), lw=1.0)
            drawn = [_band(ax, _by_cell(curves, task, L, s), key, styles[s], scale_of(task, L))
                     for s in members]
            if not any(drawn):
                _empty(ax)
            ax.set_yscale("log")
            if key != "grad_norm":
                ax.axhline(1.0, color="gray", ls="--", lw=0.8)
            if i == 0:
                ax.set_title(family, fontsize=TITLE_PT)
            if j == 0:
                ax.set_ylabel(f"{task}, T = {L}\n{ylabel}", fontsize=LABEL_PT)
            if i == len(cells) - 1:
                ax.set_xlabel("step", fontsize=LABEL_PT)
    _legend(fig, styles, ordered)


def plot_curves(rows: Sequence[dict], curves: dict, key: str = "val_loss", *,
                fig: Figure | None = None) -> Figure:
    """Curves over training at each task's longest length: one row per task, one column per family.

    Each line is the median over seeds, the band runs from the lowest to the
    highest seed; vanilla is drawn in grey in every column as the reference.

    Parameters
    ----------
    rows : sequence of dict
        ``results.json`` rows (give the baselines and the order).
    curves : dict
        ``curves.json``.
    key : {"val_loss", "train_loss", "grad_norm"}
        Loss curves are divided by the task's baseline; gradient norms are
        drawn as they are; both on a log scale.

    Returns
    -------
    Figure

    Examples
    --------
    >>> rows, curves = _example()
    >>> fig = plot_curves(rows, curves, "grad_norm")
    >>> fig.axes[0].get_title(), fig.axes[0].get_ylabel(), fig.axes[0].get_yscale()
    ('no repair', 'adding, T = 10\\ngradient norm', 'log')
    """
    lines = summarize(rows)
    cells = _longest(lines)
    baseline = {(r["task"], r["seq_len"]): r["baseline_loss"] for r in rows if r.get("baseline_loss")}
    families = _families(_strategies(rows))
    fig = _figure(fig, (WIDTH_IN, 1.45 * max(1, len(cells)) + 1.6))
    if key == "grad_norm":
        _curve_panels(fig, rows, curves, key, cells, lambda t, L: 1.0, "gradient norm")
    else:
        _curve_panels(fig, rows, curves, key, cells, lambda t, L: baseline.get((t, L), 1.0),
                      f"{key.replace('_', ' ')} / baseline")
    what = {"val_loss": "Validation loss / the task's baseline", "train_loss": "Training loss / the task's "
            "baseline", "grad_norm": "Gradient norm (before clipping)"}.get(key, key)
    fig.suptitle(f"{what} during training, at each task's longest length:\nmedian over seeds, band from the "
                 f"lowest to the highest seed; {len(families)} families of methods (columns), "
                 "vanilla in grey", fontsize=TITLE_PT)
    return fig


def plot_w_hh_norms(rows: Sequence[dict], curves: dict, *, fig: Figure | None = None) -> Figure:
    """‖W_hh‖₂ over training (top row) and over the last recorded steps (bottom row), one column per family.

    Drawn for the longest length of the first task. Top: the whole run, median
    over seeds and min–max band, as ``curves.json`` downsampled it. Bottom: the
    last steps of the first seed at the resolution they were recorded (the
    title gives the spacing) -- a projection every ``N`` steps shows as a
    sawtooth, the norm creeping above 1 and snapping back.

    Examples
    --------
    >>> rows, curves = _example()
    >>> [ax.get_title() for ax in plot_w_hh_norms(rows, curves).axes][:1]
    ['no repair']
    """
    lines = summarize(rows)
    if not lines:
        return fig if fig is not None else Figure()
    task, L = _longest(lines)[0]
    families, ordered, styles = _ordered(rows)
    fig = _figure(fig, (WIDTH_IN, 5.4))
    axes = _grid(fig, 2, len(families), sharey="row")
    spacing, seed, last = set(), None, None
    for j, (family, members) in enumerate(families.items()):
        for strategy in members:
            runs = sorted(_by_cell(curves, task, L, strategy), key=lambda r: r["seed"])
            _band(axes[0, j], runs, "w_hh_spectral_norm", styles[strategy])
            zoom = np.array((runs[0]["curves"].get("w_hh_zoom") if runs else None) or [], dtype=float)
            if len(zoom):
                s = styles[strategy]
                axes[1, j].plot(zoom[:, 0], zoom[:, 1], color=s["color"], ls=s["ls"], marker=s["marker"],
                                lw=1.0, ms=3)
                spacing |= set(np.diff(zoom[:, 0]).astype(int).tolist())
                seed, last = runs[0]["seed"], int(zoom[-1, 0])
        axes[0, j].set_title(family, fontsize=TITLE_PT)
        for ax in axes[:, j]:
            ax.axhline(1.0, color="gray", ls="--", lw=0.8)
            ax.tick_params(axis="x", labelrotation=30)
        axes[1, j].set_xlabel("step", fontsize=LABEL_PT)
    axes[0, 0].set_ylabel("whole run\n" r"$\|W_{hh}\|_2$", fontsize=LABEL_PT)
    axes[1, 0].set_ylabel("last steps\n" r"$\|W_{hh}\|_2$", fontsize=LABEL_PT)
    every = ("every step" if spacing == {1} else f"every {min(spacing)} steps" if len(spacing) == 1
             else f"every {min(spacing)} to {max(spacing)} steps") if spacing else "nothing recorded"
    _legend(fig, styles, ordered)
    fig.suptitle(f"$\\|W_{{hh}}\\|_2$ on {task}, T = {L}. Top: the whole run, median over seeds and "
                 f"min-max band.\nBottom: seed {seed}'s last recorded values up to step {last}, "
                 f"recorded {every}", fontsize=TITLE_PT)
    return fig


def plot_eigenvalues(curves: dict, rows: Sequence[dict], *, fig: Figure | None = None) -> Figure:
    """Eigenvalues of W_hh at the start and end of training, one panel per method, with the unit circle.

    Drawn for the longest length of the first task, first seed.

    Examples
    --------
    >>> rows, curves = _example()
    >>> plot_eigenvalues(curves, rows).axes[0].get_title()
    'vanilla'
    """
    lines = summarize(rows)
    if not lines:
        return fig if fig is not None else Figure()
    task, L = _longest(lines)[0]
    _, ordered, styles = _ordered(rows)
    cols = 4
    nrows = math.ceil(len(ordered) / cols)
    fig = _figure(fig, (WIDTH_IN, 1.95 * nrows + 0.9))
    axes = _grid(fig, nrows, cols)
    theta = np.linspace(0, 2 * np.pi, 256)
    seeds = set()
    for ax, strategy in zip(axes.ravel(), ordered, strict=False):
        runs = sorted((c for c in _by_cell(curves, task, L, strategy) if c.get("eigenvalues")),
                      key=lambda r: r["seed"])
        ax.plot(np.cos(theta), np.sin(theta), color="gray", lw=0.8)
        if runs:
            eig, color = runs[0]["eigenvalues"], styles[strategy]["color"]
            seeds.add(runs[0]["seed"])
            if eig.get("start"):
                ax.scatter(eig["start"][0], eig["start"][1], s=10, facecolors="none", edgecolors="0.55",
                           lw=0.7)
            if eig.get("end"):
                ax.scatter(eig["end"][0], eig["end"][1], s=7, color=color)
        ax.set_aspect("equal")
        ax.set_title(_wrap(strategy), fontsize=TICK_PT)
    for ax in axes.ravel()[len(ordered):]:
        ax.set_visible(False)
    which = f"seed {min(seeds)}" if len(seeds) == 1 else "the first seed of each"
    fig.suptitle(f"Eigenvalues of $W_{{hh}}$ on {task}, T = {L}, {which}: at the start (open grey "
                 "circles)\nand at the end of training (filled, in the method's colour); grey line: "
                 "the unit circle", fontsize=TITLE_PT)
    return fig


FIGURES = {
    "headline.png": lambda rows, curves: plot_headline(rows),
    "loss_curves.png": lambda rows, curves: plot_curves(rows, curves, "val_loss"),
    "grad_norms.png": lambda rows, curves: plot_curves(rows, curves, "grad_norm"),
    "w_hh_norm.png": plot_w_hh_norms,
    "eigenvalues.png": lambda rows, curves: plot_eigenvalues(curves, rows),
}


def _smallest_text_px(fig: Figure) -> float:
    """The size of the smallest text drawn in ``fig``, in pixels at the figure's own dpi."""
    from matplotlib.text import Text

    fig.draw_without_rendering()
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and (t.axes is None or t.axes.get_visible())]
    return min(sizes) * fig.dpi / 72 if sizes else float("inf")


def figure_png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes, at its own dpi, recording its smallest text in pixels in the file.

    The size goes into a PNG text chunk (key ``linalg_rnn:min_text_px``), so a
    page check can tell, from the width an image is shown at, whether its text
    is still readable (``docs/check_site.py``).

    Examples
    --------
    >>> rows, curves = _example()
    >>> data = figure_png(plot_headline(rows))
    >>> data.startswith(b"\\x89PNG"), b"linalg_rnn:min_text_px" in data
    (True, True)
    """
    smallest = _smallest_text_px(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, metadata={MIN_TEXT_KEY: f"{smallest:.2f}"})
    return buffer.getvalue()


def save_figures(rows: Sequence[dict], curves: dict, folder: Path,
                 write: Callable[[Path, bytes], object]) -> list[Path]:
    """Draw every figure of the study and write it with ``write(path, png_bytes)``.

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> rows, curves = _example()
    >>> written = {}
    >>> paths = save_figures(rows, curves, Path("figures"), lambda p, data: written.update({p.name: data}))
    >>> sorted(written), all(data.startswith(b"\\x89PNG") for data in written.values())
    (['eigenvalues.png', 'grad_norms.png', 'headline.png', 'loss_curves.png', 'w_hh_norm.png'], True)
    """
    written = []
    for name, draw in FIGURES.items():
        written.append(Path(folder) / name)
        write(written[-1], figure_png(draw(rows, curves)))
    return written
