"""Recurrent models: the tanh RNN on nn.RNN, RNNs with their own weights (explicit loop or one op), the LSTM.

The class tree says what each model is:

.. code-block:: text

    RecurrentModel        the readout and the W_hh accessors every model shares
    |-- FusedRNN          tanh RNN on torch.nn.RNN, the whole sequence in one fused kernel (cuDNN)
    |-- ParametrizableRNN its own W_ih, W_hh and biases (nn.RNN's names), so W_hh can carry an
    |   |                 orthogonal parametrization; activation tanh or modReLU
    |   |-- LoopRNN       runs the recurrence as an explicit Python loop: every h_t can be kept
    |   `-- FunctionalRNN runs it as one op on W_hh computed once per forward pass: torch.rnn_tanh
    |                     (the kernel behind nn.RNN) for tanh, modrelu_recurrence for modReLU
    `-- LSTMModel         torch.nn.LSTM, forget-gate bias 1 (or chrono init)

:class:`FusedRNN` is the fast path of every unparametrized tanh strategy,
:class:`FunctionalRNN` that of the parametrized ones (``expm``, ``cayley``)
and of modReLU, :class:`LoopRNN` the reference they are tested against.
Every tanh model runs the explicit loop on its own weights when asked for
``keep_hidden=True`` (per-lag gradients).

Every model maps inputs ``x`` of shape ``(N, T, input_size)`` and an optional
initial state to outputs ``(N, T, output_size)`` (a linear readout of every
hidden state) and the final state, so truncated BPTT can carry the state
from one window to the next. Every model also answers the questions the
metrics ask:

* :meth:`~RecurrentModel.recurrent_matrix` -- the *effective* recurrent
  matrix :math:`W_{hh}` (after any parametrization), detached;
* :meth:`~RecurrentModel.recurrent_parameter` -- the leaf ``Parameter`` the
  optimizer moves to change it (``weight_hh_l0`` itself, or the
  parametrization's ``original``);
* :meth:`~RecurrentModel.skew_norm` -- :math:`\\|B\\|_2` of the skew-symmetric
  matrix of an ``expm``/``cayley`` parametrization: how far the optimizer
  has moved :math:`W_{hh}` from its base.

The recurrence is :math:`h_t = f(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`
with :math:`f` tanh or modReLU, and the output is :math:`\\hat y_t = W_{hy} h_t + b_y`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import parametrize

from .._validation import check_choice, check_int, check_positive_float, check_real
from ..eigen import spectral_radius
from ._modrelu import modrelu, modrelu_recurrence
from ._orthogonal_maps import ORTHOGONAL_MAPS, SKEW_INIT_SCHEMES, SkewOrthogonal, skew_init
from ._parameter_count import ACTIVATIONS, MODEL_KINDS, equal_parameter_lstm_hidden, parameter_count
from .strategies import canonical_init_scheme, orthogonal_init_

__all__ = [
    "ACTIVATIONS",
    "FunctionalRNN",
    "FusedRNN",
    "LSTMModel",
    "LSTM_GATES",
    "LoopRNN",
    "MODEL_KINDS",
    "PARAMETRIZATIONS",
    "ParametrizableRNN",
    "RecurrentModel",
    "build_model",
    "equal_parameter_lstm_hidden",
    "parameter_count",
    "parametrize_orthogonal",
]

PARAMETRIZATIONS = tuple(ORTHOGONAL_MAPS)  # "expm", "cayley": the strategies' own words
LSTM_GATES = ("i", "f", "g", "o")  # the order of nn.LSTM's four stacked blocks


def _explicit_loop(x: torch.Tensor, h0: torch.Tensor | None, W_ih: torch.Tensor, W_hh: torch.Tensor,
                   bias: torch.Tensor, f: Callable[[torch.Tensor], torch.Tensor],
                   keep_hidden: bool) -> tuple[torch.Tensor, torch.Tensor, list]:
    """The recurrence as a Python loop: all hidden states (N, T, H), the last one, and the list of h_t.

    ``h0`` is the initial state, zeros when ``None``; ``f`` the activation.
    """
    h = x.new_zeros(x.shape[0], W_hh.shape[0]) if h0 is None else h0
    drive = x @ W_ih.T + bias  # the input projection of every timestep in one product
    hs = []
    for t in range(x.shape[1]):
        h = f(drive[:, t] + h @ W_hh.T)
        if keep_hidden:
            h.retain_grad()  # so that after backward, h.grad is dL/dh_t
        hs.append(h)
    return torch.stack(hs, dim=1), h, hs


class RecurrentModel(nn.Module):
    """What every model shares: a linear readout and the accessors of its recurrent matrix.

    A model's ``weight_hh_l0`` is its :math:`W_{hh}` (for the models built on
    ``nn.RNN``/``nn.LSTM``, a property reading the module's own parameter);
    only a :class:`ParametrizableRNN` can carry a parametrization, so for the
    others ``is_parametrized`` is False and ``recurrent_parameter()`` is
    ``weight_hh_l0`` itself. Taught in lesson 13.

    Examples
    --------
    >>> model = LoopRNN(1, 4, 1)
    >>> isinstance(model, RecurrentModel), model.recurrent_matrix().shape, model.skew_norm()
    (True, torch.Size([4, 4]), None)
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

    def skew_norm(self) -> float | None:
        """:math:`\\|B\\|_2` of the skew-symmetric :math:`B` of an ``expm``/``cayley`` parametrization.

        ``None`` for a model without one. :math:`B` is normal, so its
        spectral norm is its spectral radius, the largest rotation angle
        :math:`\\max_j \\omega_j` of :math:`e^{B}` (computed by
        :func:`linalg_rnn.eigen.spectral_radius` on a float64 CPU copy). It
        measures how far :math:`W_{hh}` has moved from its base: 0 at a
        default start and right after a re-basing (:meth:`ParametrizableRNN.rebase_`).
        """
        if not self.is_parametrized:
            return None
        B = SkewOrthogonal.skew(self.recurrent_parameter().detach().cpu().double())
        return spectral_radius(B.numpy())


