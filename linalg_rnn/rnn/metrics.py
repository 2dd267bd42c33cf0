"""What the trainer measures: norms and spectra of W_hh, gradient norms, per-lag gradients, curves.

Cheap metrics are read every logged step: the training loss and the
gradient norms (one ``.item()`` each; on a GPU, a synchronization). The
metrics that need a factorization of :math:`W_{hh}` -- :func:`spectral_norm`
(an SVD), :func:`max_abs_eigenvalue` (a nonsymmetric eigensolver) and
:func:`orthogonality_error` (an SVD of :math:`W^\\top W - I`) -- cost
:math:`O(H^3)` and run every ``spectral_every`` steps; see
:class:`~linalg_rnn.rnn.trainer.TrainConfig`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from matplotlib.figure import Figure

__all__ = [
    "gradient_norm",
    "hidden_gradient_norms",
    "max_abs_eigenvalue",
    "orthogonality_error",
    "plot_run",
    "recurrent_metrics",
    "spectral_norm",
]


def spectral_norm(W: torch.Tensor) -> float:
    """:math:`\\|W\\|_2`, the largest singular value.

    Parameters
    ----------
    W : torch.Tensor
        A matrix.

    Returns
    -------
    float

    Notes
    -----
    One SVD. The factor by which one step of the linear recurrence can
    stretch a hidden state; above 1 the repeated product can explode.
    Taught in lesson 13.

    Examples
    --------
    >>> spectral_norm(torch.tensor([[3.0, 0.0], [0.0, 0.5]]))
    3.0
    """
    return torch.linalg.matrix_norm(W.detach().double(), ord=2).item()


def max_abs_eigenvalue(W: torch.Tensor) -> float:
    """The spectral radius :math:`\\max_i |\\lambda_i(W)|` of a square matrix.

    Parameters
    ----------
    W : torch.Tensor
        A square matrix.

    Returns
    -------
    float

    Notes
    -----
    :math:`\\rho(W) \\le \\|W\\|_2`, with equality for normal (e.g.
    orthogonal) matrices. :math:`\\rho` governs :math:`\\|W^t\\|` for large
    :math:`t`; :math:`\\|W\\|_2` bounds every single step. Taught in lesson 13.

    Examples
    --------
    >>> max_abs_eigenvalue(torch.tensor([[0.0, 2.0], [0.0, 0.5]]))
    0.5
    """
    return torch.linalg.eigvals(W.detach().double()).abs().max().item()


def orthogonality_error(W: torch.Tensor) -> float:
    """:math:`\\|W^\\top W - I\\|_2`: 0 for an orthogonal matrix.

    Parameters
    ----------
    W : torch.Tensor
        A square matrix.

    Returns
    -------
    float

    Notes
    -----
    Same definition as :func:`linalg_rnn.orthogonal.orthogonality_error`,
    in torch so it runs on the training device. Taught in lesson 13.

    Examples
    --------
    >>> orthogonality_error(torch.eye(3))
    0.0
    >>> orthogonality_error(2 * torch.eye(3))
    3.0
    """
    W = W.detach().double()
    eye = torch.eye(W.shape[1], dtype=W.dtype, device=W.device)
    return torch.linalg.matrix_norm(W.T @ W - eye, ord=2).item()


def recurrent_metrics(W: torch.Tensor) -> dict[str, float]:
    """The three :math:`O(H^3)` metrics of :math:`W_{hh}` in one dict.

    Parameters
    ----------
    W : torch.Tensor
        The effective recurrent matrix (``model.recurrent_matrix()``).

    Returns
    -------
    dict
        ``w_hh_spectral_norm``, ``w_hh_max_abs_eigenvalue``, ``orthogonality_error``.

    Notes
    -----
    One SVD gives both norms: with singular values :math:`\\sigma_i`,
    :math:`\\|W\\|_2 = \\max_i \\sigma_i` and, since
    :math:`W^\\top W = V \\Sigma^2 V^\\top`,
    :math:`\\|W^\\top W - I\\|_2 = \\max_i |\\sigma_i^2 - 1|`. The eigenvalues
    need a second, nonsymmetric, factorization (the most expensive of the three).

    Examples
    --------
    >>> recurrent_metrics(torch.eye(2))
    {'w_hh_spectral_norm': 1.0, 'w_hh_max_abs_eigenvalue': 1.0, 'orthogonality_error': 0.0}
    """
    sigma = torch.linalg.svdvals(W.detach().double())  # one SVD serves two metrics
    return {
        "w_hh_spectral_norm": sigma.max().item(),
        "w_hh_max_abs_eigenvalue": max_abs_eigenvalue(W),
        # W^T W = V diag(sigma^2) V^T, so ||W^T W - I||_2 = max |sigma_i^2 - 1|
        "orthogonality_error": (sigma**2 - 1).abs().max().item(),
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
        :math:`\\sqrt{\\sum_p \\|\\nabla_p L\\|^2}`; 0 when no gradient exists.

    Examples
    --------
    >>> p = torch.nn.Parameter(torch.zeros(2)); p.grad = torch.tensor([3.0, 4.0])
    >>> gradient_norm([p]).item()
    5.0
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads, 2.0)


def hidden_gradient_norms(model: torch.nn.Module, task, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """:math:`\\|\\partial L / \\partial h_t\\|` for every timestep, on an explicit-loop copy.

    Parameters
    ----------
    model : FusedRNN or LoopRNN
        The model; a fused model's weights are copied into a
        :class:`~linalg_rnn.rnn.models.LoopRNN` so every :math:`h_t` exists.
        Its own gradients are not touched.
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
        vanishing/exploding gradient itself.

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
    from .models import FusedRNN, LoopRNN

    if isinstance(model, FusedRNN):
        loop = LoopRNN(model.rnn.input_size, model.rnn.hidden_size, model.readout.out_features)
        loop.load_state_dict(model.state_dict_for_loop())
        loop = loop.to(x.device)
    elif isinstance(model, LoopRNN):
        loop = model
    else:
        raise TypeError(f"per-lag gradients need a tanh RNN, got {type(model).__name__}")
    with torch.enable_grad():
        out, _, hs = loop(x, keep_hidden=True)
        torch.autograd.backward(task.loss(out, y), inputs=hs)
    return [h.grad.norm().item() if h.grad is not None else 0.0 for h in hs]


def _series(rows: Sequence[dict], key: str) -> tuple[list[int], list[float]]:
    pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None and math.isfinite(r[key])]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_run(rows: Sequence[dict], *, title: str = "", baseline_loss: float | None = None) -> Figure:
    """Loss, gradient norm (log scale) and :math:`\\|W_{hh}\\|_2` curves of one run, side by side.

    Parameters
    ----------
    rows : sequence of dict
        The rows of ``metrics.jsonl``.
    title : str, optional
        Figure title.
    baseline_loss : float, optional
        Drawn as a dashed line on the loss panel.

    Returns
    -------
    matplotlib.figure.Figure
        Made without pyplot (no global state, nothing shown).

    Examples
    --------
    >>> rows = [{"step": s, "train_loss": 1 / s, "grad_norm": 1.0, "w_hh_spectral_norm": 1.0}
    ...         for s in range(1, 5)]
    >>> len(plot_run(rows).axes)
    3
    """
    fig = Figure(figsize=(12, 3.4), layout="constrained")
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
    if title:
        fig.suptitle(title)
    return fig
