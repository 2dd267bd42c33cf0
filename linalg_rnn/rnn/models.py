"""Recurrent models: fused tanh RNN, explicit-loop tanh RNN, LSTM, orthogonal parametrizations.

Three ways to run the same tanh recurrence, one per need:

* :class:`FusedRNN` -- ``torch.nn.RNN``, the whole sequence in one fused
  kernel (cuDNN on a GPU): the fast path of every unparametrized strategy;
* :class:`FunctionalRNN` -- its own weights, :math:`W_{hh}` computed once per
  forward pass (by an ``expm``/``cayley`` parametrization) and fed to the same
  fused kernel, ``torch.rnn_tanh``: the fast path of the parametrized strategies;
* :class:`LoopRNN` -- the recurrence written as a Python loop, so every
  :math:`h_t` can be kept. Every tanh model runs this loop when asked for
  ``keep_hidden=True`` (per-lag gradients), on its own weights.

Every model maps inputs ``x`` of shape ``(B, T, input_size)`` and an optional
initial state to outputs ``(B, T, output_size)`` (a linear readout of every
hidden state) and the final state, so truncated BPTT can carry the state
from one window to the next. Every model also answers two questions the
metrics ask:

* :meth:`recurrent_matrix` -- the *effective* recurrent matrix :math:`W_{hh}`
  (after any parametrization), detached;
* :meth:`recurrent_parameter` -- the leaf ``Parameter`` the optimizer moves
  to change it (``weight_hh_l0`` itself, or the parametrization's ``original``).

The recurrence is :math:`h_t = \\tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`
and the output is :math:`\\hat y_t = W_{hy} h_t + b_y`.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn.utils import parametrize

from .._validation import check_choice, check_int, check_positive_float
from ._orthogonal_maps import ORTHOGONAL_MAPS, SkewOrthogonal
from .strategies import orthogonal_init_

__all__ = [
    "FunctionalRNN",
    "FusedRNN",
    "LSTMModel",
    "LoopRNN",
    "MODEL_KINDS",
    "PARAMETRIZATIONS",
    "build_model",
    "parametrize_orthogonal",
]

MODEL_KINDS = ("fused", "loop", "lstm")
PARAMETRIZATIONS = ORTHOGONAL_MAPS  # the maps SkewOrthogonal knows


def _tanh_loop(x: torch.Tensor, h0: torch.Tensor | None, W_ih: torch.Tensor, W_hh: torch.Tensor,
               bias: torch.Tensor, keep_hidden: bool) -> tuple[torch.Tensor, torch.Tensor, list]:
    """The recurrence as a Python loop: all hidden states (B, T, H), the last one, and the list of h_t.

    ``h0`` is the initial state, zeros when ``None``.
    """
    h = x.new_zeros(x.shape[0], W_hh.shape[0]) if h0 is None else h0
    drive = x @ W_ih.T + bias  # the input projection of every timestep in one product
    hs = []
    for t in range(x.shape[1]):
        h = torch.tanh(drive[:, t] + h @ W_hh.T)
        if keep_hidden:
            h.retain_grad()  # so that after backward, h.grad is dL/dh_t
        hs.append(h)
    return torch.stack(hs, dim=1), h, hs


class _Readout(nn.Module):
    """What every model shares: the readout and the W_hh accessors.

    A model's ``weight_hh_l0`` is its :math:`W_{hh}` (for the fused models,
    a property reading the kernel's own parameter); only the loop models can
    carry a parametrization, so for the others ``is_parametrized`` is False
    and ``recurrent_parameter()`` is ``weight_hh_l0`` itself.
    """

    readout: nn.Linear

    def recurrent_matrix(self) -> torch.Tensor:
        """The effective recurrent matrix :math:`W_{hh}` (after any parametrization), detached."""
        return self.weight_hh_l0.detach()

    def recurrent_parameter(self) -> nn.Parameter:
        """The leaf parameter the optimizer updates to move :math:`W_{hh}`."""
        if self.is_parametrized:
            return self.parametrizations.weight_hh_l0.original
        return self.weight_hh_l0

    @property
    def is_parametrized(self) -> bool:
        """True when :math:`W_{hh}` is computed by a parametrization."""
        return parametrize.is_parametrized(self, "weight_hh_l0")


class FusedRNN(_Readout):
    """Tanh RNN on ``torch.nn.RNN`` (cuDNN on a GPU) with a linear readout.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Sizes of :math:`x_t`, :math:`h_t` and :math:`\\hat y_t`.

    Notes
    -----
    This is the fast path: the whole recurrence runs in one fused kernel.
    Its weights have the names and shapes of ``nn.RNN``'s
    (``weight_hh_l0`` is :math:`W_{hh}`), exposed on this module, so
    ``LoopRNN(...).load_state_dict(fused.state_dict())`` gives the same
    function computed step by step. ``nn.RNN``'s own weights must not be
    parametrized (PyTorch issue 65688: cuDNN's flattened copy of the weights
    stops following them); a parametrized :math:`W_{hh}` runs on the same
    kernel through :class:`FunctionalRNN`. ``keep_hidden=True`` runs the
    explicit loop on these weights instead (for per-lag gradients).
    Taught in lesson 13.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> model = FusedRNN(3, 8, 2)
    >>> y, h = model(torch.zeros(4, 5, 3))
    >>> y.shape, h.shape, model.recurrent_matrix().shape
    (torch.Size([4, 5, 2]), torch.Size([4, 8]), torch.Size([8, 8]))
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, nonlinearity="tanh", batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)

    @property
    def weight_hh_l0(self) -> nn.Parameter:
        """:math:`W_{hh}`, the ``nn.RNN`` parameter itself (not a copy)."""
        return self.rnn.weight_hh_l0

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None, *, keep_hidden: bool = False):
        """Outputs ``(B, T, output_size)`` and the last hidden state ``(B, H)``.

        With ``keep_hidden=True`` the explicit loop runs on the same weights
        and a third value is returned, the list of every :math:`h_t` (see
        :meth:`LoopRNN.forward`).
        """
        if keep_hidden:
            rnn = self.rnn
            hs, h, h_list = _tanh_loop(x, h0, rnn.weight_ih_l0, rnn.weight_hh_l0,
                                       rnn.bias_ih_l0 + rnn.bias_hh_l0, keep_hidden=True)
            return self.readout(hs), h, h_list
        hs, h_last = self.rnn(x, None if h0 is None else h0.unsqueeze(0))
        return self.readout(hs), h_last.squeeze(0)

    def state_dict_for_loop(self) -> dict:
        """The weights under :class:`LoopRNN`'s names, to build the same function as a loop."""
        return {
            **self.rnn.state_dict(),
            **{f"readout.{k}": v for k, v in self.readout.state_dict().items()},
        }