class FusedRNN(RecurrentModel):
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
    ``LoopRNN(...).load_state_dict(fused.state_dict_for_loop())`` gives the
    same function computed step by step. ``nn.RNN``'s own weights must not be
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
        """Outputs ``(N, T, output_size)`` and the last hidden state ``(N, H)``.

        With ``keep_hidden=True`` the explicit loop runs on the same weights
        and a third value is returned, the list of every :math:`h_t` (see
        :meth:`LoopRNN.forward`).
        """
        if keep_hidden:
            rnn = self.rnn
            hs, h, h_list = _explicit_loop(x, h0, rnn.weight_ih_l0, rnn.weight_hh_l0,
                                           rnn.bias_ih_l0 + rnn.bias_hh_l0, torch.tanh, keep_hidden=True)
            return self.readout(hs), h, h_list
        hs, h_last = self.rnn(x, None if h0 is None else h0.unsqueeze(0))
        return self.readout(hs), h_last.squeeze(0)

    def state_dict_for_loop(self) -> dict:
        """The weights under :class:`LoopRNN`'s names, to build the same function as a loop."""
        return {
            **self.rnn.state_dict(),
            **{f"readout.{k}": v for k, v in self.readout.state_dict().items()},
        }


class ParametrizableRNN(RecurrentModel):
    """An RNN that holds its own ``nn.RNN``-named weights, so :math:`W_{hh}` can be parametrized.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Sizes of :math:`x_t`, :math:`h_t` and :math:`\\hat y_t`.
    activation : {"tanh", "modrelu"}
        :math:`f` in :math:`h_t = f(\\cdot)`: tanh, or modReLU
        (:func:`~linalg_rnn.rnn._modrelu.modrelu`, the activation of the
        orthogonal RNNs of the literature), which adds the parameter
        ``modrelu_bias`` (:math:`b`, one per unit, uniform on
        :math:`\\pm 0.01` as in expRNN).

    Notes
    -----
    Parameters ``weight_ih_l0`` (:math:`W_{ih}`), ``weight_hh_l0``
    (:math:`W_{hh}`), ``bias_ih_l0``, ``bias_hh_l0`` are initialized like
    ``nn.RNN`` (uniform on :math:`\\pm 1/\\sqrt{H}`), so a
    :class:`FusedRNN`'s state dict loads into it. The two subclasses differ
    only in how they run the recurrence: :class:`LoopRNN` as a Python loop,
    :class:`FunctionalRNN` as one op. A parametrization
    (:func:`parametrize_orthogonal`) is evaluated once per forward pass.
    Taught in lesson 13.

    Examples
    --------
    >>> model = LoopRNN(2, 4, 1, activation="modrelu")
    >>> isinstance(model, ParametrizableRNN), model.activation, tuple(model.modrelu_bias.shape)
    (True, 'modrelu', (4,))
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, *,
                 activation: str = "tanh") -> None:
        super().__init__()
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
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
        if activation == "modrelu":  # drawn last: a tanh model of the same seed has the same weights
            self.modrelu_bias = nn.Parameter(torch.empty(H).uniform_(-0.01, 0.01))

    def _activation(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z) if self.activation == "tanh" else modrelu(z, self.modrelu_bias)

    def _loop_forward(self, x: torch.Tensor, h0: torch.Tensor | None, keep_hidden: bool):
        W_hh = self.weight_hh_l0  # evaluated once: a parametrization runs once per forward
        hs, h, h_list = _explicit_loop(x, h0, self.weight_ih_l0, W_hh, self.bias_ih_l0 + self.bias_hh_l0,
                                       self._activation, keep_hidden)
        out = self.readout(hs)
        return (out, h, h_list) if keep_hidden else (out, h)

    def rebase_(self) -> None:
        """Fold :math:`\\operatorname{map}(B)` into the base and set :math:`B` to 0 (dynamic trivialization).

        Raises
        ------
        ValueError
            If :math:`W_{hh}` is not parametrized.

        Notes
        -----
        :math:`Q_0 \\leftarrow Q_0\\operatorname{map}(B)`, :math:`X \\leftarrow 0`
        (:meth:`~linalg_rnn.rnn._orthogonal_maps.SkewOrthogonal.rebase_`):
        :math:`W_{hh}` is unchanged (to rounding), and the next steps move
        :math:`B` from 0, where the map is closest to the identity, instead
        of from far out, where its derivative distorts the gradient
        (Lezcano-Casado 2019, "Trivializations for gradient-based
        optimization on manifolds": dynamic trivialization; expRNN's
        ``Parametrization.rebase``). The parameter stays the same object and
        **its optimizer state is kept as it is** (Adam's or RMSprop's
        running averages of the old coordinates), as expRNN does -- it
        zeroes ``A.data`` in place and leaves the optimizer alone -- and as
        geotorch's ``update_base`` does. expRNN also projects the base back
        onto the orthogonal group every 30 re-basings; here the new base is
        projected every time (its polar factor, a change of the order of
        rounding).
        """
        if not self.is_parametrized:
            raise ValueError("rebase_ needs an expm or cayley parametrization of W_hh; this model has none")
        self.parametrizations.weight_hh_l0[0].rebase_(self.parametrizations.weight_hh_l0.original)


class LoopRNN(ParametrizableRNN):
    """An RNN written as an explicit loop over time, with ``nn.RNN``'s parameters.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Sizes of :math:`x_t`, :math:`h_t` and :math:`\\hat y_t`.
    activation : {"tanh", "modrelu"}
        See :class:`ParametrizableRNN`.

    Notes
    -----
    The input projection of all timesteps is one matrix product; only
    :math:`f(\\cdot + W_{hh} h_{t-1})` runs in the Python loop. Slower than
    :class:`FusedRNN`, but every :math:`h_t` can be kept for per-lag
    gradients, and it is the reference every faster path is tested
    against. Taught in lesson 13.

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

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None, *, keep_hidden: bool = False):
        """Outputs ``(N, T, output_size)`` and the last hidden state ``(N, H)``.

        With ``keep_hidden=True`` a third value is returned: the list of every
        :math:`h_t` (each with ``retain_grad()``, so after ``backward`` its
        ``.grad`` is :math:`\\partial L / \\partial h_t`).
        """
        return self._loop_forward(x, h0, keep_hidden)


