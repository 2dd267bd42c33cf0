"""Adam, RMSprop and SGD over stacked weights, each member at its own learning rate and step count.

``torch.optim`` takes one learning rate per parameter group and one scalar
per update, so it cannot move N stacked members at N learning rates in one
operation. :class:`MemberOptimizer` is the update of ``torch.optim``'s
single-tensor implementations (the ones a CPU run uses), written with the
member axis kept: the same moments, the same bias corrections (computed per
member, in Python floats, as torch computes them), the same order of
floating-point operations -- so member :math:`n` moves as its single run's
``torch.optim`` optimizer would move it. Adam, for member :math:`n` at its
:math:`k_n`-th update, with :math:`\\eta_n` its learning rate:

.. math:: m \\leftarrow \\beta_1 m + (1 - \\beta_1) g, \\quad
          v \\leftarrow \\beta_2 v + (1 - \\beta_2) g^2, \\quad
          \\theta \\leftarrow \\theta - \\frac{\\eta_n}{1 - \\beta_1^{k_n}}
          \\frac{m}{\\sqrt{v} / \\sqrt{1 - \\beta_2^{k_n}} + \\mathrm{eps}}.

The state moves to and from each member's own ``torch.optim`` optimizer
(:meth:`MemberOptimizer.load` and :meth:`MemberOptimizer.store`), so a
member's checkpoint holds exactly what its single run's would.
"""

from __future__ import annotations

import torch

from ..trainer import to_device

# what each torch optimizer keeps per parameter, besides its step count
_MOMENTS = {torch.optim.Adam: ("exp_avg", "exp_avg_sq"), torch.optim.RMSprop: ("square_avg",),
            torch.optim.SGD: ()}
# the settings the update below implements; another value is refused, not silently ignored
_DEFAULTS = {
    torch.optim.Adam: {"weight_decay": 0, "amsgrad": False, "maximize": False,
                       "decoupled_weight_decay": False, "capturable": False, "differentiable": False,
                       "fused": None},
    torch.optim.RMSprop: {"weight_decay": 0, "momentum": 0, "centered": False, "maximize": False,
                          "capturable": False, "differentiable": False},
    torch.optim.SGD: {"weight_decay": 0, "momentum": 0, "nesterov": False, "maximize": False},
}