class LoopRNN(_Readout):
    """Tanh RNN written as an explicit loop over time, with ``nn.RNN``'s parameters.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Sizes of :math:`x_t`, :math:`h_t` and :math:`\\hat y_t`.

    Notes
    -----
    Parameters ``weight_ih_l0`` (:math:`W_{ih}`), ``weight_hh_l0``
    (:math:`W_{hh}`), ``bias_ih_l0``, ``bias_hh_l0`` are initialized like
    ``nn.RNN`` (uniform on :math:`\\pm 1/\\sqrt{H}`). The input projection of
    all timesteps is one matrix product; only :math:`W_{hh} h_{t-1}` runs in
    the Python loop. Slower than :class:`FusedRNN`, but :math:`W_{hh}` may be
    parametrized and every :math:`h_t` can be kept for per-lag gradients.
    The effective :math:`W_{hh}` is computed once per forward pass, so a
    parametrization costs one matrix function per step, not per timestep.
    Taught in lesson 13.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> fused = FusedRNN(3, 8, 2)
    >>> loop = LoopRNN(3, 8, 2)
    >>> _ = loop.load_state_dict(fused.state_dict_for_loop())
    >>> x = torch.randn(4, 6, 3)
    >>> torch.allclose(loop(x)[0], fused(x)[0], atol=1e-6)
    True
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        H = hidden_size
        self.hidden_size = H
        self.weight_ih_l0 = nn.Parameter(torch.empty(H, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(H, H))
        self.bias_ih_l0 = nn.Parameter(torch.empty(H))
        self.bias_hh_l0 = nn.Parameter(torch.empty(H))
        bound = H**-0.5
        for p in (self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0):
            nn.init.uniform_(p, -bound, bound)
        self.readout = nn.Linear(H, output_size)

    def forward(
        self, x: torch.Tensor, h0: torch.Tensor | None = None, *, keep_hidden: bool = False
    ):
        """Outputs ``(B, T, output_size)`` and the last hidden state ``(B, H)``.

        With ``keep_hidden=True`` a third value is returned: the list of every
        :math:`h_t` (each with ``retain_grad()``, so after ``backward`` its
        ``.grad`` is :math:`\\partial L / \\partial h_t`).
        """
        W_hh = self.weight_hh_l0  # evaluated once: a parametrization runs once per forward
        hs, h, h_list = _tanh_loop(x, h0, self.weight_ih_l0, W_hh, self.bias_ih_l0 + self.bias_hh_l0,
                                   keep_hidden)
        out = self.readout(hs)
        return (out, h, h_list) if keep_hidden else (out, h)


class FunctionalRNN(LoopRNN):
    """:class:`LoopRNN`'s weights on the fused kernel: :math:`W_{hh}` computed once, then fed to it.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Sizes of :math:`x_t`, :math:`h_t` and :math:`\\hat y_t`.

    Notes
    -----
    The parameters, their initialization and their names are
    :class:`LoopRNN`'s, so :math:`W_{hh}` can carry an orthogonal
    parametrization (:func:`parametrize_orthogonal`). The forward pass reads
    ``self.weight_hh_l0`` once -- the parametrization runs once, e.g. one
    matrix exponential -- and hands the four weights to ``torch.rnn_tanh``,
    the op behind ``nn.RNN`` (cuDNN on a GPU, a C++ loop on the CPU).
    Gradients flow through the fused kernel to the computed :math:`W_{hh}`
    and on to the parametrization's unconstrained matrix. Unlike
    parametrizing ``nn.RNN`` itself (PyTorch issue 65688), nothing holds a
    stale copy of the weight. ``keep_hidden=True`` runs the explicit loop.
    Taught in lesson 13.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> fused = FunctionalRNN(3, 8, 2)
    >>> loop = LoopRNN(3, 8, 2)
    >>> _ = loop.load_state_dict(fused.state_dict())
    >>> x = torch.randn(4, 6, 3)
    >>> torch.allclose(loop(x)[0], fused(x)[0], atol=1e-6)
    True
    """

    def forward(
        self, x: torch.Tensor, h0: torch.Tensor | None = None, *, keep_hidden: bool = False
    ):
        """Outputs ``(B, T, output_size)`` and the last hidden state ``(B, H)`` (see :class:`LoopRNN`)."""
        if keep_hidden:
            return super().forward(x, h0, keep_hidden=True)
        W_hh = self.weight_hh_l0  # the parametrization, once per forward pass
        h = x.new_zeros(1, x.shape[0], self.hidden_size) if h0 is None else h0.unsqueeze(0)
        weights = [self.weight_ih_l0, W_hh, self.bias_ih_l0, self.bias_hh_l0]
        with warnings.catch_warnings():
            # cuDNN copies weights that are not one flat buffer, and says so: here that is the point
            warnings.filterwarnings("ignore", message="RNN module weights are not part")
            hs, h_last = torch.rnn_tanh(x, h, weights, True, 1, 0.0, self.training, False, True)
        return self.readout(hs), h_last.squeeze(0)


class LSTMModel(_Readout):
    """LSTM (``torch.nn.LSTM``) with a linear readout: the gated reference model.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Sizes of :math:`x_t`, :math:`h_t` and :math:`\\hat y_t`.

    Notes
    -----
    ``nn.LSTM``'s ``weight_hh_l0`` stacks four :math:`H \\times H` blocks (input,
    forget, cell, output gates). For the square-matrix metrics,
    :meth:`recurrent_matrix` returns the cell-candidate block :math:`W_{hg}`
    (rows ``2H:3H``), the one that plays the part of a plain RNN's
    :math:`W_{hh}`. The LSTM's memory does not rely on :math:`W_{hh}` being
    orthogonal: the additive cell state carries it. Taught in lesson 13.

    Examples
    --------
    >>> model = LSTMModel(3, 8, 2)
    >>> y, (h, c) = model(torch.zeros(4, 5, 3))
    >>> y.shape, model.recurrent_matrix().shape
    (torch.Size([4, 5, 2]), torch.Size([8, 8]))
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)

    @property
    def weight_hh_l0(self) -> nn.Parameter:
        """The stacked ``(4H, H)`` recurrent weight of ``nn.LSTM``."""
        return self.lstm.weight_hh_l0

    def recurrent_matrix(self) -> torch.Tensor:
        """The cell-candidate block :math:`W_{hg}` of the recurrent weight, detached."""
        H = self.lstm.hidden_size
        return self.lstm.weight_hh_l0.detach()[2 * H : 3 * H]

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        """Outputs ``(B, T, output_size)`` and the last state ``(h, c)``, each ``(B, H)``."""
        if state is not None:
            state = (state[0].unsqueeze(0), state[1].unsqueeze(0))
        hs, (h, c) = self.lstm(x, state)
        return self.readout(hs), (h.squeeze(0), c.squeeze(0))


