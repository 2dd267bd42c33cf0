"""N models of one kind as one: their weights stacked along a leading member axis.

:class:`MemberModel` is built from the members' own single-run models (as
:func:`~linalg_rnn.rnn.trainer.build_run` makes them, so each member starts
from exactly its single run's weights) and keeps one leaf tensor per weight,
``(N, ...)``, under the single model's parameter name. Its forward pass is
the single model's function for every member at once:

* tanh RNN (``FusedRNN``, ``LoopRNN``, ``FunctionalRNN``):
  :func:`~linalg_rnn.rnn.members._recurrence.tanh_rnn`, input drive
  :math:`x_t W_{ih}^\\top + b_{ih} + b_{hh}`, recurrence and readout
  :math:`\\hat y_t = h_t W_{hy}^\\top + b_y` one timestep at a time, with
  :math:`W_{hh}` computed once per forward pass by the member's orthogonal
  parametrization when it has one
  (:func:`~linalg_rnn.rnn.members._orthogonal.member_skew_orthogonal`);
* LSTM: the input drive of all timesteps, then
  :func:`~linalg_rnn.rnn.members._recurrence.lstm_recurrence`, then the
  readout of every timestep.

:meth:`MemberModel.write_back` copies one member's weights into its own
single model (for its checkpoint, its per-lag gradients, its result), and
:meth:`MemberModel.keep` drops members (a diverged one leaves the batch).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..models import LSTMModel
from ._orthogonal import member_skew_orthogonal
from ._recurrence import lstm_recurrence, member_affine, tanh_rnn

# the single models' parameter names end with these (FusedRNN prefixes "rnn.", LSTMModel "lstm.")
_ROLES = {"W_ih": "weight_ih_l0", "b_ih": "bias_ih_l0", "b_hh": "bias_hh_l0",
          "W_hy": "readout.weight", "b_y": "readout.bias"}


def _model_class(model: nn.Module) -> type:
    """The model's class (``torch.nn.utils.parametrize`` gives a parametrized model a class of its own)."""
    return type(model).__bases__[0] if parametrize.is_parametrized(model) else type(model)


def _name_of(model: nn.Module, parameter: nn.Parameter) -> str:
    return next(name for name, p in model.named_parameters() if p is parameter)