class FunctionalRNN(ParametrizableRNN):
    """An RNN whose recurrence runs as one op on its weights, :math:`W_{hh}` computed once per forward.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Sizes of :math:`x_t`, :math:`h_t` and :math:`\\hat y_t`.
    activation : {"tanh", "modrelu"}
        See :class:`ParametrizableRNN`.

    Notes
    -----
    "Functional" as in ``torch.nn.functional``: the weights are handed to a
    function. The parameters, their initialization and their names are
    :class:`ParametrizableRNN`'s, so :math:`W_{hh}` can carry an orthogonal
    parametrization (:func:`parametrize_orthogonal`). The forward pass reads
    ``self.weight_hh_l0`` once -- the parametrization runs once, e.g. one
    matrix exponential -- and hands the weights to

    * ``torch.rnn_tanh`` for tanh, the op behind ``nn.RNN`` (cuDNN on a
      GPU, a C++ loop on the CPU). Unlike parametrizing ``nn.RNN`` itself
      (PyTorch issue 65688), nothing holds a stale copy of the weight;
    * :func:`~linalg_rnn.rnn._modrelu.modrelu_recurrence` for modReLU, which
      the fused kernel lacks: a loop whose backward pass is written out, one
      autograd node for the whole sequence.

    Gradients flow to the computed :math:`W_{hh}` and on to the
    parametrization's unconstrained matrix. ``keep_hidden=True`` runs the
    explicit loop. Taught in lesson 13.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> functional = FunctionalRNN(3, 8, 2)
    >>> loop = LoopRNN(3, 8, 2)
    >>> _ = loop.load_state_dict(functional.state_dict())
    >>> x = torch.randn(4, 6, 3)
    >>> torch.allclose(loop(x)[0], functional(x)[0], atol=1e-6)
    True
    """

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None, *, keep_hidden: bool = False):
        """Outputs ``(N, T, output_size)`` and the last hidden state ``(N, H)`` (see :class:`LoopRNN`)."""
        if keep_hidden:
            return self._loop_forward(x, h0, keep_hidden=True)
        W_hh = self.weight_hh_l0  # the parametrization, once per forward pass
        if self.activation == "modrelu":
            h = x.new_zeros(x.shape[0], self.hidden_size) if h0 is None else h0
            drive = x @ self.weight_ih_l0.T + (self.bias_ih_l0 + self.bias_hh_l0)
            hs = modrelu_recurrence(drive, h, W_hh, self.modrelu_bias)
            return self.readout(hs), hs[:, -1]
        h = x.new_zeros(1, x.shape[0], self.hidden_size) if h0 is None else h0.unsqueeze(0)
        weights = [self.weight_ih_l0, W_hh, self.bias_ih_l0, self.bias_hh_l0]
        with warnings.catch_warnings():
            # cuDNN copies weights that are not one flat buffer, and says so: here that is the point
            warnings.filterwarnings("ignore", message="RNN module weights are not part")
            hs, h_last = torch.rnn_tanh(x, h, weights, True, 1, 0.0, self.training, False, True)
        return self.readout(hs), h_last.squeeze(0)


