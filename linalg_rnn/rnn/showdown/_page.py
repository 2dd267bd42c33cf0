"""The docs results page, generated from a committed study folder (no number typed by hand).

``python -m linalg_rnn.rnn.showdown STUDY_DIR`` copies a finished study's publishable
files (``results.json``, ``results.csv``, ``summary.md``, ``figures/``) to
``docs/results/study`` and rewrites ``docs/results.rst``; a test checks that the
committed page is exactly what this code makes of the committed ``results.json``.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from ..._filesystem import atomic_write_json
from ._aggregate import summarize
from ._figures import FIGURES, figure_png
from ._study import how_cells_trained, summary_text
from ._verdicts import CLAIMS, evaluate_claims, undecided_note

__all__ = ["publish", "results_page"]

PUBLISHED = ("results.json", "results.csv", "summary.md")
# What each figure shows, as the page's caption and the image's alternative text.
CAPTIONS = {
    "headline": "Final test loss over the task's baseline at every length, by task and family "
                "of methods.",
    "loss_curves": "Validation loss over the baseline during training, at each task's longest length.",
    "grad_norms": "Gradient norm (before clipping) during training, at each task's longest length.",
    "w_hh_norm": "The spectral norm of W_hh during training, and over the last recorded steps.",
    "eigenvalues": "Eigenvalues of W_hh at the start and at the end of training, with the unit circle.",
}

FAIRNESS = """\
* **Same data, same budget.** Every method in a (task, length) cell gets the same hidden size,
  batch size, number of steps, seeds, training batches and held-out sets: one trainer *step*
  is one batch for every strategy (truncated BPTT makes one update per window inside it).
* **Every method at its own best settings.** Before the reported runs, every (task, length,
  method) trains once per setting of the profile's ``[study.sweep]`` table (Adam learning rate
  and, for ``expm``, ``cayley`` and the QR/polar projections, the learning rate of W_hh or its
  skew parameter as a multiple of it) on a sweep seed the reported seeds never use, for the
  cell's full step count; the setting with the lowest final validation loss is the one its
  reported seeds train with. The choices are in the table below each task and in
  ``results.json``. A choice at the end of the grid is listed: there a wider grid might do better.
* **Selected on validation, reported on test.** The sweep reads the validation set; the numbers
  on this page are the final loss on a held-out *test* set the selection never saw (4096
  sequences from another generator seed for the synthetic tasks; the whole test split for MNIST
  and the text), beside the loss of a constant predictor on the same sequences.
* **Like with like.** ``tbptt`` is the textbook algorithm of lesson 11 (an update per window,
  the hidden state carried and detached); ``tbptt_short``/``tbptt_long`` put the window at half
  and 1.5 times the task's dependency length, rounded to a divisor of the sequence length so the
  last window is as long as the others. ``expm`` and ``cayley`` run on the same fused
  kernel as the plain RNN. The LSTM runs at the RNN's hidden size and, as
  ``lstm_equal_params``, at the hidden size whose parameter count is nearest the RNN's.
  Every cell runs on one torch thread; time ratios (claim 6) come from a benchmark in one
  process after the cells, not from cell wall times on a shared machine.
* **Never one run.** Means over five or more seeds with the sample standard deviation and a
  bootstrap 95 % interval of the mean; a seed *succeeds* when its final loss is at most 10 % of
  the task's baseline (the loss of a model that ignores its input).
* **Not the published models.** The published orthogonal and unitary RNNs use modReLU (the
  trainer has it: ``activation = "modrelu"``); the built-in profiles train tanh RNNs throughout.
"""


PROFILE_FORMAT = """\
Your own study
--------------