class MemberModel:
    """The weights of N single-run models of one kind, stacked, and their forward pass for all at once.

    Parameters
    ----------
    models : sequence of torch.nn.Module
        The members' models (``FusedRNN``, ``LoopRNN``, ``FunctionalRNN`` with
        an ``expm``/``cayley`` parametrization, or ``LSTMModel``), all of one
        class and shape, on one device.
    dtype : torch.dtype, optional
        Of the stacked weights; default the models' own.

    Attributes
    ----------
    params : dict of str to torch.Tensor
        One leaf ``(N, ...)`` per parameter of the single model, under its name.
    recurrent_name : str
        The name of the parameter that moves :math:`W_{hh}` (the single model's
        ``recurrent_parameter()``: :math:`W_{hh}`, or a parametrization's
        unconstrained matrix, or the LSTM's stacked ``(4H, H)`` weight).
    base : torch.Tensor or None
        The parametrization's bases :math:`Q_{0,n}`, ``(N, H, H)``.
    orthogonal_map : str or None
        ``"expm"`` or ``"cayley"`` (a key of
        :data:`~linalg_rnn.rnn._orthogonal_maps.ORTHOGONAL_MAPS`) for a
        parametrized :math:`W_{hh}`.

    Raises
    ------
    TypeError
        For models of different classes, or a parametrization other than the
        trainer's own.
    ValueError
        For models whose parameters differ in name or shape.

    Examples
    --------
    >>> from linalg_rnn.rnn.models import FusedRNN
    >>> _ = torch.manual_seed(0)
    >>> singles = [FusedRNN(2, 5, 1) for _ in range(3)]
    >>> stack = MemberModel(singles)
    >>> x = torch.randn(3, 4, 6, 2)  # (members, batch, time, input)
    >>> out, h = stack(x)
    >>> out.shape, h.shape
    (torch.Size([3, 4, 6, 1]), torch.Size([3, 4, 5]))
    >>> bool(torch.allclose(out[2], singles[2](x[2])[0], atol=1e-6))
    True
    """

    def __init__(self, models: list[nn.Module], *, dtype: torch.dtype | None = None) -> None:
        first = models[0]
        for m in models[1:]:
            if _model_class(m) is not _model_class(first):
                raise TypeError(f"members must share one model class, got {_model_class(first).__name__} "
                                f"and {_model_class(m).__name__}")
        shapes = [(name, tuple(p.shape)) for name, p in first.named_parameters()]
        for m in models[1:]:
            if [(name, tuple(p.shape)) for name, p in m.named_parameters()] != shapes:
                raise ValueError("members' models differ in their parameters' names or shapes")
        self.lstm = isinstance(first, LSTMModel)
        self.recurrent_name = _name_of(first, first.recurrent_parameter())
        self.params = {
            name: torch.stack([dict(m.named_parameters())[name].detach() for m in models])
            .to(dtype=dtype).requires_grad_()
            for name, _ in shapes
        }
        self.roles = {role: next(n for n, _ in shapes if n.endswith(suffix))
                      for role, suffix in _ROLES.items()}
        self.base = self.orthogonal_map = None
        if getattr(first, "is_parametrized", False):
            maps = [m.parametrizations.weight_hh_l0[0] for m in models]
            if len(first.parametrizations.weight_hh_l0) != 1 or not hasattr(maps[0], "orthogonal_map"):
                raise TypeError("the batched path knows the trainer's SkewOrthogonal parametrization only")
            self.orthogonal_map = maps[0].orthogonal_map
            self.base = torch.stack([p.base for p in maps]).to(dtype=dtype)

    @property
    def members(self) -> int:
        """N, the number of members in the batch."""
        return self.params[self.recurrent_name].shape[0]

    def parameters(self) -> list[torch.Tensor]:
        """The stacked leaves, in the single model's parameter order."""
        return list(self.params.values())

    def _W_hh(self, X: torch.Tensor, base: torch.Tensor | None) -> torch.Tensor:
        """The effective recurrent matrices ``(N, H, H)`` (``(N, 4H, H)`` for an LSTM), differentiable."""
        if self.orthogonal_map is None:
            return X
        return member_skew_orthogonal(X, base, self.orthogonal_map)

    def __call__(self, x: torch.Tensor, state=None, *,
                 members: slice | None = None) -> tuple[torch.Tensor, object]:
        """Outputs ``(N, B, T, output_size)`` of inputs ``(N, B, T, input_size)``, and the last state.

        ``state`` is the initial state (zeros when ``None``): ``(N, B, H)``,
        or for an LSTM the pair ``(h, c)``, as the returned last state.
        ``members`` runs only those members (a slice of the batch; ``x`` then
        holds theirs), e.g. to evaluate a large validation batch a few
        members at a time.
        """
        P, r = self.params, self.roles
        base = self.base
        if members is not None:
            P = {name: p[members] for name, p in P.items()}
            base = None if base is None else base[members]
        N, B, T, _ = x.shape
        W_hh = self._W_hh(P[self.recurrent_name], base)  # once per forward pass: a parametrization runs once
        H = W_hh.shape[-1]
        if not self.lstm:
            h0 = x.new_zeros(N, B, H) if state is None else state
            return tanh_rnn(x, h0, P[r["W_ih"]], P[r["b_ih"]] + P[r["b_hh"]], W_hh, P[r["W_hy"]], P[r["b_y"]])
        # the LSTM's input drive of every timestep in one batched product, laid out (N, T, B, 4H)
        xt = x.transpose(1, 2).reshape(N, T * B, -1)
        u = member_affine(xt, P[r["W_ih"]], P[r["b_ih"]] + P[r["b_hh"]]).view(N, T, B, -1)
        h0, c0 = state if state is not None else (x.new_zeros(N, B, H), x.new_zeros(N, B, H))
        hs, c = lstm_recurrence(u, h0, c0, W_hh)
        out = member_affine(hs.reshape(N, T * B, H), P[r["W_hy"]], P[r["b_y"]])
        return out.view(N, T, B, -1).transpose(1, 2), (hs[:, -1], c)

    @torch.no_grad()
    def recurrent_matrix(self) -> torch.Tensor:
        """Every member's effective :math:`W_{hh}`, ``(N, H, H)``, detached (LSTM: the cell block)."""
        W = self._W_hh(self.params[self.recurrent_name], self.base).detach()
        if self.lstm:
            H = W.shape[-1]
            return W[:, 2 * H : 3 * H]
        return W

    @torch.no_grad()
    def write_back(self, n: int, model: nn.Module) -> None:
        """Copy member ``n``'s weights into ``model``, its single model (same parameters, same objects)."""
        for name, p in model.named_parameters():
            p.copy_(self.params[name][n])
        if self.base is not None:
            model.parametrizations.weight_hh_l0[0].base.copy_(self.base[n])

    @torch.no_grad()
    def rebase_(self, models: list[nn.Module]) -> None:
        """Fold every member's :math:`\\operatorname{map}(B_n)` into its base, :math:`B_n \\leftarrow 0`.

        Each member goes through its own single model's
        :meth:`~linalg_rnn.rnn.models.ParametrizableRNN.rebase_` (``models[n]``
        is member ``n``'s, as :meth:`write_back` takes it), so the new base is
        the very matrix its single run computes; the stacked parameter stays
        the same object, and the optimizer's moments stay with it, as there.
        """
        X = self.params[self.recurrent_name]
        for n, model in enumerate(models):
            parametrization = model.parametrizations.weight_hh_l0
            parametrization.original.copy_(X[n])
            parametrization[0].base.copy_(self.base[n])
            model.rebase_()
            self.base[n] = parametrization[0].base
            X[n] = parametrization.original  # zero

    def keep(self, index: list[int]) -> None:
        """Keep only the members at ``index`` (positions in the batch), in that order, gradients too."""
        at = torch.tensor(index, dtype=torch.long, device=self.params[self.recurrent_name].device)
        kept = {}
        for name, p in self.params.items():
            kept[name] = p.detach()[at].requires_grad_()
            kept[name].grad = None if p.grad is None else p.grad[at]
        self.params = kept
        if self.base is not None:
            self.base = self.base[at]
