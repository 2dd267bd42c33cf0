"""The study's figures, drawn from ``results.json`` rows and ``curves.json`` (no pyplot state).

Every helper returns a :class:`matplotlib.figure.Figure`; :func:`save_figures`
writes them all as PNG files.
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

ZOOM_BAND = 0.2  # the zoom on the last steps shows the runs whose norm stays this close to 1


def _example() -> tuple[list[dict], dict]:
    """Two seeds of one method: rows and curves for the examples below."""
    rows = [{"task": "adding", "seq_len": 10, "strategy": "clip", "seed": s, "loss_ratio": 0.5 + s / 10,
             "status": "finished", "success": False, "baseline_loss": 1 / 6, "phase": "main"}
            for s in (0, 1)]
    series = {"val_loss": [[1, 0.1], [2, 0.08]], "grad_norm": [[1, 2.0], [2, 1.5]],
              "w_hh_spectral_norm": [[1, 1.0], [2, 1.02]], "w_hh_zoom": [[1, 1.0], [2, 1.02]]}
    eigenvalues = {"start": [[1.0, 0.0], [0.0, 1.0]], "end": [[0.9, 0.1], [0.1, 0.9]]}
    curves = {f"seed{s}": {"task": "adding", "seq_len": 10, "strategy": "clip", "seed": s, "curves": series,
                           "eigenvalues": eigenvalues} for s in (0, 1)}
    return rows, curves


def _colors(labels: Sequence[str]) -> dict[str, tuple]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return {label: cmap(i % 20) for i, label in enumerate(labels)}


def _strategies(rows: Sequence[dict]) -> list[str]:
    seen: list[str] = []
    for r in rows:
        if r.get("phase", "main") == "main" and r["strategy"] not in seen:
            seen.append(r["strategy"])
    return seen


def _legend(fig: Figure, ax) -> None:
    """One legend for the figure, outside the panels (so no curve hides behind it)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right center", fontsize=8)


def _figure(fig: Figure | None, size: tuple[float, float]) -> Figure:
    """``fig`` resized and laid out for drawing (a lesson passes ``plt.figure()``, so pyplot holds
    it and sphinx-gallery saves it), or a new figure made without pyplot (a study's files)."""
    if fig is None:
        return Figure(figsize=size, layout="constrained")
    fig.set_size_inches(*size)
    fig.set_layout_engine("constrained")
    return fig


def _panels(pairs: Sequence, width: float = 4.2, height: float = 3.2, cols: int = 4,
            fig: Figure | None = None):
    n = max(1, len(pairs))
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig = _figure(fig, (max(width * cols, 7.5), height * rows + 0.6))  # room for the title
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def plot_headline(rows: Sequence[dict], *, fig: Figure | None = None) -> Figure:
    """Loss/baseline against sequence length, one line per method, one panel per task.

    Each point is the mean over seeds of the final validation loss as a
    fraction of the task's baseline; the bar is the bootstrap 95 % interval of
    that mean. Below the dotted line at 0.1 a seed counts as a success.

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
    tasks = list(dict.fromkeys(line["task"] for line in lines))
    colors = _colors(_strategies(rows))
    fig, axes = _panels(tasks, width=4.6, height=3.6, cols=3, fig=fig)
    for ax, task in zip(axes, tasks, strict=False):
        lengths = sorted({x["seq_len"] for x in lines if x["task"] == task})
        for i, (strategy, color) in enumerate(colors.items()):
            pts = [x for x in lines if x["task"] == task and x["strategy"] == strategy
                   and x["loss_ratio_mean"] is not None]
            if not pts:
                continue
            # one length: the methods side by side (at one x they would hide each other)
            L = [p["seq_len"] for p in pts] if len(lengths) > 1 else [i]
            mean = np.array([p["loss_ratio_mean"] for p in pts])
            lo = np.array([p["loss_ratio_ci"][0] for p in pts])
            hi = np.array([p["loss_ratio_ci"][1] for p in pts])
            ax.errorbar(L, mean, yerr=[mean - lo, hi - mean], color=color, marker="o", ms=3, lw=1.2,
                        capsize=2, label=strategy)
        ax.axhline(1.0, color="gray", ls="--", lw=1)
        ax.axhline(0.1, color="gray", ls=":", lw=1)
        ax.set_yscale("log")
        ax.set(xlabel="sequence length T", ylabel="val loss / baseline", title=task)
        if len(lengths) == 1:
            ax.set(xticks=[], xlabel=f"one length, T = {lengths[0]}: the methods side by side")
    _legend(fig, axes[0])
    fig.suptitle("Final validation loss over the task's baseline\n(mean over seeds, 95 % bootstrap CI)")
    return fig


def _by_cell(curves: dict, task: str, seq_len: int, strategy: str) -> list[dict]:
    return [c for c in curves.values()
            if c["task"] == task and c["seq_len"] == seq_len and c["strategy"] == strategy]


def _band(ax, runs: list[dict], key: str, color, label: str, scale: float = 1.0) -> None:
    """Median over seeds and the min–max band, on the union of the seeds' steps."""
    series = [np.array(r["curves"].get(key) or [[np.nan, np.nan]], dtype=float) for r in runs]
    series = [s for s in series if np.isfinite(s).all() and len(s)]
    if not series:
        return
    steps = np.unique(np.concatenate([s[:, 0] for s in series]))
    values = np.array([np.interp(steps, s[:, 0], s[:, 1], left=np.nan, right=np.nan) for s in series])
    values = values / scale
    with np.errstate(all="ignore"):
        ax.plot(steps, np.nanmedian(values, axis=0), color=color, lw=1.2, label=label)
        if len(series) > 1:
            ax.fill_between(steps, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=color,
                            alpha=0.18, lw=0)