``linalg-rnn showdown --profile my_study.toml`` runs any grid. Keys at the top of ``[study]``
are defaults for every cell (any :class:`~linalg_rnn.rnn.TrainConfig` field); a task entry may
set fields for its cells, ``seq_len`` may be a list, ``label`` names a variant and
``optional = true`` leaves the task out when its data are missing (local MNIST); a strategy is
a name, or a table that sets fields and then needs a ``label``; ``tbptt_window_ratio`` puts the
truncation window at a fraction of the task's dependency length (a divisor of the sequence
length); an ``lstm`` entry with ``hidden = "equal_params"`` gets, on each task, the hidden size
whose LSTM has the parameter count of the tanh RNN at the study's ``hidden``.

A ``[study.sweep]`` table picks each method's settings on validation runs first. Each key is a
list of values to try: a ``TrainConfig`` field (``lr``, ``clip_norm``, ...; a field applies only
where the strategy has a value, so ``clip_norm`` only to clip strategies) or ``orth_lr_ratio``
(``orth_lr = lr × ratio`` for ``expm``, ``cayley`` and the projections, the strategies with an
``orth_lr``). ``seeds`` are the sweep's own seeds (default ``[1000]``; never the study's) and
``steps`` the length of a sweep run (default each cell's ``steps``). Every combination trains on
the sweep seeds; the one with the lowest mean final validation loss is what the main cells
train with, and they report on a test set the selection never saw::

    [study]
    name = "mine"
    seeds = [0, 1, 2]
    steps = 300
    hidden = 32
    batch = 32
    tasks = [{ task = "adding", seq_len = [20, 40] }, { task = "copy", seq_len = 10 }]
    strategies = [
      "vanilla",
      "orthogonal_init+qr_projection+clip",
      { label = "qr_every_1", strategy = "qr_projection", proj_every = 1 },
      { label = "tbptt_short", strategy = "tbptt", tbptt_window_ratio = 0.5 },
      { label = "lstm_equal_params", strategy = "lstm", hidden = "equal_params" },
    ]

    [study.sweep]
    lr = [1e-3, 1e-2]
    orth_lr_ratio = [0.1, 1.0]
    seeds = [1000]

Every cell is checked before any work; a bad entry is one line of error naming it.
"""


def _table(header: list[str], rows: list[list[str]], css_class: str = "") -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", *([f"   :class: {css_class}"] if css_class else []), ""]
    for line in [header] + rows:
        out.append("   * - " + line[0])
        out += [f"     - {cell}" for cell in line[1:]]
    return out + [""]


def _sitting(s: dict) -> str:
    resumed = " (``--resume``)" if "--resume" in (s.get("command") or "").split() else ""
    if s.get("wall_s") is None:  # a sitting killed before it could write its time
        return f"{s['cells_run']} cells{resumed}, wall time not recorded (the sitting was killed)"
    return f"{s['cells_run']} cells{resumed} in {s['wall_s'] / 60:.1f} min"


def _public_command(command: str) -> str:
    """The study's command without the folder it wrote to (a path on the author's machine)."""
    words = shlex.split(command)
    kept = []
    for i, word in enumerate(words):
        if word == "--out" or word.startswith("--out=") or (i and words[i - 1] == "--out"):
            continue
        kept.append(word)
    return shlex.join(kept)


def _figure(figures: str, name: str, present: bool) -> list[str]:
    """A figure at its natural size (the page's column), linked to its full-size file, with its caption."""
    if not present:
        return [f"*{CAPTIONS[name]}* Not in this copy of the study: it is drawn from ``curves.json``, which "
                "the study folder published here does not hold.", ""]
    return [f".. image:: {figures}/{name}.png", f"   :alt: {CAPTIONS[name]}", "",
            f"*{CAPTIONS[name]}* Click or tap the figure for its full-size image.", ""]


def _g(x, spec: str = ".3g") -> str:
    return "–" if x is None else format(x, spec)


def _pending_page(results_dir: Path) -> str:
    out = ["The showdown: results", "======================", "",
           "Which fix works, on which task, at which length? This page shows a committed run of",
           "``linalg-rnn showdown`` (part V, lesson 14), generated from its ``results.json`` by",
           ":func:`linalg_rnn.rnn.showdown.results_page`.", "",
           "No run is committed yet", "-----------------------", "",
           f"The folder ``{results_dir.as_posix()}`` holds no ``results.json``. The run that belongs",
           "here is made with::", "",
           "    linalg-rnn showdown --profile standard --workers 2 --out results/standard-run", "",
           "and published here (results, summary and figures copied, this page rewritten) with::", "",
           "    python -m linalg_rnn.rnn.showdown results/standard-run", "",
           "Until then no claim below has a verdict: every one is *not decided by this run*.", "",
           "Fairness rules", "--------------", "", FAIRNESS,
           "The claims under test", "---------------------", ""]
    out += [f"{n}. {text}" for n, text in CLAIMS.items()]
    return "\n".join(out + ["", PROFILE_FORMAT]).rstrip() + "\n"


def _short(value) -> str:
    """A learning rate as ``3e-3`` (not ``3e-03``); ``–`` when unknown; a list (seeds differ) joined."""
    if value is None:
        return "–"
    if isinstance(value, list):
        return "/".join(_short(v) for v in value)
    mantissa, _, exponent = format(value, ".0e").partition("e")
    return f"{mantissa}e{int(exponent)}"


def _lr(line: dict) -> str:
    """The chosen learning rate, and after a slash the orthogonal one where it differs from it."""
    lr, orth = line["lr"], line["orth_lr"]
    return _short(lr) + ("" if orth is None or orth == lr else f" / {_short(orth)}")


def _sweep_section(sweep: dict | None) -> list[str]:
    """The sweep on the page: its grid, its rule, and the choices at an end of the grid."""
    if not sweep:
        return []
    def shown(key, value):  # learning rates as 3e-3, the ratio as 0.1
        return _short(value) if key.endswith("lr") else format(value, "g")

    grid = "; ".join(f"``{k}`` in {', '.join(shown(k, v) for v in vals)}"
                     for k, vals in sweep["values"].items())
    choices = sweep["choices"]
    lrs = sorted(sweep["values"].get("lr", []))
    edge = [c for c in choices if lrs and c["setting"].get("lr") in (lrs[0], lrs[-1])]
    out = ["The sweep", "---------", "",
           f"Every (task, length, method) trained once per setting ({grid}) on sweep seed(s) "
           f"{', '.join(map(str, sweep['seeds']))}, which no reported run uses, for "
           + (f"{sweep['steps']} steps" if sweep.get("steps") else "the cell's own step count")
           + f"; the choice: the {sweep['rule']}" + ("" if sweep["rule"].endswith(".") else "."),
           f"{len(choices)} choices were made; every candidate's validation loss is in ``results.json``",
           "(``meta.sweep.choices``). The tables below give each method's chosen learning rate.", ""]
    if lrs and len(lrs) > 1:
        at_low = sum(1 for c in edge if c["setting"].get("lr") == lrs[0])
        out += [f"Choices at an end of the learning-rate grid, where a wider grid might do better: "
                f"{len(edge)} of {len(choices)} ({at_low} at {_short(lrs[0])}, {len(edge) - at_low} at "
                f"{_short(lrs[-1])}).", ""]
    return out


#: Where publish keeps the verdicts of the committed run a new one replaces.
PREVIOUS = "previous_verdicts.json"


def previous_verdicts(summary_md: str) -> dict[str, str]:
    r"""Claim number -> status, read from the verdict table of a ``summary.md``.

    Examples
    --------
    >>> previous_verdicts("| # | claim | verdict | measured |\n|---|---|---|---|\n| 2 | Spike. | holds | x |")
    {'2': 'holds'}
    """
    out = {}
    for line in summary_md.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].isdigit():
            out[cells[0]] = cells[2]
    return out