def _broadcast(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view((-1,) + (1,) * (like.ndim - 1))


class MemberOptimizer:
    """One update rule for N stacked members, each with its own learning rates and step count.

    Parameters
    ----------
    optimizers : list of torch.optim.Optimizer
        The members' own optimizers (as ``build_run`` makes them: Adam,
        RMSprop or SGD at torch's defaults, a parameter group per learning
        rate), one per member, all of one class.
    models : list of torch.nn.Module
        The members' models, whose ``named_parameters()`` those optimizers
        hold; the names key the stacked state.

    Raises
    ------
    TypeError
        For an optimizer class other than those three, or members with
        different classes.
    ValueError
        For a setting the update does not implement (momentum, weight decay,
        AMSGrad, ...), or members whose settings other than ``lr`` differ.

    Notes
    -----
    The state is initialized from the optimizers' own (zeros for a fresh
    run, the checkpoint's moments for a resumed one), by :meth:`load`.

    Examples
    --------
    >>> lin = [torch.nn.Linear(2, 1) for _ in range(2)]
    >>> opts = [torch.optim.Adam(m.parameters(), lr=lr) for m, lr in zip(lin, (0.1, 0.01), strict=True)]
    >>> member_opt = MemberOptimizer(opts, lin)
    >>> member_opt.lr["weight"], member_opt.steps
    ([0.1, 0.01], [0, 0])
    """

    def __init__(self, optimizers: list[torch.optim.Optimizer], models: list[torch.nn.Module]) -> None:
        kind = type(optimizers[0])
        if kind not in _MOMENTS:
            raise TypeError(f"the batched path updates with Adam, RMSprop or SGD, not {kind.__name__}")
        if any(type(o) is not kind for o in optimizers):
            raise TypeError("members must share one optimizer class")
        self.kind = kind
        self.settings = self._settings(optimizers[0])
        for o in optimizers[1:]:
            if self._settings(o) != self.settings:
                raise ValueError(f"members' {kind.__name__} settings differ beyond the learning rate: "
                                 f"{self._settings(o)} vs {self.settings}")
        names = [name for name, _ in models[0].named_parameters()]
        self.lr = {name: [self._lr_of(o, dict(m.named_parameters())[name])
                          for o, m in zip(optimizers, models, strict=True)]
                   for name in names}
        self.state: dict[str, dict[str, torch.Tensor]] = {}
        self.steps: list[int] = []
        self.load(optimizers, models)

    @staticmethod
    def _settings(optimizer: torch.optim.Optimizer) -> dict:
        """The group settings but ``lr`` and the parameters (one for all groups); refused if unsupported."""
        groups = [{k: v for k, v in g.items() if k not in ("lr", "params")} for g in optimizer.param_groups]
        if any(g != groups[0] for g in groups):
            raise ValueError("a member's parameter groups differ beyond the learning rate")
        for key, value in _DEFAULTS[type(optimizer)].items():
            if groups[0].get(key, value) != value:
                raise ValueError(f"the batched path implements {type(optimizer).__name__} with "
                                 f"{key}={value!r}, not {groups[0][key]!r}")
        return groups[0]

    @staticmethod
    def _lr_of(optimizer: torch.optim.Optimizer, p: torch.nn.Parameter) -> float:
        return next(float(g["lr"]) for g in optimizer.param_groups if any(q is p for q in g["params"]))

    # ------------------------------------------------------------------ state in and out
    def load(self, optimizers: list[torch.optim.Optimizer], models: list[torch.nn.Module]) -> None:
        """Take every member's state (moments, step count) from its own torch optimizer."""
        self.state, steps = {}, []
        for name, p0 in models[0].named_parameters():
            per_member = [o.state.get(dict(m.named_parameters())[name], {})
                          for o, m in zip(optimizers, models, strict=True)]
            counts = [int(s["step"]) if "step" in s else 0 for s in per_member]
            steps.append(counts)
            self.state[name] = {
                key: torch.stack([s[key] if key in s else torch.zeros_like(p0) for s in per_member])
                for key in _MOMENTS[self.kind]
            }
        if self.kind is not torch.optim.SGD and any(c != steps[0] for c in steps):
            raise ValueError("a member's parameters were updated different numbers of times")
        self.steps = steps[0] if steps else [0] * len(optimizers)

    def store(self, n: int, optimizer: torch.optim.Optimizer, model: torch.nn.Module) -> None:
        """Write member ``n``'s state into its own torch optimizer, in torch's own format."""
        if self.kind is torch.optim.SGD or self.steps[n] == 0:  # plain SGD keeps no state
            return
        for name, p in model.named_parameters():
            # torch keeps the count as a 0-d float tensor (float64 only under a float64 default dtype)
            count = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
            state = {"step": torch.tensor(float(self.steps[n]), dtype=count)}
            state.update({key: t[n].detach().clone().to(p.dtype) for key, t in self.state[name].items()})
            optimizer.state[p] = state

    def to(self, dtype: torch.dtype) -> MemberOptimizer:
        """The moments in ``dtype`` (the stacked weights' precision)."""
        self.state = {name: {k: t.to(dtype) for k, t in s.items()} for name, s in self.state.items()}
        return self

    def keep(self, index: list[int]) -> None:
        """Keep only the members at ``index``, in that order."""
        self.lr = {name: [lr[i] for i in index] for name, lr in self.lr.items()}
        self.state = {name: {k: t[index] for k, t in s.items()} for name, s in self.state.items()}
        self.steps = [self.steps[i] for i in index]

    # ------------------------------------------------------------------ the update
    @torch.no_grad()
    def step(self, params: dict[str, torch.Tensor]) -> None:
        """One update of every member, from the ``.grad`` of the stacked ``params``."""
        self.steps = [k + 1 for k in self.steps]
        rates = self._rates()
        # every per-member scalar of this update in one table, moved to the device in one transfer
        table = to_device(torch.tensor(list(rates.values()), dtype=torch.float64),
                          next(iter(params.values())).device)
        scalars = dict(zip(rates, table, strict=True))
        update = {torch.optim.Adam: self._adam, torch.optim.RMSprop: self._rmsprop,
                  torch.optim.SGD: self._sgd}[self.kind]
        for name, p in params.items():
            update(p, p.grad, scalars, name, self.state[name])

    def _rates(self) -> dict[str, list[float]]:
        """The per-member scalars of this update, in Python floats as torch computes them.

        Adam: ``-lr / (1 - beta1**k)`` per parameter and ``sqrt(1 - beta2**k)``
        (key ``"bias2_sqrt"``); RMSprop and SGD: ``-lr`` per parameter.
        """
        if self.kind is not torch.optim.Adam:
            return {name: [-eta for eta in lr] for name, lr in self.lr.items()}
        beta1, beta2 = self.settings["betas"]
        rates = {name: [-(eta / (1 - beta1**k)) for eta, k in zip(lr, self.steps, strict=True)]
                 for name, lr in self.lr.items()}
        rates["bias2_sqrt"] = [(1 - beta2**k) ** 0.5 for k in self.steps]
        return rates

    @staticmethod
    def _per_member(scalars: dict[str, torch.Tensor], key: str, like: torch.Tensor) -> torch.Tensor:
        """Row ``key`` of the table in the weights' dtype, shaped to broadcast over each member."""
        return _broadcast(scalars[key].to(like.dtype), like)

    def _adam(self, p: torch.Tensor, g: torch.Tensor, scalars: dict, name: str, state: dict) -> None:
        beta1, beta2 = self.settings["betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.lerp_(g, 1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        # torch: denom = sqrt(v) / sqrt(1 - beta2**k) + eps; p.addcdiv_(m, denom, value=-lr / (1 - beta1**k))
        denom = (v.sqrt() / self._per_member(scalars, "bias2_sqrt", p)).add_(self.settings["eps"])
        p.add_(self._per_member(scalars, name, p) * m / denom)  # addcdiv_: p + value * m / denom

    def _rmsprop(self, p: torch.Tensor, g: torch.Tensor, scalars: dict, name: str, state: dict) -> None:
        alpha, eps = self.settings["alpha"], self.settings["eps"]
        square_avg = state["square_avg"]
        square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)
        avg = square_avg.sqrt().add_(eps)
        p.add_(self._per_member(scalars, name, p) * g / avg)  # torch: p.addcdiv_(g, avg, value=-lr)

    def _sgd(self, p: torch.Tensor, g: torch.Tensor, scalars: dict, name: str, state: dict) -> None:
        p.addcmul_(self._per_member(scalars, name, p), g)  # torch: p.add_(g, alpha=-lr)