def plot_curves(rows: Sequence[dict], curves: dict, key: str = "val_loss", *,
                fig: Figure | None = None) -> Figure:
    """Curves over training per method (median over seeds, min–max band), one panel per task × length.

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
    >>> fig.axes[0].get_title(), fig.axes[0].get_yscale()
    ('adding, T = 10', 'log')
    """
    lines = summarize(rows)
    pairs = list(dict.fromkeys((x["task"], x["seq_len"]) for x in lines))
    baseline = {(r["task"], r["seq_len"]): r["baseline_loss"] for r in rows if r.get("baseline_loss")}
    colors = _colors(_strategies(rows))
    fig, axes = _panels(pairs, fig=fig)
    for ax, (task, L) in zip(axes, pairs, strict=False):
        scale = baseline.get((task, L), 1.0) if key != "grad_norm" else 1.0
        for strategy, color in colors.items():
            _band(ax, _by_cell(curves, task, L, strategy), key, color, strategy, scale)
        if key != "grad_norm":
            ax.axhline(1.0, color="gray", ls="--", lw=1)
        ax.set_yscale("log")
        ylabel = "gradient norm (before clipping)" if key == "grad_norm" else f"{key} / baseline"
        ax.set(xlabel="step", ylabel=ylabel, title=f"{task}, T = {L}")
    _legend(fig, axes[0])
    title = {"val_loss": "Validation loss over the baseline", "train_loss": "Training loss over the baseline",
             "grad_norm": "Gradient norm"}.get(key, key)
    fig.suptitle(f"{title}\nmedian over seeds, band from the lowest to the highest seed")
    return fig


def plot_w_hh_norms(rows: Sequence[dict], curves: dict, *, fig: Figure | None = None) -> Figure:
    """‖W_hh‖₂ over training per method, and its last steps at full resolution (drift between projections).

    Left: the whole run on the longest length of the first task (median over
    seeds, min–max band). Right: its last steps, every step, first seed --
    a projection every ``N`` steps shows as a sawtooth, the norm creeping
    above 1 and snapping back.

    Examples
    --------
    >>> rows, curves = _example()
    >>> [ax.get_title() for ax in plot_w_hh_norms(rows, curves).axes][:1]
    ['adding, T = 10: whole run']
    """
    lines = summarize(rows)
    if not lines:
        return fig if fig is not None else Figure()
    task = lines[0]["task"]
    L = max(x["seq_len"] for x in lines if x["task"] == task)
    colors = _colors(_strategies(rows))
    fig = _figure(fig, (13, 4.2))
    ax_all, ax_zoom = fig.subplots(1, 2)
    for strategy, color in colors.items():
        runs = _by_cell(curves, task, L, strategy)
        _band(ax_all, runs, "w_hh_spectral_norm", color, strategy)
        if runs and runs[0]["curves"].get("w_hh_zoom"):
            z = np.array(runs[0]["curves"]["w_hh_zoom"], dtype=float)
            if z[:, 1].min() <= 1 + ZOOM_BAND:  # the kept-orthogonal ones: their drift is the point
                ax_zoom.plot(z[:, 0], z[:, 1], ".-", color=color, lw=1, ms=3, label=strategy)
    for ax in (ax_all, ax_zoom):
        ax.axhline(1.0, color="gray", ls="--", lw=1)
        ax.set(xlabel="step", ylabel=r"$\|W_{hh}\|_2$")
    ax_all.set_title(f"{task}, T = {L}: whole run")
    ax_zoom.set_title(f"last steps, every step, first seed (norms within {ZOOM_BAND} of 1)")
    _legend(fig, ax_all)
    return fig


def plot_eigenvalues(curves: dict, rows: Sequence[dict], *, fig: Figure | None = None) -> Figure:
    """Eigenvalues of W_hh at the start and end of training, one panel per method, with the unit circle.

    Drawn for the longest length of the first task, first seed.

    Examples
    --------
    >>> rows, curves = _example()
    >>> plot_eigenvalues(curves, rows).axes[0].get_title()
    'clip'
    """
    lines = summarize(rows)
    if not lines:
        return fig if fig is not None else Figure()
    task = lines[0]["task"]
    L = max(x["seq_len"] for x in lines if x["task"] == task)
    strategies = _strategies(rows)
    fig, axes = _panels(strategies, width=2.8, height=2.8, cols=6, fig=fig)
    theta = np.linspace(0, 2 * np.pi, 256)
    for ax, strategy in zip(axes, strategies, strict=False):
        runs = [c for c in _by_cell(curves, task, L, strategy) if c.get("eigenvalues")]
        ax.plot(np.cos(theta), np.sin(theta), color="gray", lw=0.8)
        if runs:
            eig = runs[0]["eigenvalues"]
            for when, style in (("start", dict(s=8, facecolors="none", edgecolors="C0")),
                                ("end", dict(s=6, color="C3"))):
                if eig.get(when):
                    ax.scatter(eig[when][0], eig[when][1], label=when, **style)
        ax.set_aspect("equal")
        ax.set_title(strategy, fontsize=8)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Eigenvalues of $W_{{hh}}$ at start (open) and end (filled): {task}, T = {L}")
    return fig


FIGURES = {
    "headline.png": lambda rows, curves: plot_headline(rows),
    "loss_curves.png": lambda rows, curves: plot_curves(rows, curves, "val_loss"),
    "grad_norms.png": lambda rows, curves: plot_curves(rows, curves, "grad_norm"),
    "w_hh_norm.png": plot_w_hh_norms,
    "eigenvalues.png": lambda rows, curves: plot_eigenvalues(curves, rows),
}


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
        fig = draw(rows, curves)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90)
        written.append(Path(folder) / name)
        write(written[-1], buffer.getvalue())
    return written