def parametrize_orthogonal(model: LoopRNN, orthogonal_map: str) -> LoopRNN:
    """Make :math:`W_{hh}` of a :class:`LoopRNN` or :class:`FunctionalRNN` orthogonal by construction.

    Parameters
    ----------
    model : LoopRNN or FunctionalRNN
        Modified in place (and returned).
    orthogonal_map : {"matrix_exp", "cayley"}
        :math:`W_{hh} = B \\exp(A)` or :math:`B (I + A/2)^{-1}(I - A/2)`
        (up to sign convention), :math:`A` skew-symmetric.

    Returns
    -------
    LoopRNN
        The same model.

    Raises
    ------
    TypeError
        If the model is not a :class:`LoopRNN` (or its subclass
        :class:`FunctionalRNN`).

    Notes
    -----
    Registers :class:`~linalg_rnn.rnn._orthogonal_maps.SkewOrthogonal` with
    ``torch.nn.utils.parametrize``: the dynamic trivialization of
    ``torch.nn.utils.parametrizations.orthogonal`` (the optimizer moves an
    unconstrained matrix whose skew-symmetric part :math:`A` is mapped onto
    the orthogonal group, so :math:`W_{hh}^\\top W_{hh} = I` holds to rounding
    at every step with no projection), with an exponential whose gradient
    costs two evaluations instead of eight. If :math:`W_{hh}` is already
    orthogonal (from an orthogonal init) it is kept as the base :math:`B`;
    otherwise it is replaced by its sign-corrected QR factor. Taught in
    lesson 13.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> m = parametrize_orthogonal(LoopRNN(2, 6, 1), "cayley")
    >>> W = m.recurrent_matrix()
    >>> torch.allclose(W.T @ W, torch.eye(6), atol=1e-5), m.is_parametrized
    (True, True)
    """
    if not isinstance(model, LoopRNN):
        raise TypeError(
            f"orthogonal parametrizations need a LoopRNN or FunctionalRNN, got {type(model).__name__} "
            "(parametrizing nn.RNN's own weight can silently stop W_hh training: PyTorch issue 65688)"
        )
    skew = SkewOrthogonal(orthogonal_map)  # refuses a map it does not know, before anything changes
    parametrize.register_parametrization(model, "weight_hh_l0", skew)
    return model


