"""What the trainer measures: norms and spectra of W_hh, gradient norms, per-lag gradients, curves.

Cheap metrics are read every step: the training loss and the gradient norms
stay on the device as 0-d tensors (:func:`gradient_norm` does not
synchronize) and the trainer reads them back together, in one transfer.
The metrics that need a factorization of :math:`W_{hh}`
(:func:`recurrent_metrics`) cost :math:`O(H^3)`; they are the textbook's
own functions -- :func:`linalg_rnn.orthogonal.orthogonality_error` and
:func:`linalg_rnn.eigen.spectral_radius` -- on a float64 NumPy copy of
:math:`W_{hh}` on the CPU, whatever the training device (MPS has no float64
and no eigensolver; a GPU solver would synchronize anyway), every
``norm_every`` and ``spectral_every`` steps; see
:class:`~linalg_rnn.rnn.config.TrainConfig`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .._scaling import spectral_norm
from ..eigen import spectral_radius
from ..orthogonal import orthogonality_error

__all__ = [
    "gradient_norm",
    "hidden_gradient_norms",
    "plot_run",
    "plot_runs",
    "recurrent_metrics",
]


def recurrent_metrics(W: torch.Tensor, *, with_spectral_radius: bool = True) -> dict[str, float | None]:
    """The three :math:`O(H^3)` metrics of :math:`W_{hh}` in one dict.

    Parameters
    ----------
    W : torch.Tensor
        The effective recurrent matrix (``model.recurrent_matrix()``), on any device.
    with_spectral_radius : bool, optional
        Also compute the spectral radius (a nonsymmetric eigensolver, the
        costly one); ``False`` gives ``None`` for it.

    Returns
    -------
    dict
        ``w_hh_spectral_norm`` (:math:`\\|W\\|_2`), ``w_hh_max_abs_eigenvalue``
        (the spectral radius :math:`\\rho(W) = \\max_i |\\lambda_i|`; the key keeps
        the name of the committed results) and ``orthogonality_error``
        (:math:`\\|W^\\top W - I\\|_2`). All three are NaN for a matrix
        holding NaN or inf (written as null).

    Notes
    -----
    One copy of :math:`W` to the CPU in float64, then the book's functions:
    :func:`linalg_rnn.orthogonal.orthogonality_error` (lesson 04) and
    :func:`linalg_rnn.eigen.spectral_radius` (lesson 03).
    :math:`\\rho(W) \\le \\|W\\|_2`, with equality for normal (e.g. orthogonal)
    matrices: :math:`\\rho` governs :math:`\\|W^t\\|` for large :math:`t`,
    :math:`\\|W\\|_2` bounds every single step. Taught in lesson 13.

    Examples
    --------
    >>> recurrent_metrics(torch.eye(2))
    {'w_hh_spectral_norm': 1.0, 'w_hh_max_abs_eigenvalue': 1.0, 'orthogonality_error': 0.0}
    >>> recurrent_metrics(2 * torch.eye(2), with_spectral_radius=False)
    {'w_hh_spectral_norm': 2.0, 'w_hh_max_abs_eigenvalue': None, 'orthogonality_error': 3.0}
    """
    W = W.detach().cpu().double().numpy()
    if not np.isfinite(W).all():  # a run that diverged: nothing to factor
        nan = math.nan
        return {"w_hh_spectral_norm": nan, "w_hh_max_abs_eigenvalue": nan, "orthogonality_error": nan}
    return {
        "w_hh_spectral_norm": spectral_norm(W),
        "w_hh_max_abs_eigenvalue": spectral_radius(W) if with_spectral_radius else None,
        "orthogonality_error": orthogonality_error(W),
    }


def gradient_norm(parameters: Iterable[torch.Tensor]) -> torch.Tensor:
    """The L2 norm of all gradients together, as a 0-d tensor (no synchronization).

    Parameters
    ----------
    parameters : iterable of torch.Tensor
        Parameters; those without ``.grad`` are skipped.

    Returns
    -------
    torch.Tensor
        :math:`\\sqrt{\\sum_p \\|\\nabla_p L\\|^2}`, on the gradients' device; 0
        when no gradient exists.

    Notes
    -----
    The norm of the per-parameter norms: the same number as
    ``torch.nn.utils.clip_grad_norm_`` returns, with no host read.

    Examples
    --------
    >>> p = torch.nn.Parameter(torch.zeros(2)); p.grad = torch.tensor([3.0, 4.0])
    >>> gradient_norm([p]).item()
    5.0
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def hidden_gradient_norms(model: torch.nn.Module, task, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """:math:`\\|\\partial L / \\partial h_t\\|` for every timestep, through the explicit loop.

    Parameters
    ----------
    model : FusedRNN, FunctionalRNN or LoopRNN (a tanh or modReLU RNN)
        The model; it runs its recurrence as the explicit loop on its own
        weights (``keep_hidden=True``), on their device, so every
        :math:`h_t` exists. Its own gradients are not touched.
    task : SequenceTask
        Supplies the loss.
    x, y : torch.Tensor
        One batch.

    Returns
    -------
    list of float
        Entry ``t`` is the Frobenius norm over the batch of
        :math:`\\partial L / \\partial h_t`. With the loss at the last step
        only (adding, digits), entry ``t`` is the gradient that has travelled
        back ``T - 1 - t`` steps: its decay or growth with the lag is the
        vanishing/exploding gradient itself. The ``T`` norms are read back
        in one transfer.

    Raises
    ------
    TypeError
        For an LSTM (its hidden state is a pair).

    Examples
    --------
    >>> from linalg_rnn.rnn.models import FusedRNN
    >>> from linalg_rnn.rnn.tasks import AddingTask
    >>> _ = torch.manual_seed(0)
    >>> task = AddingTask(10)
    >>> x, y = task.sample(4, torch.Generator().manual_seed(0))
    >>> norms = hidden_gradient_norms(FusedRNN(2, 8, 1), task, x, y)
    >>> len(norms), norms[-1] > norms[0]
    (10, True)
    """
    from .models import FusedRNN, ParametrizableRNN

    if not isinstance(model, (FusedRNN, ParametrizableRNN)):
        raise TypeError(f"per-lag gradients need a tanh RNN, got {type(model).__name__}")
    with torch.enable_grad():
        out, _, hs = model(x, keep_hidden=True)
        torch.autograd.backward(task.loss(out, y), inputs=hs)
    norms = [torch.linalg.vector_norm(h.grad) if h.grad is not None else h.new_zeros(()) for h in hs]
    return torch.stack(norms).tolist()  # one transfer for all T norms


def _plain(*axes: Axes) -> None:
    """Tick labels as plain numbers: no offset (``1e-8+1``) and no scientific factor on linear axes."""
    for ax in axes:
        ax.ticklabel_format(style="plain", useOffset=False)


def _series(rows: Sequence[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None and math.isfinite(r[key])]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_run(
    rows: Sequence[dict],
    *,
    title: str = "",
    baseline_loss: float | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Loss, gradient norm (log scale) and :math:`\\|W_{hh}\\|_2` curves of one run, side by side.

    Parameters
    ----------
    rows : sequence of dict
        The rows of ``metrics.jsonl``.
    title : str, optional
        Figure title.
    baseline_loss : float, optional
        Drawn as a dashed line on the loss panel.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into (see :func:`plot_runs`).

    Returns
    -------
    matplotlib.figure.Figure
        ``fig``, or a new figure made without pyplot (no global state,
        nothing shown).

    Examples
    --------
    >>> rows = [{"step": s, "train_loss": 1 / s, "grad_norm": 1.0, "w_hh_spectral_norm": 1.0}
    ...         for s in range(1, 5)]
    >>> len(plot_run(rows).axes)
    3
    """
    fig = fig if fig is not None else Figure(figsize=(12, 3.4), layout="constrained")
    ax_loss, ax_grad, ax_norm = fig.subplots(1, 3)
    ax_loss.plot(*_series(rows, "train_loss"), label="train")
    steps, val = _series(rows, "val_loss")
    if steps:
        ax_loss.plot(steps, val, "o-", label="validation")
    if baseline_loss is not None:
        ax_loss.axhline(baseline_loss, color="gray", ls="--", label="baseline")
    ax_loss.set(xlabel="step", ylabel="loss", title="loss")
    ax_loss.legend()
    ax_grad.semilogy(*_series(rows, "grad_norm"), label="total")
    steps, g_hh = _series(rows, "grad_norm_w_hh")
    if steps:
        ax_grad.semilogy(steps, g_hh, label="W_hh")
    ax_grad.set(xlabel="step", ylabel="L2 norm (before clipping)", title="gradient norm")
    ax_grad.legend()
    ax_norm.plot(*_series(rows, "w_hh_spectral_norm"), ".-")
    ax_norm.axhline(1.0, color="gray", ls="--")
    ax_norm.set(xlabel="step", ylabel="||W_hh||_2", title="spectral norm of W_hh")
    _plain(ax_loss, ax_norm)  # a W_hh held at 1 to 1e-8 reads 1.0, not "1e-8+1"
    if title:
        fig.suptitle(title)
    return fig


def plot_runs(
    runs: Mapping[str, Sequence[dict]],
    *,
    baseline_loss: float | None = None,
    title: str = "",
    fig: Figure | None = None,
) -> Figure:
    """Several runs side by side: training loss, gradient norm (log) and :math:`\\|W_{hh}\\|_2`.

    Parameters
    ----------
    runs : mapping of str to sequence of dict
        A label per run and its metrics rows (``TrainResult.history`` or
        ``metrics.jsonl``).
    baseline_loss : float, optional
        The task's trivial baseline, dashed on the loss panel.
    title : str, optional
        Figure title.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into. A lesson passes ``plt.figure(...)``, so
        that pyplot holds the figure and sphinx-gallery and
        ``linalg-rnn lessons`` save it; by default a new figure is made
        without pyplot (nothing shown, no global state), as a run directory's
        ``curves.png`` needs.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels, one line per run in the same color on each.

    Notes
    -----
    The :math:`\\|W_{hh}\\|_2` panel draws every row that has the norm, so a
    run with ``norm_every=1`` shows it step by step (for a projection run:
    the drift away from 1 between two projections), one with
    ``spectral_every=10`` every tenth step. Taught in lesson 13.

    Examples
    --------
    >>> rows = [{"step": s, "train_loss": 1 / s, "grad_norm": 1.0, "w_hh_spectral_norm": 1.0}
    ...         for s in range(1, 5)]
    >>> fig = plot_runs({"a": rows, "b": rows}, baseline_loss=1.0)
    >>> [ax.get_title() for ax in fig.axes]
    ['training loss', 'gradient norm (before clipping)', 'spectral norm of W_hh']
    >>> len(fig.axes[0].get_lines())  # two runs and the baseline
    3
    >>> import matplotlib.pyplot as plt
    >>> shown = plot_runs({"a": rows}, fig=plt.figure())
    >>> shown.number in plt.get_fignums()  # pyplot holds it: a lesson's runner saves it
    True
    >>> plt.close(shown)
    """
    fig = fig if fig is not None else Figure(figsize=(15, 4.2), layout="constrained")
    ax_loss, ax_grad, ax_norm = fig.subplots(1, 3)
    for i, (label, rows) in enumerate(runs.items()):
        color = f"C{i % 10}"
        ax_loss.plot(*_series(rows, "train_loss"), color=color, lw=1, label=label)
        ax_grad.semilogy(*_series(rows, "grad_norm"), color=color, lw=1)
        ax_norm.plot(*_series(rows, "w_hh_spectral_norm"), color=color, lw=1.2)
    if baseline_loss is not None:
        ax_loss.axhline(baseline_loss, color="gray", ls="--")
    ax_norm.axhline(1.0, color="gray", ls=":", lw=0.8)
    ax_loss.set(xlabel="step", ylabel="loss", title="training loss")
    ax_grad.set(xlabel="step", ylabel="L2 norm", title="gradient norm (before clipping)")
    ax_norm.set(xlabel="step", ylabel="||W_hh||_2", title="spectral norm of W_hh")
    _plain(ax_loss, ax_norm)
    ax_loss.legend(fontsize=8, ncol=2)
    if title:
        fig.suptitle(title)
    return fig
