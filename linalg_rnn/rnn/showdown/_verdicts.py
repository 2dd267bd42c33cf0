"""Verdicts on the source claims, computed from a study's rows: every number read, none typed.

Each of the nine claims the course was commissioned with (the README's QR
projection results, the lecture's partial fixes, the slides' accuracy
table) gets a status -- *holds*, *does not hold*, *holds only when ...*,
*holds in direction only* (claim 9), *not decided by this run* -- and the
cells and numbers behind it. The rules are plain code with named
thresholds, so a reader can disagree with one and rerun it on the same
``results.json``.

The rules a reviewer would ask for, shared by every claim:

* **Reported numbers only.** The rules read the held-out test stream
  (``test_ratio``, ``test_accuracy``); the validation stream chose the
  settings and is not reported.
* **Evidence cells.** A (task, length) counts only if some method learned it:
  that method's 95 % interval of test loss/baseline lies entirely below the
  "near the baseline" band. A cell where every method fails says nothing for
  or against any claim; it is listed as "no method learned".
* **Enough seeds.** An interval needs at least ``MIN_SEEDS`` (5) seeds; a
  method with fewer on a cell is not read there.
* **Two cells.** *Holds* and *does not hold* each need at least two cells
  that decide; otherwise the claim is *not decided*, with the reason in one
  sentence.
* **Paired comparisons.** Two methods are compared seed by seed (same data
  stream), with an interval of the mean difference, never as a ratio of two
  noisy means.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ._aggregate import MIN_SEEDS, bootstrap_ci
from ._records import SUCCESS_RATIO

__all__ = [
    "CLAIMS", "LABELS", "NEAR_BASELINE", "RuleLabels", "Verdict", "evaluate_claims", "undecided_note",
    "verdict_markdown",
]

HOLDS, FAILS, ONLY = "holds", "does not hold", "holds only when"
DIRECTION, UNDECIDED = "holds in direction only", "not decided by this run"
#: loss/baseline in this band: no better (and no worse) than the trivial model (``evaluate_claims``'s default)
NEAR_BASELINE = (0.8, 1.25)
FACTOR = 3.0  # a claimed size holds when the measurement is within this factor of it
MIN_CELLS = 2  # cells that must decide before a claim holds or does not
DRIFT = 0.1  # ‖W_hh‖₂ more than this away from where it started (1): it drifted
CLAIMED_SPIKE = 1e4  # claim 2: vanilla gradient norms
CLAIMED_DRIFT = 2.3  # claim 3: the norm vanilla drifted to
CLAIMED_IMPROVEMENT = 100.0  # claim 5: vanilla loss over QR-projected loss
GRADIENT_BOUND = 30.0  # claim 5: QR-projected gradient norms stay below this
LITTLE_LOSS = 0.05  # claim 6: every 5 steps "costs little" if at most this much of the baseline worse
#: The slides' accuracy table (claim 9): sequence length -> (RNN, unitary RNN), as fractions
CLAIMED_ACCURACY = {100: (0.9201, 0.3812), 200: (0.8045, 0.3415), 400: (0.5673, 0.1523)}
DECIDE = "linalg-rnn showdown --profile full --device cuda"

# The row keys the rules read (results.json), in one place. A key a row lacks reads as missing.
REPORTED = "test_ratio"  # test loss / baseline, on the held-out test stream: the reported number
ACCURACY = "test_accuracy"
MAX_GRAD = "max_grad_norm"
FINAL_NORM = "final_w_hh_spectral_norm"
MAX_NORM = "max_w_hh_spectral_norm"
START_NORM = "initial_w_hh_spectral_norm"
SKEW_NORM = "skew_norm"
PARAMS = "params"

CLAIMS = {
    1: "A vanilla RNN's validation loss plateaus near the trivial baseline (claimed ~0.9) on long sequences.",
    2: "Vanilla gradients spike to ~10^4.",
    3: "Without projection ‖W_hh‖₂ drifts (claimed to ~2.3).",
    4: "Orthogonal init alone prevents NaNs but does not train well (claimed loss stuck at 0.9-1.0).",
    5: "QR projection every few steps gives ~100x lower validation loss (claimed 1.0 -> 0.01), "
       "gradient norm < 30 and ‖W_hh‖₂ ~ 1.",
    6: "Projecting every 5 steps instead of every step saves computation and costs little in loss.",
    7: "Clipping fixes exploding but not vanishing gradients; truncated BPTT cannot learn dependencies "
       "longer than its window.",
    8: "An LSTM 'fundamentally solves' the problem (at each length; at equal hidden size and at equal "
       "parameter count).",
    9: "A unitary (exp-parametrized) RNN is less accurate than a plain RNN at next-character prediction at "
       "lengths 100/200/400 (claimed 38/34/15 % against 92/80/57 %).",
}


@dataclass(frozen=True)
class RuleLabels:
    """The strategy and task labels the rules read: a profile with other labels is adapted here.

    Pass ``dataclasses.replace(LABELS, text="wiki")`` (for example) as
    ``evaluate_claims(rows, labels=...)``.

    Attributes
    ----------
    vanilla, clip, tbptt_short, tbptt_long, orthogonal_init, orthogonal_init_clip : str
        The plain tanh RNN and its partial fixes.
    qr_every_1, qr_every_5 : str
        QR projection every step and every 5 steps.
    expm, cayley : str
        The parametrized orthogonal RNNs (claim 9 reads ``expm``).
    lstm, lstm_equal_params : str
        The LSTM at the RNN's hidden size, and at its parameter count.
    dependency_tasks : tuple of str
        Tasks with one dependency length, where a truncation window can be
        shorter than it (claim 7).
    text, control : str
        Next-character prediction on real text (claim 9) and its synthetic control.
    """

    vanilla: str = "vanilla"
    clip: str = "clip"
    tbptt_short: str = "tbptt_short"
    tbptt_long: str = "tbptt_long"
    orthogonal_init: str = "orthogonal_init"
    orthogonal_init_clip: str = "orthogonal_init+clip"
    qr_every_1: str = "qr_every_1"
    qr_every_5: str = "qr_every_5"
    expm: str = "expm"
    cayley: str = "cayley"
    lstm: str = "lstm"
    lstm_equal_params: str = "lstm_equal_params"
    dependency_tasks: tuple[str, ...] = ("adding", "copy", "recall")
    text: str = "text"
    control: str = "brackets"


#: The labels of the built-in profiles (``standard``, ``full``)
LABELS = RuleLabels()


@dataclass
class Verdict:
    """One claim's verdict.

    Attributes
    ----------
    claim : int
        Its number (1-9, as in :data:`CLAIMS`).
    status : str
        ``holds``, ``does not hold``, ``holds only when``, ``holds in
        direction only`` or ``not decided by this run``.
    evidence : str
        The rule, the cells it read with their numbers, and the cells it
        could not use; a verdict that is not decided starts with its reason.
    decide : str or None
        A command whose run has the cells and seeds the rule reads, when this
        run did not decide the claim.
    reason : str or None
        Why it is not decided, in one sentence (``None`` when it is).
    """

    claim: int
    status: str
    evidence: str
    decide: str | None = None
    reason: str | None = None


def _g(x: float | None, spec: str = ".3g") -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _finite(value) -> bool:
    return value is not None and not isinstance(value, bool) and isinstance(value, (int, float)) \
        and math.isfinite(value)


def _name(cell: tuple[str, int]) -> str:
    return f"{cell[0]} T={cell[1]}"


@dataclass(frozen=True)
class _Spread:
    """One method's number on one cell over its seeds: the mean and (from MIN_SEEDS seeds) its interval."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def interval(self) -> tuple[float, float] | None:
        return bootstrap_ci(self.values) if len(self.values) >= MIN_SEEDS else None

    def text(self) -> str:
        """``mean [low, high]``, or ``mean (n seeds: no interval)``."""
        if self.interval is None:
            return f"{self.mean:.3g} ({len(self.values)} seeds: no interval)"
        lo, hi = self.interval
        return f"{self.mean:.3g} [{lo:.3g}, {hi:.3g}]"


