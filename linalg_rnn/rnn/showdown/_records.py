"""The record of one cell: its row of ``results.json``, its curves, its eigenvalues.

A record is what a worker sends back to the driver for one trainer run:
the *row* (the keys of :data:`ROW_KEYS`, measured from the run's metrics),
downsampled curves for the figures, and the eigenvalues of :math:`W_{hh}`
at start and end. A run that raised gets a ``crashed`` record: a result of
the study, not the end of it.
"""

from __future__ import annotations

import math

import torch

from ._grid import Cell

__all__ = ["ROW_KEYS", "SUCCESS_RATIO", "cell_record", "crash_record"]

SUCCESS_RATIO = 0.1  # a seed succeeds when val_loss <= 10 % of the task's baseline
CURVE_POINTS = 200  # points kept per curve for the figures
ZOOM_STEPS = 60  # the last steps kept at full resolution (drift between projections)
# The columns of results.json/results.csv, in order (DESIGN.md's keys first).
ROW_KEYS = (
    "task", "seq_len", "strategy", "seed", "val_loss", "baseline_loss", "loss_ratio", "success",
    "steps_to_threshold", "max_grad_norm", "final_w_hh_spectral_norm", "max_w_hh_spectral_norm",
    "diverged", "divergence_step", "wall_s", "steps", "run_dir",
    "phase", "status", "error", "strategy_spec", "lr", "orth_lr", "setting", "hidden", "batch",
    "tbptt_window", "tbptt_update", "proj_every", "optimizer_updates", "val_accuracy",
    "test_loss", "test_ratio", "test_accuracy", "test_trivial_ratio",
    "initial_w_hh_spectral_norm", "time_per_step_s", "device", "skew_norm", "params",
)


def _finite(values) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _downsample(rows: list[dict], key: str, points: int = CURVE_POINTS) -> list[list[float]]:
    """``[[step, value], ...]`` of the rows that have ``key``, at most ``points`` of them."""
    pts = [[r["step"], r[key]] for r in rows if r.get(key) is not None and math.isfinite(r[key])]
    if len(pts) <= points:
        return pts
    stride = len(pts) / points
    kept = [pts[int(i * stride)] for i in range(points)]
    return kept if kept[-1] is pts[-1] else kept + [pts[-1]]


def _eigenvalues(W: torch.Tensor | None) -> list[list[float]] | None:
    if W is None:
        return None
    W = W.detach().cpu().double()
    if not torch.isfinite(W).all():
        return None
    lam = torch.linalg.eigvals(W)
    return [[round(float(z.real), 6) for z in lam], [round(float(z.imag), 6) for z in lam]]