class LSTMModel(RecurrentModel):
    """LSTM (``torch.nn.LSTM``) with a linear readout: the gated reference model.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Sizes of :math:`x_t`, :math:`h_t` and :math:`\\hat y_t`.
    forget_bias : float, optional
        The forget gate's starting bias, the same for every unit (default 1).
    chrono_t_max : int, optional
        Use the chrono init instead (Tallec & Ollivier 2018), for
        dependencies up to ``chrono_t_max`` steps (:meth:`chrono_init_`).

    Raises
    ------
    ValueError
        For a non-finite ``forget_bias`` or a ``chrono_t_max`` below 2.

    Notes
    -----
    ``nn.LSTM`` stacks four :math:`H \\times H` blocks in the order
    :data:`LSTM_GATES`, input, forget, cell, output (rows ``0:H``,
    ``H:2H``, ``2H:3H``, ``3H:4H`` of ``weight_ih_l0``, ``weight_hh_l0``,
    ``bias_ih_l0`` and ``bias_hh_l0``), and has **two** biases whose sum is
    the gate's bias. PyTorch draws both uniform on :math:`\\pm 1/\\sqrt{H}`,
    so the forget gate starts half open, :math:`\\operatorname{sigmoid}(b_f) \\approx
    1/2`, and the cell state forgets half of itself every step. A bias of
    1 (Gers, Schmidhuber & Cummins 2000; Jozefowicz, Zaremba & Sutskever
    2015) starts it at :math:`\\operatorname{sigmoid}(1) \\approx 0.73`. The
    setting goes into ``bias_ih_l0``'s forget block and ``bias_hh_l0``'s
    forget block is zeroed, so the effective bias :math:`b_{ih} + b_{hh}` is
    the setting exactly, in every unit; the other gates keep PyTorch's init.
    For the square-matrix metrics, :meth:`recurrent_matrix` returns the
    cell-candidate block :math:`W_{hg}` (rows ``2H:3H``), the one that plays
    the part of a plain RNN's :math:`W_{hh}`. The LSTM's memory does not
    rely on :math:`W_{hh}` being orthogonal: the additive cell state
    carries it. Taught in lesson 13.

    Examples
    --------
    >>> model = LSTMModel(3, 8, 2)
    >>> y, (h, c) = model(torch.zeros(4, 5, 3))
    >>> y.shape, model.recurrent_matrix().shape
    (torch.Size([4, 5, 2]), torch.Size([8, 8]))
    >>> model.gate_bias("f").unique()
    tensor([1.])
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, *,
                 forget_bias: float = 1.0, chrono_t_max: int | None = None) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, output_size)
        if chrono_t_max is None:
            self.set_forget_bias_(forget_bias)
        else:
            self.chrono_init_(chrono_t_max)

    @property
    def weight_hh_l0(self) -> nn.Parameter:
        """The stacked ``(4H, H)`` recurrent weight of ``nn.LSTM``."""
        return self.lstm.weight_hh_l0

    def _gate(self, gate: str) -> slice:
        H = self.lstm.hidden_size
        k = LSTM_GATES.index(check_choice(gate, "gate", LSTM_GATES))
        return slice(k * H, (k + 1) * H)

    def gate_bias(self, gate: str) -> torch.Tensor:
        """The effective bias :math:`b_{ih} + b_{hh}` of one gate (``"i"``, ``"f"``, ``"g"`` or ``"o"``)."""
        rows = self._gate(gate)
        return (self.lstm.bias_ih_l0[rows] + self.lstm.bias_hh_l0[rows]).detach()

    @torch.no_grad()
    def set_forget_bias_(self, value: float) -> None:
        """Set the forget gate's effective bias to ``value`` in every unit (``bias_hh_l0``'s block to 0)."""
        value = check_real(value, "forget_bias")
        rows = self._gate("f")
        self.lstm.bias_ih_l0[rows] = value
        self.lstm.bias_hh_l0[rows] = 0.0

    @torch.no_grad()
    def chrono_init_(self, t_max: int, *, generator: torch.Generator | None = None) -> None:
        """Chrono init: :math:`b_f = \\log u`, :math:`u \\sim U(1, T_{\\max} - 1)`, and :math:`b_i = -b_f`.

        Parameters
        ----------
        t_max : int
            :math:`T_{\\max} \\ge 2`, the longest dependency the task asks for
            (the trainer passes the length of the sequences it trains on).
        generator : torch.Generator, optional
            Source of :math:`u`; torch's global one if ``None``.

        Notes
        -----
        Tallec & Ollivier (2018), "Can recurrent neural networks warp
        time?": a unit whose forget gate stays at
        :math:`\\operatorname{sigmoid}(b_f)` keeps its memory for about
        :math:`1/(1 - \\operatorname{sigmoid}(b_f)) = 1 + e^{b_f}` steps, so
        :math:`b_f = \\log u` spreads the units' memory times :math:`1 + u`
        uniformly over :math:`[2, T_{\\max}]`, and :math:`b_i = -b_f` opens
        the input gate as much as the forget gate is closed. As for the forget bias, the values go into
        ``bias_ih_l0`` and the same blocks of ``bias_hh_l0`` are zeroed, so
        the effective biases are the draws exactly.
        """
        t_max = check_int(t_max, "chrono_t_max", minimum=2)
        H = self.lstm.hidden_size
        device = self.lstm.bias_ih_l0.device
        u = 1 + (t_max - 2) * torch.rand(H, generator=generator, dtype=torch.float64,
                                         device=generator.device if generator is not None else device)
        b_f = torch.log(u).to(self.lstm.bias_ih_l0)
        for gate, value in (("f", b_f), ("i", -b_f)):
            rows = self._gate(gate)
            self.lstm.bias_ih_l0[rows] = value
            self.lstm.bias_hh_l0[rows] = 0.0

    def recurrent_matrix(self) -> torch.Tensor:
        """The cell-candidate block :math:`W_{hg}` of the recurrent weight, detached."""
        return self.lstm.weight_hh_l0.detach()[self._gate("g")]

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        """Outputs ``(N, T, output_size)`` and the last state ``(h, c)``, each ``(N, H)``."""
        if state is not None:
            state = (state[0].unsqueeze(0), state[1].unsqueeze(0))
        hs, (h, c) = self.lstm(x, state)
        return self.readout(hs), (h.squeeze(0), c.squeeze(0))


def parametrize_orthogonal(model: ParametrizableRNN, orthogonal_map: str, *,
                           skew: torch.Tensor | None = None) -> ParametrizableRNN:
    """Make :math:`W_{hh}` of a :class:`ParametrizableRNN` orthogonal by construction.

    Parameters
    ----------
    model : LoopRNN or FunctionalRNN
        Modified in place (and returned).
    orthogonal_map : {"expm", "cayley"}
        :math:`W_{hh} = Q_0 e^{B}` or
        :math:`W_{hh} = Q_0 \\operatorname{cay}(B) = Q_0 (I + B)^{-1}(I - B)`
        (the Cayley convention of :func:`linalg_rnn.orthogonal.cayley`),
        :math:`B` skew-symmetric, :math:`Q_0` the base.
    skew : torch.Tensor, optional
        A skew-symmetric :math:`B_0` to start from (e.g.
        :func:`~linalg_rnn.rnn._orthogonal_maps.skew_init`): then
        :math:`Q_0 = I` and :math:`B = B_0`, as expRNN starts. Without it,
        :math:`B = 0` and :math:`Q_0` is the model's current :math:`W_{hh}`.

    Returns
    -------
    ParametrizableRNN
        The same model.

    Raises
    ------
    TypeError
        If the model is not a :class:`ParametrizableRNN`.
    ValueError
        For an unknown map, or a ``skew`` that is not a skew-symmetric
        :math:`H \\times H` matrix.

    Notes
    -----
    Registers :class:`~linalg_rnn.rnn._orthogonal_maps.SkewOrthogonal` with
    ``torch.nn.utils.parametrize``: the trivialization of
    ``torch.nn.utils.parametrizations.orthogonal`` (the optimizer moves an
    unconstrained matrix whose skew-symmetric part :math:`B` is mapped onto
    the orthogonal group, so :math:`W_{hh}^\\top W_{hh} = I` holds to rounding
    at every step with no projection), with an exponential whose gradient
    costs two evaluations instead of eight. Without ``skew``, an orthogonal
    :math:`W_{hh}` (from an orthogonal init) is kept as the base :math:`Q_0`;
    any other is replaced by its sign-corrected QR factor. Taught in
    lesson 13.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> m = parametrize_orthogonal(LoopRNN(2, 6, 1), "cayley")
    >>> W = m.recurrent_matrix()
    >>> torch.allclose(W.T @ W, torch.eye(6), atol=1e-5), m.is_parametrized, m.skew_norm()
    (True, True, 0.0)
    """
    if not isinstance(model, ParametrizableRNN):
        raise TypeError(
            f"orthogonal parametrizations need a LoopRNN or FunctionalRNN, got {type(model).__name__} "
            "(parametrizing nn.RNN's own weight can silently stop W_hh training: PyTorch issue 65688)"
        )
    parametrization = SkewOrthogonal(orthogonal_map)  # refuses an unknown map before anything changes
    H = model.hidden_size
    if skew is not None:
        if skew.shape != (H, H) or not torch.allclose(skew, -skew.T, rtol=0, atol=0):
            raise ValueError(f"skew must be a skew-symmetric {H} x {H} matrix (B.T == -B), "
                             f"got shape {tuple(skew.shape)}")
        with torch.no_grad():
            model.weight_hh_l0.copy_(torch.eye(H))  # the base is I
    parametrize.register_parametrization(model, "weight_hh_l0", parametrization)
    if skew is not None:
        with torch.no_grad():
            model.recurrent_parameter().copy_(skew.tril(-1))  # its skew part K - K^T is B_0
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
    activation: str = "tanh",
    forget_bias: float | None = None,
    chrono_t_max: int | None = None,
) -> RecurrentModel:
    """Build a model by name: its kernel, its activation, its starting weights, its parametrization.

    Parameters
    ----------
    kind : {"fused", "loop", "lstm"}
        The fused path (:class:`FusedRNN`, or :class:`FunctionalRNN` when
        parametrized or modReLU), the explicit loop (:class:`LoopRNN`), or
        :class:`LSTMModel`.
    input_size, hidden_size, output_size : int
        Layer sizes.
    parametrization : {None, "expm", "cayley"}
        Orthogonal parametrization of :math:`W_{hh}` (not for an LSTM).
    init_scheme : str, optional
        The starting :math:`W_{hh}` (not for an LSTM). Without a
        parametrization, or with ``orthogonal``/``identity``: the matrix
        :func:`~linalg_rnn.rnn.strategies.orthogonal_matrix` draws (it becomes
        the parametrization's base, :math:`B = 0`). With a parametrization and
        ``henaff``/``cayley``: the skew matrix
        :math:`B_0` of :func:`~linalg_rnn.rnn._orthogonal_maps.skew_init`
        with base :math:`I`, so :math:`W_{hh} = \\operatorname{map}(B_0)`,
        which is the scheme's matrix when the map is the scheme's own
        (``henaff`` with ``expm``, ``cayley`` with ``cayley``).
    init_gain : float, optional
        Multiplies the starting :math:`W_{hh}` (after ``init_scheme``); under
        a parametrization it has no effect (the base is orthogonal).
    activation : {"tanh", "modrelu"}
        Of a tanh RNN (:class:`ParametrizableRNN`); modReLU needs
        :class:`FunctionalRNN` or :class:`LoopRNN`.
    forget_bias : float, optional
        LSTM only: the forget gate's effective starting bias (default 1).
    chrono_t_max : int, optional
        LSTM only: chrono init for dependencies up to this many steps,
        instead of ``forget_bias``.

    Returns
    -------
    RecurrentModel
        On the CPU, initialized from torch's global generator (seed it, or
        wrap the call in ``torch.random.fork_rng``). The parametrization is
        registered last, so it starts from the initialized :math:`W_{hh}`.

    Raises
    ------
    ValueError
        For an unknown kind, parametrization, scheme or activation, an
        option that does not belong to the kind (a parametrization, an init
        scheme or modReLU on an LSTM; a forget bias or chrono on a tanh
        RNN; both ``forget_bias`` and ``chrono_t_max``), or a gain that is
        not a positive number.

    Examples
    --------
    >>> m = build_model("loop", 1, 4, 1, parametrization="expm")
    >>> isinstance(m, LoopRNN), m.is_parametrized
    (True, True)
    >>> isinstance(build_model("fused", 1, 4, 1, parametrization="cayley"), FunctionalRNN)
    True
    >>> build_model("fused", 1, 4, 1, parametrization="expm", init_scheme="henaff").skew_norm() > 0
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
    check_choice(activation, "activation", ACTIVATIONS)
    if parametrization is not None:
        check_choice(parametrization, "parametrization", PARAMETRIZATIONS)
    if init_scheme is not None:
        init_scheme = canonical_init_scheme(init_scheme)
    if kind == "lstm":
        tanh_only = (("parametrization", parametrization), ("init_scheme", init_scheme),
                     ("activation", None if activation == "tanh" else activation))
        for name, value in tanh_only:
            if value is not None:
                raise ValueError(f"{name} {value!r} needs kind='loop' or 'fused' (a tanh RNN), not 'lstm'")
        if forget_bias is not None and chrono_t_max is not None:
            raise ValueError("give forget_bias or chrono_t_max (the chrono init), not both")
        if chrono_t_max is not None:
            return LSTMModel(input_size, hidden_size, output_size, chrono_t_max=chrono_t_max)
        return LSTMModel(input_size, hidden_size, output_size,
                         forget_bias=1.0 if forget_bias is None else forget_bias)
    for name, value in (("forget_bias", forget_bias), ("chrono_t_max", chrono_t_max)):
        if value is not None:
            raise ValueError(f"{name} is an LSTM option; kind {kind!r} is a tanh RNN")

    if kind == "loop":
        cls = LoopRNN
    elif parametrization is not None or activation != "tanh":
        cls = FunctionalRNN  # the fused kernel (or modReLU's one-node loop), fed the computed W_hh
    else:
        cls = FusedRNN
    model = cls(input_size, hidden_size, output_size) if cls is FusedRNN else \
        cls(input_size, hidden_size, output_size, activation=activation)
    if parametrization is not None and init_scheme in SKEW_INIT_SCHEMES:
        return parametrize_orthogonal(model, parametrization, skew=skew_init(hidden_size, init_scheme))
    W = model.recurrent_parameter()
    if init_scheme is not None:
        orthogonal_init_(W, init_scheme)
    if init_gain != 1.0:
        with torch.no_grad():
            W.mul_(init_gain)
    if parametrization is not None:
        parametrize_orthogonal(model, parametrization)
    return model
