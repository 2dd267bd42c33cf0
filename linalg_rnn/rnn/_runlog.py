"""The growing files of a run directory: metrics rows, the checkpoint, and the closing files.

:class:`RunLog` keeps a run's metrics rows in memory and appends each one to
``metrics.jsonl``; it writes checkpoints, and at the end ``result.json``,
``metrics.csv`` and ``curves.png`` -- every whole-file write atomic
(:mod:`~linalg_rnn.rnn.checkpoint`). Without a run directory it only keeps
the rows.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoint import (
    append_jsonl,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    read_jsonl,
    save_checkpoint,
    write_jsonl,
)
from .metrics import plot_run

if TYPE_CHECKING:
    from .config import TrainConfig
    from .trainer import TrainResult

CHECKPOINT = "checkpoint.pt"


def _write_csv(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys and k != "hidden_grad_norms"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def final_metrics(rows: list[dict]) -> dict:
    """The last non-null value of every metric (per-lag norms aside)."""
    final: dict = {}
    for r in rows:
        final.update({k: v for k, v in r.items() if v is not None and k != "hidden_grad_norms"})
    return final


class RunLog:
    """The rows of a run, kept in memory and appended to ``metrics.jsonl``, and its checkpoint."""

    def __init__(self, out: Path | None, config: TrainConfig, resumed_step: int) -> None:
        self.out = out
        self.rows: list[dict] = []
        if out is not None:
            self.rows = [r for r in read_jsonl(out / "metrics.jsonl") if r["step"] <= resumed_step]
            write_jsonl(out / "metrics.jsonl", self.rows)  # drops rows logged after the checkpoint
            atomic_write_json(out / "config.json", config.to_dict())

    def append(self, row: dict) -> None:
        """Keep a row, and append it to ``metrics.jsonl``."""
        self.rows.append(row)
        if self.out is not None:
            append_jsonl(self.out / "metrics.jsonl", row)

    def save_checkpoint(self, checkpoint: dict) -> None:
        """Write ``checkpoint.pt`` (atomically)."""
        if self.out is not None:
            save_checkpoint(self.out / CHECKPOINT, checkpoint)

    def finish(self, result: TrainResult) -> None:
        """``result.json``, ``metrics.csv`` and ``curves.png``, each written atomically."""
        if self.out is None:
            return
        atomic_write_json(self.out / "result.json", result.to_dict())
        _write_csv(self.out / "metrics.csv", self.rows)
        if result.config.figures and self.rows:
            fig = plot_run(self.rows, title=f"{result.config.task}: {result.config.strategy}",
                           baseline_loss=result.baseline_loss)
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=100)
            atomic_write_bytes(self.out / "curves.png", buffer.getvalue())