def cell_record(cell: Cell, result, run_dir: str) -> dict:
    """The record of a finished (or diverged, or interrupted) trainer run.

    Parameters
    ----------
    cell : Cell
        The cell (its labels, phase and setting; the seed is read from the
        config that trained, ``result.config``).
    result : TrainResult
        What :func:`~linalg_rnn.rnn.train` returned.
    run_dir : str
        The run directory, as written in the row.

    Returns
    -------
    dict
        ``row`` (the keys of :data:`ROW_KEYS`), ``curves`` (``val_loss``,
        ``train_loss``, ``grad_norm``, ``w_hh_spectral_norm`` as
        ``[[step, value], ...]`` and ``w_hh_zoom``, the last steps at full
        resolution), ``eigenvalues`` (``start``/``end`` as ``[re, im]``),
        ``environment``, and ``interrupted`` (the signal that stopped the
        run, or ``None``).

    Notes
    -----
    ``loss_ratio`` is the final validation loss over the task's baseline --
    the trainer's final evaluation on ``eval_sequences`` sequences where it
    ran (:func:`~linalg_rnn.rnn.trainer.final_evaluation`), else the last
    validation during training; ``success`` is ``loss_ratio <= 0.1``;
    ``steps_to_threshold`` the first step evaluated during training where
    the ratio was at most 0.1. A diverged run has no
    final loss (``val_loss``, ``loss_ratio`` null; ``success`` false).
    Gradient norms are before clipping. Where the trainer evaluated a test
    stream at the end, ``test_loss``, ``test_accuracy``, ``test_ratio``
    (test loss over the baseline) and ``test_trivial_ratio`` (the loss of a
    constant predictor on the same test data, over the baseline) come from
    its final metrics, as do ``skew_norm`` and ``params``; otherwise they
    are null. ``setting`` is what the sweep tried (sweep rows) or chose
    (main rows), null without a sweep. Taught in lesson 14.

    Examples
    --------
    >>> from linalg_rnn.rnn import TrainConfig, train
    >>> config = TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=4, eval_every=2,
    ...                      val_batch=8, device="cpu", seed=3)
    >>> record = cell_record(Cell("adding", 6, "vanilla", config), train(config), "cells/x")
    >>> record["row"]["steps"], record["row"]["seed"], record["row"]["status"], sorted(record["curves"])[:3]
    (4, 3, 'finished', ['grad_norm', 'train_loss', 'val_loss'])
    """
    rows, config = result.history, result.config
    baseline = result.baseline_loss
    evals = [(r["step"], r["val_loss"]) for r in rows if r.get("val_loss") is not None]
    held_out = not result.diverged and "test_loss" in result.final  # the trainer's final evaluation ran
    last_eval = None if result.diverged or not evals else evals[-1][1]
    val_loss = result.final["val_loss"] if held_out else last_eval
    ratio = None if val_loss is None else val_loss / baseline
    reached = [s for s, v in evals if v / baseline <= SUCCESS_RATIO]
    norms = _finite(r.get("w_hh_spectral_norm") for r in rows)
    grads = _finite(r.get("grad_norm") for r in rows)
    wall = rows[-1]["elapsed_s"] if rows else 0.0
    status = "interrupted" if result.interrupted else "diverged" if result.diverged else "finished"
    test = {} if result.diverged else result.final

    def over_baseline(key):
        return None if test.get(key) is None else test[key] / baseline

    row = {
        "task": cell.task, "seq_len": cell.seq_len, "strategy": cell.strategy,
        "seed": config.seed, "val_loss": val_loss, "baseline_loss": baseline, "loss_ratio": ratio,
        "success": ratio is not None and ratio <= SUCCESS_RATIO,
        "steps_to_threshold": reached[0] if reached else None,
        "max_grad_norm": max(grads) if grads else None,
        "final_w_hh_spectral_norm": norms[-1] if norms else None,
        "max_w_hh_spectral_norm": max(norms) if norms else None,
        "diverged": result.diverged, "divergence_step": result.divergence_step,
        "wall_s": wall, "steps": result.steps_done, "run_dir": run_dir,
        "phase": cell.phase, "status": status, "error": None, "strategy_spec": config.strategy,
        "lr": config.lr, "orth_lr": config.orth_lr, "setting": dict(cell.setting) or None,
        "hidden": config.hidden, "batch": config.batch,
        "tbptt_window": config.tbptt_window, "tbptt_update": config.tbptt_update,
        "proj_every": config.proj_every,
        "optimizer_updates": sum(r.get("updates", 0) for r in rows) if rows and "updates" in rows[0]
        else None,
        "val_accuracy": None if result.diverged else result.final.get("val_accuracy"),
        "test_loss": test.get("test_loss"), "test_ratio": over_baseline("test_loss"),
        "test_accuracy": test.get("test_accuracy"), "test_trivial_ratio": over_baseline("test_trivial_loss"),
        "initial_w_hh_spectral_norm": result.initial.get("w_hh_spectral_norm"),
        "time_per_step_s": wall / result.steps_done if result.steps_done else None,
        "device": result.device,
        "skew_norm": result.final.get("skew_norm"), "params": result.final.get("params"),
    }
    curves = {key: _downsample(rows, key) for key in
              ("val_loss", "train_loss", "grad_norm", "w_hh_spectral_norm")}
    last = rows[-1]["step"] if rows else 0
    curves["w_hh_zoom"] = [[r["step"], r["w_hh_spectral_norm"]] for r in rows
                           if r["step"] > last - ZOOM_STEPS and r.get("w_hh_spectral_norm") is not None]
    final_w = result.model.recurrent_matrix() if result.model is not None else None
    eig = {"start": _eigenvalues(result.initial_w_hh), "end": _eigenvalues(final_w)}
    return {"row": row, "curves": curves, "eigenvalues": eig,
            "environment": getattr(result, "environment", None) or {}, "interrupted": result.interrupted}


def crash_record(cell: Cell, run_dir: str, error: str) -> dict:
    """The record of a cell whose run raised (or whose worker died): status ``crashed``.

    Examples
    --------
    >>> from linalg_rnn.rnn import TrainConfig
    >>> cell = Cell("adding", 6, "clip", TrainConfig(task="adding", seq_len=6, strategy="clip", seed=1))
    >>> row = crash_record(cell, "cells/x", "RuntimeError: boom")["row"]
    >>> row["status"], row["error"], row["success"], row["seed"]
    ('crashed', 'RuntimeError: boom', False, 1)
    """
    row = dict.fromkeys(ROW_KEYS)
    row.update({"task": cell.task, "seq_len": cell.seq_len, "strategy": cell.strategy,
                "seed": cell.config.seed, "phase": cell.phase, "run_dir": run_dir,
                "status": "crashed", "error": error, "success": False, "diverged": False,
                "strategy_spec": cell.config.strategy, "lr": cell.config.lr, "orth_lr": cell.config.orth_lr,
                "setting": dict(cell.setting) or None})
    return {"row": row, "curves": {}, "eigenvalues": {}, "interrupted": None}