def build_model(
    kind: str,
    input_size: int,
    hidden_size: int,
    output_size: int,
    *,
    parametrization: str | None = None,
    init_scheme: str | None = None,
    init_gain: float = 1.0,
) -> nn.Module:
    """Build a model by name: its kernel, its starting :math:`W_{hh}`, its parametrization.

    Parameters
    ----------
    kind : {"fused", "loop", "lstm"}
        The fused kernel (:class:`FusedRNN`, or :class:`FunctionalRNN` when
        parametrized), the explicit loop (:class:`LoopRNN`), or
        :class:`LSTMModel`.
    input_size, hidden_size, output_size : int
        Layer sizes.
    parametrization : {None, "matrix_exp", "cayley"}
        Orthogonal parametrization of :math:`W_{hh}` (tanh RNNs only).
    init_scheme : str, optional
        Start from an orthogonal :math:`W_{hh}` drawn by this scheme
        (:func:`~linalg_rnn.rnn.strategies.orthogonal_matrix`).
    init_gain : float, optional
        Multiplies the starting :math:`W_{hh}` (after ``init_scheme``).

    Returns
    -------
    torch.nn.Module
        On the CPU, initialized from torch's global generator (seed it, or
        wrap the call in ``torch.random.fork_rng``). The parametrization is
        registered last, so it starts from the initialized :math:`W_{hh}`.

    Raises
    ------
    ValueError
        For an unknown kind, parametrization or scheme, a parametrization or
        an init scheme on an LSTM, or a gain that is not a positive number.

    Examples
    --------
    >>> m = build_model("loop", 1, 4, 1, parametrization="matrix_exp")
    >>> isinstance(m, LoopRNN), m.is_parametrized
    (True, True)
    >>> isinstance(build_model("fused", 1, 4, 1, parametrization="cayley"), FunctionalRNN)
    True
    >>> build_model("lstm", 1, 4, 1, parametrization="cayley")
    Traceback (most recent call last):
        ...
    ValueError: parametrization 'cayley' needs kind='loop' or 'fused' (a tanh RNN), not 'lstm'
    """
    check_choice(kind, "model kind", MODEL_KINDS)
    for value, name in ((input_size, "input_size"), (hidden_size, "hidden_size"),
                        (output_size, "output_size")):
        check_int(value, name, minimum=1)
    check_positive_float(init_gain, "init_gain")
    if parametrization is not None:
        check_choice(parametrization, "parametrization", PARAMETRIZATIONS)
    if kind == "lstm" and (parametrization is not None or init_scheme is not None):
        what = f"parametrization {parametrization!r}" if parametrization else f"init_scheme {init_scheme!r}"
        raise ValueError(f"{what} needs kind='loop' or 'fused' (a tanh RNN), not 'lstm'")
    if kind == "fused" and parametrization is not None:
        cls = FunctionalRNN  # the fused kernel, fed the computed W_hh
    else:
        cls = {"fused": FusedRNN, "loop": LoopRNN, "lstm": LSTMModel}[kind]
    model = cls(input_size, hidden_size, output_size)
    W = model.recurrent_parameter()
    if init_scheme is not None:
        orthogonal_init_(W, init_scheme)
    if init_gain != 1.0:
        with torch.no_grad():
            W.mul_(init_gain)
    if parametrization is not None:
        parametrize_orthogonal(model, parametrization)
    return model