def _keep_previous_verdicts(dest: Path) -> None:
    meta = json.loads((dest / "results.json").read_text(encoding="utf-8"))["meta"]
    previous = {"date": meta.get("date"), "profile": meta.get("profile", {}).get("name"),
                "description": meta.get("profile", {}).get("description", "").replace("\n", " "),
                "verdicts": previous_verdicts((dest / "summary.md").read_text(encoding="utf-8"))}
    (dest / PREVIOUS).write_text(json.dumps(previous, indent=1) + "\n", encoding="utf-8")


def _changes_section(results_dir: Path, verdicts) -> list[str]:
    """Each claim's verdict in the committed run this one replaced, beside this run's."""
    path = results_dir / PREVIOUS
    if not path.is_file():
        return []
    previous = json.loads(path.read_text(encoding="utf-8"))
    title = "What changed since the previous committed run"
    out = [title, "-" * len(title), "",
           f"The run this one replaced ({previous['date']}, profile ``{previous['profile']}``) was read",
           "by the verdict rules of its time. Its profile: " + previous["description"], ""]
    out += _table(["#", "previous run", "this run"],
                  [[str(v.claim), previous["verdicts"].get(str(v.claim), "–"), v.status] for v in verdicts],
                  "changes")
    return out


def results_page(results_dir: str | Path, *, image_dir: str | None = None) -> str:
    """The reST results page for the study in ``results_dir``.

    Parameters
    ----------
    results_dir : str or Path
        A study folder holding ``results.json`` (and ``figures/``).
    image_dir : str, optional
        How the page refers to the figures folder (default ``results_dir/figures``
        relative to the page's folder, as given).

    Returns
    -------
    str
        The page: how the run was made (command, machine, versions, date),
        the fairness rules, the headline figure, the verdicts on the nine
        claims, the tables per task and length, and the other figures. When
        ``results_dir`` holds no ``results.json`` yet, a page that says so,
        with the claims, the fairness rules and the command that makes the run.

    Notes
    -----
    Every number comes from ``results.json`` through :func:`~._aggregate.summarize`
    and :func:`~._verdicts.evaluate_claims`. Taught in lesson 14.

    Examples
    --------
    >>> page = results_page("/no/such/study")
    >>> page.splitlines()[0], "No run is committed yet" in page
    ('The showdown: results', True)
    """
    results_dir = Path(results_dir)
    path = results_dir / "results.json"
    if not path.is_file():
        return _pending_page(results_dir)
    data = json.loads(path.read_text(encoding="utf-8"))
    meta, rows = data["meta"], data["runs"]
    figures = image_dir or f"{results_dir.as_posix()}/figures"
    main = [r for r in rows if r.get("phase", "main") == "main"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    load = meta["machine"].get("load_average_at_start")
    wall = meta.get("wall_s")
    out = [
        "The showdown: results", "======================", "",
        "Which fix works, on which task, at which length? This page shows a committed run of",
        "``linalg-rnn showdown`` (part V, lesson 14). It is generated from the run's",
        "``results.json`` by :func:`linalg_rnn.rnn.showdown.results_page`: every number below",
        "is read from that file.", "",
        "How this run was made", "---------------------", "",
        f"* command: ``{_public_command(meta['command'])}`` (profile ``{meta['profile']['name']}``; "
        "the folder it wrote to left out)",
        f"* date: {meta['date']}; wall time {_g(None if wall is None else wall / 60, '.1f')} minutes "
        f"for {len(main)} reported cells"
        + (f" and {len(rows) - len(main)} sweep cells" if len(rows) > len(main) else "")
        + (" (not counting the sittings killed before they recorded their time)"
           if any(x.get("wall_s") is None for x in meta.get("sittings", [])) else "")
        + (f", over {len(sittings)} sittings ({'; '.join(_sitting(s) for s in sittings)})"
           if len(sittings := meta.get("sittings", [])) > 1 else ""),
        f"* machine: {meta['machine']['platform']}, {meta['machine']['cpu_count']} CPUs"
        + (f", load average {load[0]:.2f} at the start" if load else ""),
        f"* executor {meta['executor']}, {meta['workers']} workers, one torch thread per cell, "
        f"device {meta['device']}; {how_cells_trained(meta)}",
        f"* versions: {versions}",
        "* seconds per step are wall-clock on this machine, shared with other programs (see the load "
        "average): compare them within the run, as ratios", "",
        meta["profile"].get("description", "").replace("\n", " "), "",
        "Fairness rules", "--------------", "", FAIRNESS,
        "Headline", "--------", "",
        *_figure(figures, "headline", (results_dir / "figures" / "headline.png").is_file()),
        "Verdicts on the source claims", "-----------------------------", "",
        "Each claim from the source material, with the rule's verdict and the numbers it read.",
        "*Not decided by this run* comes with the command that would decide it.", "",
    ]
    verdicts = evaluate_claims(rows, timings=meta.get("timings"))
    out += _table(["#", "claim", "verdict", "measured"],
                  [[str(v.claim), CLAIMS[v.claim], f"**{v.status}**",
                    v.evidence + (f" Decide with ``{v.decide}``." if v.decide else "")] for v in verdicts],
                  "verdicts stack-on-phone")
    note = undecided_note(verdicts)  # Markdown's `code` is reST's ``code``
    out += [note.replace("`", "``"), ""] if note else []
    out += _changes_section(results_dir, verdicts)
    lines = summarize(rows)
    out += _sweep_section(meta.get("sweep"))
    tested = any(x["test_ratio_mean"] is not None for x in lines)
    key, stream = ("test_ratio", "held-out test") if tested else ("loss_ratio", "validation")
    out += ["Per task and length", "-------------------", "",
            "Statistics over seeds, one table per task and length. **loss/baseline**: mean ± standard",
            f"deviation of the final {stream} loss over the task's baseline; **95 % CI**: its bootstrap",
            "interval (none under five seeds); **success**: seeds below 10 % of the baseline (and",
            "divergences, if any); **accuracy**: on the same set, for the classification tasks;",
            "**lr**: the learning rate the sweep chose (and, after a slash, W_hh's or the skew",
            "parameter's); **max ‖g‖**: the largest gradient norm, before clipping; **max ‖W_hh‖₂**: the",
            "largest spectral norm of the recurrent matrix over seeds. Seconds per step, the steps to",
            "10 %, validation numbers and the parameter counts are in ``results.csv`` next to",
            "``results.json`` (one row per seed), and in ``summary.md``.", ""]
    if not tested:
        out += ["These rows predate the held-out test stream: the numbers are the validation ones the",
                "verdicts do not read.", ""]
    for pair in dict.fromkeys((x["task"], x["seq_len"]) for x in lines):
        title = f"{pair[0]}, T = {pair[1]}"
        cell = [y for y in lines if (y["task"], y["seq_len"]) == pair]
        out += [title, "~" * len(title), ""]
        constant = [y["trivial_ratio_mean"] for y in cell if y["trivial_ratio_mean"] is not None]
        if constant:
            out += [f"A constant predictor scores {_g(sum(constant) / len(constant))} of the baseline on "
                    "these test sets (the noise check: it should be near 1).", ""]
        # how far a parametrized W_hh moved from its base: expm and cayley differ only where it did
        skews = [f"``{y['strategy']}`` {_g(y['skew_norm_mean'])}"
                 for y in cell if y["skew_norm_mean"] is not None]
        if skews:
            out += ["Final ‖B‖₂ of the skew-symmetric parameter, mean over seeds: " + ", ".join(skews) + ".",
                    ""]
        accuracy = any(y[f"{'test_' if tested else ''}accuracy_mean"] is not None for y in cell)
        body = []
        for x in cell:
            ci = x[f"{key}_ci"]
            successes = x["test_successes"] if tested else x["successes"]
            diverged = f", {x['divergences']} diverged" if x["divergences"] else ""
            acc = x["test_accuracy_mean"] if tested else x["accuracy_mean"]
            body.append([f"``{x['strategy']}``",
                         f"{_g(x[f'{key}_mean'])} ± {_g(x[f'{key}_std'], '.2g')}",
                         "–" if ci is None else f"[{ci[0]:.3g}, {ci[1]:.3g}]",
                         f"{successes}/{x['n']}{diverged}"]
                        + ([_g(None if acc is None else 100 * acc, ".1f") + (" %" if acc is not None else "")]
                           if accuracy else [])
                        + [_lr(x), _g(x["max_grad_norm"]), _g(x["max_w_hh"], ".4g")])
        out += _table(["strategy", "loss/baseline", "95 % CI", "success"] + (["accuracy"] if accuracy else [])
                      + ["lr", "max ‖g‖", "max ‖W_hh‖₂"], body, "per-cell stack-on-phone")
    out += ["Figures", "-------", ""]
    for name in ("loss_curves", "grad_norms", "w_hh_norm", "eigenvalues"):
        out += _figure(figures, name, (results_dir / "figures" / f"{name}.png").is_file())
    out += [PROFILE_FORMAT]
    return "\n".join(out).rstrip() + "\n"


def publish(study_dir: str | Path, dest: str | Path = "docs/results/study",
            page: str | Path = "docs/results.rst") -> Path:
    """Copy a finished study's files to ``dest``, draw its figures there and write the results page.

    Parameters
    ----------
    study_dir : str or Path
        A study folder made by ``linalg-rnn showdown``.
    dest : str or Path, optional
        Where the committed copy lives (``results.json``, ``results.csv``,
        ``summary.md``, ``curves.json``, ``figures/``; not the run
        directories). It may be ``study_dir`` itself: publishing the
        committed copy again redraws its figures and rewrites the page.
    page : str or Path, optional
        The reST page to (re)write; it refers to the figures relative to its folder.

    Returns
    -------
    Path
        ``page``.

    Raises
    ------
    FileNotFoundError
        If ``study_dir`` lacks one of the files.

    Notes
    -----
    The figures are drawn anew from ``results.json`` and ``curves.json`` by
    this version of the code (:mod:`._figures`), not copied, so the page's
    figures always follow the page's code. Without ``curves.json`` only the
    headline figure can be drawn (from the rows); the other figures are
    then left out of the page, which says why.

    Examples
    --------
    >>> publish("/no/such/study")
    Traceback (most recent call last):
        ...
    FileNotFoundError: /no/such/study/results.json does not exist; is the study finished?
    """
    study_dir, dest, page = Path(study_dir), Path(dest), Path(page)
    for name in PUBLISHED:
        if not (study_dir / name).is_file():
            raise FileNotFoundError(f"{study_dir / name} does not exist; is the study finished?")
    dest.mkdir(parents=True, exist_ok=True)
    replaced = dest / "results.json"
    if (replaced.is_file() and (dest / "summary.md").is_file()
            and not replaced.samefile(study_dir / "results.json")):
        _keep_previous_verdicts(dest)  # the run this one replaces: its verdicts, for the page's comparison
    for name in PUBLISHED:
        source, target = study_dir / name, dest / name
        if source.is_file() and not (target.exists() and target.samefile(source)):
            shutil.copyfile(source, target)
    # the curves: read once, written on one line (an older study indented them); none kept from a replaced run
    source, target = study_dir / "curves.json", dest / "curves.json"
    curves = json.loads(source.read_text(encoding="utf-8")) if source.is_file() else None
    if curves is not None:
        atomic_write_json(target, curves, indent=None)
    else:
        target.unlink(missing_ok=True)
    data = json.loads((dest / "results.json").read_text(encoding="utf-8"))
    rows = data["runs"]
    (dest / "summary.md").write_text(summary_text(data["meta"], rows), encoding="utf-8")  # by this code
    (dest / "figures").mkdir(exist_ok=True)
    for name, draw in FIGURES.items():
        target = dest / "figures" / name
        if curves is None and name != "headline.png":
            target.unlink(missing_ok=True)  # drawn by older code from curves this copy does not hold
        else:
            target.write_bytes(figure_png(draw(rows, curves or {})))
    image_dir = dest.resolve().relative_to(page.resolve().parent).as_posix() + "/figures"
    page.write_text(results_page(dest, image_dir=image_dir), encoding="utf-8")
    return page