def _bootstrap_difference(a: Sequence[float], b: Sequence[float], *, level: float = 0.95,
                          resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(a) - mean(b) for unpaired samples (each resampled on its own)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    diffs = (x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
             - y[rng.integers(0, y.size, size=(resamples, y.size))].mean(axis=1))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class _Comparison:
    """Method a minus method b on one cell: paired by seed where at least MIN_SEEDS seeds match."""

    mean: float
    interval: tuple[float, float]
    paired: int  # seeds in both; 0 when compared unpaired

    def text(self, scale: float = 1.0, spec: str = "+.3g", unit: str = "") -> str:
        """``mean [low, high] (paired, n seeds)`` in ``scale`` units (100 with unit " points": percent)."""
        how = f"paired, {self.paired} seeds" if self.paired else "unpaired"
        lo, hi = self.interval
        return (f"{format(scale * self.mean, spec)}{unit} [{format(scale * lo, spec)}, "
                f"{format(scale * hi, spec)}] ({how})")


def _compare(a: Mapping[int, float], b: Mapping[int, float], *, paired_only: bool = False,
             transform: Callable[[float, float], float] = lambda x, y: x - y) -> _Comparison | None:
    """``transform(a, b)`` seed by seed, with its interval; unpaired difference where seeds do not match."""
    common = [s for s in a if s in b]
    if len(common) >= MIN_SEEDS:
        diffs = [transform(a[s], b[s]) for s in common]
        return _Comparison(float(np.mean(diffs)), bootstrap_ci(diffs), len(common))
    if paired_only or len(a) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return None
    return _Comparison(float(np.mean(list(a.values())) - np.mean(list(b.values()))),
                       _bootstrap_difference(list(a.values()), list(b.values())), 0)


class _StudyCells:
    """The main rows by (task, length) cell and strategy, seed by seed, with what the rules ask of them."""

    def __init__(self, rows: Sequence[Mapping], band: tuple[float, float], labels: RuleLabels) -> None:
        self.band, self.labels = band, labels
        self.runs: dict[tuple, dict] = {}  # (task, seq_len, strategy) -> {seed: row}
        for r in rows:
            if r.get("phase", "main") == "main":
                self.runs.setdefault((r["task"], r["seq_len"], r["strategy"]), {})[r["seed"]] = r
        self.cells = list(dict.fromkeys(key[:2] for key in self.runs))
        self.tested = any(_finite(r.get(REPORTED)) for runs in self.runs.values() for r in runs.values())
        self._learners = {cell: self._find_learners(cell) for cell in self.cells}

    def seeds(self, cell: tuple, strategy: str) -> dict:
        """``{seed: row}`` of a method on a cell (every reported seed, finished or not)."""
        return self.runs.get((*cell, strategy), {})

    def ran(self, cell: tuple, strategy: str) -> bool:
        return (*cell, strategy) in self.runs

    def values(self, cell: tuple, strategy: str, key: str = REPORTED) -> dict[int, float]:
        """``{seed: value}`` of one key over a method's finished seeds (missing or non-finite: left out)."""
        return {s: float(r[key]) for s, r in self.seeds(cell, strategy).items()
                if r.get("status", "finished") == "finished" and _finite(r.get(key))}

    def spread(self, cell: tuple, strategy: str, key: str = REPORTED) -> _Spread | None:
        values = self.values(cell, strategy, key)
        return _Spread(tuple(values.values())) if values else None

    def place(self, spread: _Spread | None) -> str | None:
        """Where a method's interval lies against the band: below, inside, above, across (None: none)."""
        if spread is None or spread.interval is None:
            return None
        lo, hi = spread.interval
        low, high = self.band
        return ("below" if hi < low else "inside" if low <= lo and hi <= high else "above" if lo > high
                else "across")

    def _find_learners(self, cell: tuple) -> list[tuple[str, _Spread]]:
        found = [(key[2], sp) for key in self.runs if key[:2] == cell
                 if self.place(sp := self.spread(cell, key[2])) == "below"]
        return sorted(found, key=lambda pair: pair[1].mean)

    def is_evidence(self, cell: tuple) -> bool:
        """Some method learned the cell: its whole interval of test loss/baseline below the band."""
        return bool(self._learners[cell])

    def learned_by(self, cell: tuple) -> str:
        strategy, sp = self._learners[cell][0]
        return f"learned by {strategy} {sp.text()}"

    def has_interval(self, cell: tuple) -> bool:
        """Some method on the cell has the seeds for an interval."""
        return any(self.place(self.spread(cell, key[2])) is not None for key in self.runs if key[:2] == cell)

    def cells_of(self, *strategies: str, tasks: Sequence[str] | None = None) -> list[tuple]:
        """The cells where every one of ``strategies`` ran (on ``tasks`` only, when given)."""
        return [c for c in self.cells if all(self.ran(c, s) for s in strategies)
                and (tasks is None or c[0] in tasks)]

    def longest_per_task(self, cells: Sequence[tuple]) -> list[tuple]:
        """Of the given cells, the longest evidence cell of each task (a task with none keeps its longest)."""
        out = []
        for task in dict.fromkeys(c[0] for c in cells):
            own = [c for c in cells if c[0] == task]
            evidence = [c for c in own if self.is_evidence(c)]
            out.append(max(evidence or own, key=lambda c: c[1]))
        return out


@dataclass
class _Reading:
    """What a rule read: the cells for the claim, against it, in direction only, unclear, and unusable."""

    subject: str  # the methods the rule reads, in words, for the reasons
    tested: bool = True  # False: no row of the run has a test number (results older than the test stream)
    unit: str = "seeds"  # what few_seeds counts: "seeds", or "paired seeds" for seed-by-seed comparisons
    support: list[tuple[tuple, str]] = field(default_factory=list)
    against: list[tuple[tuple, str]] = field(default_factory=list)
    direction: list[tuple[tuple, str]] = field(default_factory=list)
    unclear: list[tuple[tuple, str]] = field(default_factory=list)
    unlearned: list[tuple] = field(default_factory=list)  # no method learned the cell
    few_seeds: list[tuple[tuple, int]] = field(default_factory=list)  # (cell, seeds the subject had)
    untested: str = ""  # the rule's own reason why the cells it read were none of the above, if any

    def skip_unless_evidence(self, t: _StudyCells, cell: tuple) -> bool:
        """Record ``cell`` as unusable when it is not evidence; True when the rule must skip it."""
        if t.is_evidence(cell):
            return False
        if t.has_interval(cell):
            self.unlearned.append(cell)
        else:
            seeds = max((len(t.values(cell, key[2])) for key in t.runs if key[:2] == cell), default=0)
            self.few_seeds.append((cell, seeds))
        return True

    def decided_cells(self) -> list[tuple]:
        return list(dict.fromkeys(c for c, _ in self.support + self.against + self.direction))


def _join(entries: Sequence[tuple[tuple, str]]) -> str:
    return "; ".join(text for _, text in entries)


def _status(reading: _Reading) -> tuple[str, str | None]:
    """The status from the cells that decided, and the one-sentence reason when it is not decided."""
    decided = reading.decided_cells()
    if len(decided) >= MIN_CELLS:
        if reading.against:
            return (ONLY if reading.support or reading.direction else FAILS), None
        if reading.direction:
            return (ONLY if reading.support else DIRECTION), None
        return HOLDS, None
    if decided:
        return UNDECIDED, (f"Not decided: one cell decides it ({_name(decided[0])}), and a verdict needs "
                           f"at least {MIN_CELLS}.")
    if reading.unclear:
        return UNDECIDED, ("Not decided: on every cell it could read, the interval reaches both sides of "
                           "the rule's threshold.")
    if reading.few_seeds and not reading.tested:
        return UNDECIDED, ("Not decided: no row of this run has a test number (rows older than the held-out "
                           "test stream carry none).")
    if reading.few_seeds and not reading.unlearned:
        most = max(n for _, n in reading.few_seeds)
        return UNDECIDED, (f"Not decided: every cell has fewer than {MIN_SEEDS} {reading.unit} of "
                           f"{reading.subject} (at most {most}), and no interval is taken from fewer.")
    if reading.unlearned and not reading.few_seeds:
        return UNDECIDED, (f"Not decided: no method learned any cell where {reading.subject} ran, so no cell "
                           "is evidence.")
    if reading.unlearned:
        return UNDECIDED, (f"Not decided: no cell where {reading.subject} ran is evidence (no method learned "
                           f"{len(reading.unlearned)} of them, and {len(reading.few_seeds)} have fewer than "
                           f"{MIN_SEEDS} seeds).")
    if reading.untested:
        return UNDECIDED, f"Not decided: {reading.untested}"
    return UNDECIDED, f"Not decided: this run has no cells of {reading.subject}."


def _verdict(claim: int, reading: _Reading, rule: str, labels: Sequence[str],
             context: Sequence[str] = ()) -> Verdict:
    """Assemble a verdict: reason (if undecided), rule, the cells by outcome, context, unusable cells."""
    status, reason = _status(reading)
    for_, against, unclear = labels
    parts = [rule]
    if reading.support:
        parts.append(f"For ({for_}): {_join(reading.support)}.")
    if reading.direction:
        parts.append(f"In direction only: {_join(reading.direction)}.")
    if reading.against:
        parts.append(f"Against ({against}): {_join(reading.against)}.")
    if reading.unclear:
        parts.append(f"Unclear ({unclear}): {_join(reading.unclear)}.")
    parts += [c for c in context if c]
    if reading.unlearned:
        parts.append("Not evidence, no method learned: " + ", ".join(map(_name, reading.unlearned)) + ".")
    if reading.few_seeds:
        parts.append(f"Not read, fewer than {MIN_SEEDS} seeds: "
                     + ", ".join(f"{_name(c)} ({n})" for c, n in reading.few_seeds) + ".")
    evidence = " ".join(([reason] if reason else []) + parts)
    return Verdict(claim, status, evidence, DECIDE if status == UNDECIDED else None, reason)


def _band_text(t: _StudyCells) -> str:
    return f"{t.band[0]:g}-{t.band[1]:g}"


def _stuck_near_baseline(t: _StudyCells, claim: int, subject: str, rule_subject: str,
                         context: Callable[[list[tuple]], list[str]]) -> Verdict:
    """Claims 1 and 4: at each task's longest evidence length, is ``subject`` stuck near the baseline?"""
    reading = _Reading(subject, t.tested)
    read = []
    for cell in t.longest_per_task(t.cells_of(subject)):
        if reading.skip_unless_evidence(t, cell):
            continue
        sp = t.spread(cell, subject)
        place = t.place(sp)
        if place is None:
            reading.few_seeds.append((cell, 0 if sp is None else len(sp.values)))
            continue
        read.append(cell)
        text = f"{_name(cell)}: {sp.text()} ({t.learned_by(cell)})"
        {"inside": reading.support, "below": reading.against}.get(place, reading.unclear).append((cell, text))
    rule = (f"Rule: at each task's longest length that some method learned, {rule_subject}'s 95 % interval "
            f"of test loss/baseline inside the band {_band_text(t)} counts for the claim, entirely below it "
            "against.")
    return _verdict(claim, reading, rule, (f"{subject} near the baseline", f"{subject} learned",
                                           "the interval leaves the band without falling below it"),
                    context(read))


def _vanilla_plateaus(t: _StudyCells) -> Verdict:
    return _stuck_near_baseline(t, 1, t.labels.vanilla, "vanilla", lambda read: [])


def _vanilla_gradients_spike(t: _StudyCells) -> Verdict:
    vanilla = t.labels.vanilla
    reading = _Reading(vanilla, t.tested)
    for cell in t.cells_of(vanilla):
        if reading.skip_unless_evidence(t, cell):
            continue
        peaks = [r[MAX_GRAD] for r in t.seeds(cell, vanilla).values() if _finite(r.get(MAX_GRAD))]
        if len(peaks) < MIN_SEEDS:
            reading.few_seeds.append((cell, len(peaks)))
            continue
        peak = max(peaks)
        (reading.support if peak >= CLAIMED_SPIKE / FACTOR else reading.against).append(
            (cell, f"{_name(cell)}: {_g(peak)}"))
    rule = (f"Rule: on each cell some method learned, vanilla's largest gradient norm over its seeds (before "
            f"clipping) at least {CLAIMED_SPIKE / FACTOR:.0f} (the claimed 10^4 within a factor {FACTOR:g}) "
            "counts for the claim, below it against.")
    return _verdict(2, reading, rule, ("spikes that large", "smaller", ""))


def _drift(row: Mapping) -> float:
    """How far ‖W_hh‖₂ went from its start (1 unless the row says) during a run: largest and final."""
    start = row[START_NORM] if _finite(row.get(START_NORM)) else 1.0
    ends = [row[k] for k in (MAX_NORM, FINAL_NORM) if _finite(row.get(k))]
    return max(abs(x - start) for x in ends)


def _norm_drifts_without_projection(t: _StudyCells) -> Verdict:
    labels = t.labels
    subject = labels.orthogonal_init
    reading = _Reading(subject, t.tested)
    read = []
    for cell in t.cells_of(subject):
        if reading.skip_unless_evidence(t, cell):
            continue
        drifts = [_drift(r) for r in t.seeds(cell, subject).values() if _finite(r.get(MAX_NORM))]
        if len(drifts) < MIN_SEEDS:
            reading.few_seeds.append((cell, len(drifts)))
            continue
        read.append(cell)
        drifted = sum(d > DRIFT for d in drifts)
        largest = max(r[MAX_NORM] for r in t.seeds(cell, subject).values() if _finite(r.get(MAX_NORM)))
        text = f"{_name(cell)}: {drifted}/{len(drifts)} seeds drifted (up to {_g(largest, '.4g')})"
        (reading.support if 2 * drifted > len(drifts) else reading.against if 2 * drifted < len(drifts)
         else reading.unclear).append((cell, text))
    free = (labels.vanilla, labels.clip, labels.orthogonal_init, labels.orthogonal_init_clip)
    finals = [v for c in read for s in free for v in t.values(c, s, FINAL_NORM).values()]
    projected = [v for c in read for s in (labels.qr_every_1, labels.qr_every_5)
                 for v in t.values(c, s, MAX_NORM).values()]
    context = []
    if finals:
        context.append(f"Size: final ‖W_hh‖₂ without projection ({', '.join(free)}) on these cells ranged "
                       f"{_g(min(finals))}-{_g(max(finals))} (claimed ~{CLAIMED_DRIFT:g}).")
    if projected:
        context.append(f"With QR projection it never exceeded {_g(max(projected), '.4g')}.")
    rule = (f"Rule: on each cell some method learned, {subject} (which starts at ‖W_hh‖₂ = 1) counts for the "
            f"claim when most of its seeds' largest ‖W_hh‖₂ left the start by more than {DRIFT:g}, against "
            "when most stayed within it.")
    return _verdict(3, reading, rule, ("drifted", "stayed within 0.1", "as many seeds each way"), context)


def _orthogonal_init_alone_stalls(t: _StudyCells) -> Verdict:
    labels = t.labels

    def nans(read: list[tuple]) -> list[str]:
        if not read:
            return []
        count = {s: sum(bool(r.get("diverged")) for c in read for r in t.seeds(c, s).values())
                 for s in (labels.vanilla, labels.orthogonal_init)}
        return [f"Divergences on these cells: {labels.vanilla} {count[labels.vanilla]}, "
                f"{labels.orthogonal_init} {count[labels.orthogonal_init]}"
                + (" (no vanilla run diverged, so 'prevents NaNs' is not tested here)."
                   if count[labels.vanilla] == 0 else ".")]

    return _stuck_near_baseline(t, 4, labels.orthogonal_init, "orthogonal_init", nans)


def _qr_projection_lowers_loss(t: _StudyCells) -> Verdict:
    vanilla, qr = t.labels.vanilla, t.labels.qr_every_5
    reading = _Reading(f"{vanilla} and {qr}", t.tested, "paired seeds")
    enough = math.log10(CLAIMED_IMPROVEMENT / FACTOR)
    for cell in t.cells_of(vanilla, qr):
        if reading.skip_unless_evidence(t, cell):
            continue
        v, q = t.values(cell, vanilla), t.values(cell, qr)
        logs = _compare({s: x for s, x in v.items() if x > 0}, {s: x for s, x in q.items() if x > 0},
                        paired_only=True, transform=lambda a, b: math.log10(a / b))
        if logs is None:
            reading.few_seeds.append((cell, len([s for s in v if s in q])))
            continue
        grads = [r[MAX_GRAD] for r in t.seeds(cell, qr).values() if _finite(r.get(MAX_GRAD))]
        finals = list(t.values(cell, qr, FINAL_NORM).values())
        grad_ok = bool(grads) and max(grads) < GRADIENT_BOUND
        norm_ok = bool(finals) and max(abs(x - 1) for x in finals) <= DRIFT
        lo, hi = logs.interval
        norms = sorted({f"{x:.4g}" for x in (min(finals), max(finals))}) if finals else ["n/a"]
        text = (f"{_name(cell)}: {10 ** logs.mean:.3g}x [{10 ** lo:.3g}, {10 ** hi:.3g}] ({logs.paired} "
                f"pairs), largest ‖g‖ {_g(max(grads, default=None))}, final ‖W_hh‖₂ {'-'.join(norms)}")
        if not grad_ok or not norm_ok or hi < enough:
            reading.against.append((cell, text))
        else:
            (reading.support if lo >= enough else reading.unclear).append((cell, text))
    least = f"{CLAIMED_IMPROVEMENT / FACTOR:.3g}x"
    rule = (f"Rule: on each cell some method learned, the factor {vanilla} test loss over {qr} test loss, "
            f"seed by seed (its geometric mean over the paired seeds), counts for the claim when its whole "
            f"95 % interval is at least {least} (the claimed {CLAIMED_IMPROVEMENT:g}x within a factor "
            f"{FACTOR:g}) and {qr}'s gradient norm stays below {GRADIENT_BOUND:g} and its final ‖W_hh‖₂ "
            f"within {DRIFT:g} of 1; against when the whole interval is below {least} or either bound fails.")
    return _verdict(5, reading, rule, ("all three parts", "a part fails",
                                       f"the interval reaches both sides of {least}"))


def _projection_time(timings: Mapping | None) -> tuple[str | None, str]:
    """Claim 6's time part from the in-process benchmark: 'saves', 'no saving', 'noise' or None."""
    if timings is None:
        return None, "Time: not measured (no timings given; the study stores them in meta['timings'])."
    if timings.get("error"):
        return None, f"Time: not measured (the benchmark stopped: {timings['error']})."
    clock, key = ("process", "cpu_rounds_s") if timings.get("cpu_rounds_s") else ("wall", "rounds_s")
    rounds = timings[key]
    ratios = [five / one for five, one in zip(rounds["every_5"], rounds["every_1"], strict=True)]
    best = {k: min(v) for k, v in rounds.items()}
    outcome = "saves" if max(ratios) < 1 else "no saving" if min(ratios) >= 1 else "noise"
    where = ", ".join(f"{k} {timings[k]}" for k in ("task", "seq_len", "hidden", "batch", "device")
                      if k in timings)
    text = (f"Time per training step in {clock} time ({where}; {len(ratios)} interleaved rounds in one "
            f"process, the fastest shown): no projection {1e3 * best['bare']:.3g} ms, every step "
            f"{1e3 * best['every_1']:.3g} ms, every 5 steps {1e3 * best['every_5']:.3g} ms; every 5 over "
            f"every step {float(np.median(ratios)):.3f} (rounds {min(ratios):.3f}-{max(ratios):.3f}): "
            + {"saves": "faster in every round.", "no saving": "never faster.",
               "noise": "the saving is within the rounds' spread."}[outcome])
    if clock == "process":
        walls = [f / o for f, o in zip(timings["rounds_s"]["every_5"], timings["rounds_s"]["every_1"],
                                       strict=True)]
        text += (f" In wall time, which carries the machine's other load, every 5 over every step "
                 f"{float(np.median(walls)):.3f} (rounds {min(walls):.3f}-{max(walls):.3f}).")
    return outcome, text


def _projecting_every_5_is_cheap(t: _StudyCells, timings: Mapping | None) -> Verdict:
    one, five = t.labels.qr_every_1, t.labels.qr_every_5
    reading = _Reading(f"{one} and {five}", t.tested, "paired seeds")
    for cell in t.cells_of(one, five):
        if reading.skip_unless_evidence(t, cell):
            continue
        a, b = t.values(cell, five), t.values(cell, one)
        diff = _compare(a, b, paired_only=True)
        if diff is None:
            reading.few_seeds.append((cell, len([s for s in a if s in b])))
            continue
        lo, hi = diff.interval
        text = (f"{_name(cell)}: {np.mean(list(a.values())):.3g} vs {np.mean(list(b.values())):.3g}, "
                f"difference {diff.text()}")
        (reading.support if hi <= LITTLE_LOSS else reading.against if lo > LITTLE_LOSS
         else reading.unclear).append((cell, text))
    time_outcome, time_text = _projection_time(timings)
    rule = (f"Rule: loss, on each cell some method learned, the seed-by-seed difference of test "
            f"loss/baseline, {five} minus {one}, counts for the claim when its whole 95 % interval is at "
            f"most {LITTLE_LOSS:g} (of the baseline), against when entirely above; time, from the benchmark "
            "below (process time where measured on the CPU, else wall time): every 5 steps must be faster "
            "than every step in every round. Both parts must hold.")
    verdict = _verdict(6, reading, rule, ("costs little", "costs more",
                                          f"the interval reaches {LITTLE_LOSS:g}"), [time_text])
    if verdict.status == FAILS:
        return verdict
    if time_outcome == "no saving":
        return Verdict(6, FAILS, verdict.evidence)
    if verdict.status == UNDECIDED:
        return verdict
    if time_outcome != "saves":
        reason = ("Not decided: the time part was not measured." if time_outcome is None else
                  "Not decided: the time saved is within the spread of the timing rounds.")
        return Verdict(6, UNDECIDED, f"{reason} {verdict.evidence}", DECIDE, reason)
    return verdict


def _clipping_and_truncation_are_partial(t: _StudyCells) -> Verdict:
    labels = t.labels
    short = labels.tbptt_short
    reading = _Reading(f"{short} and a window covering the dependency", t.tested)
    untested = []
    for cell in t.cells_of(short, tasks=labels.dependency_tasks):
        if reading.skip_unless_evidence(t, cell):
            continue
        full_label = labels.tbptt_long if t.ran(cell, labels.tbptt_long) else labels.vanilla
        full, sp = t.spread(cell, full_label), t.spread(cell, short)
        if t.place(full) is None or t.place(sp) is None:
            reading.few_seeds.append((cell, min(len(x.values) if x else 0 for x in (full, sp))))
            continue
        if t.place(full) != "below":  # the window is to blame only where a window covering it learned
            untested.append(f"{_name(cell)} ({full_label} {full.text()})")
            continue
        text = f"{_name(cell)}: short window {sp.text()}, {full_label} {full.text()}"
        {"inside": reading.support, "below": reading.against}.get(t.place(sp), reading.unclear).append(
            (cell, text))
    if untested:  # the reason, should these be all the cells it read
        reading.untested = (f"the short window is blamed only where a window covering the dependency "
                            f"learned, and on none of the {len(untested)} cells {short} ran on did one.")
    read = [c for c in t.cells_of(labels.vanilla, labels.clip) if t.is_evidence(c)]
    div_v = sum(bool(r.get("diverged")) for c in read for r in t.seeds(c, labels.vanilla).values())
    div_c = sum(bool(r.get("diverged")) for c in read for r in t.seeds(c, labels.clip).values())
    near = [_name(c) for c in read if t.place(t.spread(c, labels.clip)) == "inside"]
    context = [
        ("The window is not blamed where the covering window did not learn either: "
         + "; ".join(untested) + ".") if untested else "",
        f"Clipping half, reported, not decided: on the cells some method learned, divergences "
        f"{labels.vanilla} {div_v}, {labels.clip} {div_c}"
        + (" (nothing exploded to NaN, so 'fixes exploding' is untested)" if div_v == 0 else "")
        + (f"; {labels.clip}'s interval inside the band on {len(near)} of {len(read)} of them: "
           + ", ".join(near) if near else "") + ".",
    ]
    rule = (f"Rule: truncated BPTT half, on each {'/'.join(labels.dependency_tasks)} cell where a window "
            f"covering the dependency ({labels.tbptt_long}, else {labels.vanilla}) learned (whole 95 % "
            f"interval below {t.band[0]:g}), the window of half the dependency ({short}) inside the band "
            f"{_band_text(t)} counts for the claim, below it against.")
    return _verdict(7, reading, rule, ("the short window stuck, the covering one learned",
                                       "the short window learned too", "the short window's interval leaves "
                                       "the band without falling below it"), context)


def _lstm_solves(t: _StudyCells) -> Verdict:
    labels = t.labels
    variants = (labels.lstm, labels.lstm_equal_params)
    reading = _Reading(" or ".join(variants), t.tested)
    sizes = ""
    for cell in [c for c in t.cells if any(t.ran(c, v) for v in variants)]:
        if reading.skip_unless_evidence(t, cell):
            continue
        for variant in (v for v in variants if t.ran(cell, v)):
            seeds = t.seeds(cell, variant)
            if len(seeds) < MIN_SEEDS:
                reading.few_seeds.append((cell, len(seeds)))
                continue
            solved = sum(1 for x in t.values(cell, variant).values() if x <= SUCCESS_RATIO)
            sp = t.spread(cell, variant)
            text = (f"{_name(cell)}, {variant}: {solved}/{len(seeds)} seeds solved, "
                    f"{sp.text() if sp else 'no finished seed'}")
            (reading.support if 2 * solved > len(seeds) else reading.against).append((cell, text))
        if not sizes:
            counts = {s: next((r[PARAMS] for r in t.seeds(cell, s).values() if _finite(r.get(PARAMS))), None)
                      for s in (labels.vanilla, *variants)}
            sizes = ", ".join(f"{s} {n}" for s, n in counts.items() if n is not None)
            sizes = f"Trainable parameters on {_name(cell)}: {sizes}." if sizes else ""
    rule = (f"Rule: on each cell some method learned, an LSTM ({labels.lstm} at the RNN's hidden size, "
            f"{labels.lstm_equal_params} at its parameter count) counts for the claim when most of its "
            f"seeds end with test loss at most {SUCCESS_RATIO:g} of the baseline (diverged seeds count as "
            "not solved), against otherwise.")
    return _verdict(8, reading, rule, ("solves", "does not solve", ""), [sizes])


def _accuracy_gap(t: _StudyCells, cell: tuple) -> tuple[str, str] | tuple[None, str]:
    """Claim 9 on one cell: (outcome, text), outcome one of support/direction/against/unclear or None."""
    labels = t.labels
    vanilla, expm = t.values(cell, labels.vanilla, ACCURACY), t.values(cell, labels.expm, ACCURACY)
    gap = _compare(expm, vanilla)
    if gap is None:
        return None, f"{_name(cell)}: fewer than {MIN_SEEDS} seeds with a test accuracy"
    rnn, unitary = CLAIMED_ACCURACY[cell[1]]
    claimed = unitary - rnn
    enough = claimed / FACTOR  # a negative number of points: a third of the claimed gap
    lo, hi = gap.interval
    text = (f"{_name(cell)}: {labels.vanilla} {100 * np.mean(list(vanilla.values())):.1f} %, {labels.expm} "
            f"{100 * np.mean(list(expm.values())):.1f} %, gap {gap.text(100, '+.1f', ' points')}, claimed "
            f"{100 * claimed:+.1f}, a third of it {100 * enough:+.1f}")
    if hi < 0:
        return ("support" if lo <= enough else "direction"), text
    if lo > enough:  # the claimed size is excluded and the sign is not the claimed one for sure
        return "against", text
    return "unclear", text


def _unitary_less_accurate_on_text(t: _StudyCells) -> Verdict:
    labels = t.labels
    reading = _Reading(f"{labels.vanilla} and {labels.expm} on {labels.text}", t.tested)
    outcome_lists = {"support": reading.support, "direction": reading.direction, "against": reading.against,
                     "unclear": reading.unclear}
    no_claim = []
    for cell in t.cells_of(labels.vanilla, labels.expm, tasks=(labels.text,)):
        if cell[1] not in CLAIMED_ACCURACY:
            no_claim.append(_name(cell))
            continue
        if reading.skip_unless_evidence(t, cell):
            continue
        outcome, text = _accuracy_gap(t, cell)
        if outcome is None:
            reading.few_seeds.append((cell, min(len(t.values(cell, s, ACCURACY))
                                                for s in (labels.vanilla, labels.expm))))
        else:
            outcome_lists[outcome].append((cell, text))
    control = []
    in_words = {"support": HOLDS, "direction": DIRECTION, "against": FAILS, "unclear": "unclear"}
    for cell in t.cells_of(labels.vanilla, labels.expm, tasks=(labels.control,)):
        if cell[1] in CLAIMED_ACCURACY:
            outcome, text = _accuracy_gap(t, cell)
            learned = t.is_evidence(cell) or not t.has_interval(cell)
            control.append(text + (f": {in_words[outcome]}" if outcome else "")
                           + ("" if learned else " (no method learned it)"))
    skews = []
    for cell in t.cells_of(labels.expm, labels.cayley, tasks=(labels.text, labels.control)):
        e, c = t.spread(cell, labels.expm, SKEW_NORM), t.spread(cell, labels.cayley, SKEW_NORM)
        if e and c:
            skews.append(f"{_name(cell)} {e.mean:.3g} vs {c.mean:.3g}")
    context = [
        f"Control ({labels.control}, not counted): " + "; ".join(control) + "." if control else "",
        f"Lengths without a claimed number, not read: {', '.join(no_claim)}." if no_claim else "",
        (f"Skew parameter ‖A‖₂ at the end, {labels.expm} vs {labels.cayley} (mean over seeds; they "
         "can differ only where it moves away from 0): " + "; ".join(skews) + ".") if skews else "",
    ]
    rule = (f"Rule: on each {labels.text} cell some method learned, at T = 100/200/400, take the test "
            f"accuracy gap {labels.expm} minus {labels.vanilla} (paired by seed where {MIN_SEEDS} seeds "
            f"match) and its 95 % interval; it counts for the claim when the whole interval is below 0 and "
            f"its lower end reaches 1/{FACTOR:g} of the claimed gap (the claimed size within a factor "
            f"{FACTOR:g}), in direction only when the whole interval is below 0 but above that, against when "
            "the whole interval is above that and not below 0.")
    return _verdict(9, reading, rule, ("less accurate by about the claimed size",
                                       "no gap of the claimed size",
                                       "the interval reaches 0 and a third of the claimed gap"), context)


_RULES: dict[int, Callable[..., Verdict]] = {
    1: _vanilla_plateaus, 2: _vanilla_gradients_spike, 3: _norm_drifts_without_projection,
    4: _orthogonal_init_alone_stalls, 5: _qr_projection_lowers_loss, 6: _projecting_every_5_is_cheap,
    7: _clipping_and_truncation_are_partial, 8: _lstm_solves, 9: _unitary_less_accurate_on_text,
}


def _checked_band(near_baseline) -> tuple[float, float]:
    band = tuple(near_baseline) if isinstance(near_baseline, (tuple, list)) else None
    if band is None or len(band) != 2 or any(isinstance(x, bool) or not isinstance(x, (int, float))
                                             for x in band):
        raise TypeError(f"near_baseline must be a pair of numbers (low, high), got {near_baseline!r}")
    if not (math.isfinite(band[0]) and math.isfinite(band[1]) and 0 <= band[0] < band[1]):
        raise ValueError(f"near_baseline must be (low, high) with 0 <= low < high, both finite; "
                         f"got {near_baseline!r}")
    return float(band[0]), float(band[1])


def _check_rows(rows) -> None:
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
        raise TypeError(f"rows must be a list of dicts (the 'runs' of results.json), "
                        f"got {type(rows).__name__}")
    for i, r in enumerate(rows):
        if not isinstance(r, Mapping):
            raise TypeError(f"rows[{i}] must be a dict (a row of results.json), got {type(r).__name__}")
        missing = [k for k in ("task", "seq_len", "strategy", "seed") if k not in r]
        if missing:
            raise ValueError(f"rows[{i}] lacks {', '.join(missing)}")


def _check_timings(timings) -> None:
    if timings is None:
        return
    if not isinstance(timings, Mapping):
        raise TypeError(f"timings must be a dict (meta['timings'] of results.json), "
                        f"got {type(timings).__name__}")
    if isinstance(timings.get("error"), str):
        return  # the benchmark could not finish: claim 6's time part reads as not measured
    needed = ("bare", "every_1", "every_5")
    for key in ("rounds_s", "cpu_rounds_s"):
        rounds = timings.get(key)
        if rounds is None and key == "cpu_rounds_s":
            continue  # measured on an accelerator: wall time only
        if not isinstance(rounds, Mapping) or any(not isinstance(rounds.get(k), Sequence) for k in needed):
            raise ValueError(f"timings must hold {key} with lists 'bare', 'every_1' and 'every_5' "
                             "(what time_projection_steps returns)")
        lengths = {len(rounds[k]) for k in needed}
        positive = all(_finite(x) and x > 0 for k in needed for x in rounds[k])
        if len(lengths) != 1 or 0 in lengths or not positive:
            raise ValueError(f"timings['{key}'] must hold one positive time per round for each of 'bare', "
                             "'every_1' and 'every_5'")


def evaluate_claims(rows: Sequence[dict], *, near_baseline: tuple[float, float] = NEAR_BASELINE,
                    timings: Mapping | None = None, labels: RuleLabels = LABELS) -> list[Verdict]:
    """The verdict on each of the nine claims, from the rows of ``results.json``.

    Parameters
    ----------
    rows : sequence of dict
        The study's rows (sweep rows are ignored). The rules read the test
        numbers (``test_ratio``, ``test_accuracy``), ``max_grad_norm``,
        ``final_w_hh_spectral_norm``, ``max_w_hh_spectral_norm``,
        ``initial_w_hh_spectral_norm``, ``skew_norm``, ``params``,
        ``status`` and ``diverged``; a key a row lacks reads as missing.
    near_baseline : tuple of float, optional
        ``(low, high)``: an interval of test loss/baseline inside ``[low,
        high]`` is "near the trivial baseline" (claims 1, 4 and 7), and one
        entirely below ``low`` means the method learned the cell (which makes
        the cell evidence). Default :data:`NEAR_BASELINE`, ``(0.8, 1.25)``.
    timings : dict, optional
        What ``time_projection_steps`` (module ``_timing``)
        returned (the study's ``meta["timings"]``): claim 6's time part.
        Without it, that part is "not measured" and claim 6 is not decided.
    labels : RuleLabels, optional
        The strategy and task labels the rules read (default ``LABELS``,
        those of the built-in profiles).

    Returns
    -------
    list of Verdict
        One per claim, in order.

    Raises
    ------
    TypeError
        If ``rows`` is not a list of dicts, ``near_baseline`` not a pair of
        real numbers, ``timings`` not a dict or ``labels`` not a
        ``RuleLabels``.
    ValueError
        If a row lacks ``task``, ``seq_len``, ``strategy`` or ``seed``, if
        ``near_baseline`` is not ``0 <= low < high`` with both finite, or if
        ``timings`` lacks its per-round times.

    Notes
    -----
    The module docstring states the rules every claim shares: only cells
    some method learned are evidence, at least ``MIN_SEEDS`` (5) seeds per
    interval, at least two deciding cells per verdict, paired per-seed
    comparisons. Each verdict's evidence starts with its own rule in one
    sentence, then names every cell it read with its numbers. A claimed size
    holds when the measurement is within a factor 3 of it. Taught in lesson 14.

    Examples
    --------
    >>> [v.status for v in evaluate_claims([])][:2]
    ['not decided by this run', 'not decided by this run']
    >>> rows = [{"task": task, "seq_len": 30, "strategy": s, "seed": k, "test_ratio": r + 0.01 * k,
    ...          "status": "finished"} for task in ("adding", "recall") for k in range(5)
    ...         for s, r in (("vanilla", 0.6), ("lstm", 0.02))]
    >>> evaluate_claims(rows)[0].status, evaluate_claims(rows, near_baseline=(0.5, 2.0))[0].status
    ('does not hold', 'holds')
    >>> evaluate_claims(rows, near_baseline=(1.25, 0.8))
    Traceback (most recent call last):
        ...
    ValueError: near_baseline must be (low, high) with 0 <= low < high, both finite; got (1.25, 0.8)
    """
    band = _checked_band(near_baseline)
    _check_rows(rows)
    _check_timings(timings)
    if not isinstance(labels, RuleLabels):
        raise TypeError(f"labels must be a RuleLabels, got {type(labels).__name__}")
    cells = _StudyCells(rows, band, labels)
    return [_RULES[n](cells, timings) if n == 6 else _RULES[n](cells) for n in sorted(_RULES)]


def undecided_note(verdicts: Sequence[Verdict]) -> str:
    """One line for below the verdict table: which claims are not decided, and the runs that have their cells.

    Returns ``""`` when every claim is decided.

    Examples
    --------
    >>> undecided_note([Verdict(2, "holds", "max 1e4")])
    ''
    >>> undecided_note([Verdict(5, "not decided by this run", "Not decided: ...")]).split(":")[0]
    'Not decided by this run'
    """
    claims = [str(v.claim) for v in verdicts if v.status == UNDECIDED]
    if not claims:
        return ""
    which = (f"claim {claims[0]}" if len(claims) == 1
             else "claims " + ", ".join(claims[:-1]) + f" and {claims[-1]}")
    return (f"Not decided by this run: {which} (the reason starts each row). The built-in profiles run "
            f"every cell these rules read with at least {MIN_SEEDS} seeds: `linalg-rnn showdown --profile "
            f"standard` on a CPU, `{DECIDE}` at literature scale.")


def verdict_markdown(verdicts: Sequence[Verdict]) -> str:
    """The verdicts as a Markdown table (``summary.md``), with one line below it for the undecided ones.

    Examples
    --------
    >>> print(verdict_markdown([Verdict(2, "holds", "max 1e4")]).splitlines()[2])
    | 2 | Vanilla gradients spike to ~10^4. | holds | max 1e4 |
    """
    lines = ["| # | claim | verdict | measured |", "|---|---|---|---|"]
    for v in verdicts:
        lines.append(f"| {v.claim} | {CLAIMS[v.claim]} | {v.status} | {v.evidence} |")
    note = undecided_note(verdicts)
    return "\n".join(lines + (["", note] if note else [])) + "\n"
