"""Training strategies against exploding and vanishing gradients, composable with ``+``.

A strategy string such as ``"orthogonal_init+qr_projection+clip"`` is parsed
into a :class:`Strategy`, which says which model to build and what the
trainer does around each optimizer step:

====================== ======================================================
name                   what it does
====================== ======================================================
``vanilla``            nothing: a tanh ``nn.RNN`` trained by plain BPTT
``clip``               rescale the gradient to norm ``clip_norm`` (or clamp each
                       entry to ``clip_value``) before the step
``tbptt``              truncated BPTT (lesson 11): cut the sequence into windows
                       of ``k`` steps and make one update per window, carrying
                       the hidden state, detached, from window to window
                       (``tbptt_update="batch"``: one update per batch from the
                       windows' summed gradients instead)
``orthogonal_init``    start from an orthogonal :math:`W_{hh}` (``orthogonal``:
                       Haar, the default; ``identity``, ``henaff``, ``cayley``)
``qr_projection``      every ``N`` steps replace :math:`W_{hh}` by the
                       sign-corrected Q of its QR factorization
``polar_projection``   every ``N`` steps replace :math:`W_{hh}` by its polar factor
                       :math:`UV^\\top`, the nearest orthogonal matrix
``expm``               parametrize :math:`W_{hh} = Q_0 e^{B}`, :math:`B` skew-symmetric
                       (on the fused kernel: :math:`W_{hh}` is computed once per
                       forward pass and fed to it)
``cayley``             parametrize :math:`W_{hh} = Q_0 (I + B)^{-1}(I - B)`, the
                       Cayley transform of :math:`B`
``lstm``               replace the tanh RNN by an LSTM
====================== ======================================================

The functions that change :math:`W_{hh}` (:func:`orthogonal_init_`,
:func:`qr_project_`, :func:`polar_project_`) work in place under
``torch.no_grad()`` on the very ``Parameter`` object the optimizer holds, so
its state (Adam's moments) stays attached. Their factorizations run in
float64 on the CPU (on every device: MPS has no float64 and no QR), and the
result is copied back in the weight's dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._console import nearest_name, unknown_name
from .._validation import check_int
from ..orthogonal import cayley, nearest_orthogonal, qr_orthogonalize, rotation_matrix
from ._orthogonal_maps import skew_init

__all__ = [
    "INIT_ALIASES",
    "ORTHOGONAL_INIT_SCHEMES",
    "STRATEGY_NAMES",
    "Strategy",
    "canonical_init_scheme",
    "orthogonal_init_",
    "orthogonal_matrix",
    "parse_strategy",
    "polar_project_",
    "qr_project_",
]

STRATEGY_NAMES = (
    "vanilla",
    "clip",
    "tbptt",
    "orthogonal_init",
    "qr_projection",
    "polar_projection",
    "expm",
    "cayley",
    "lstm",
)
#: The matrices ``orthogonal_init`` may start from (:func:`orthogonal_matrix`); the init
#: schemes of :func:`linalg_rnn.dynamics.init_recurrent` are ``linalg_rnn.dynamics.INIT_SCHEMES``.
ORTHOGONAL_INIT_SCHEMES = ("orthogonal", "identity", "henaff", "cayley")
# other names of the Haar-orthogonal init (the sign-corrected QR of a Gaussian matrix)
INIT_ALIASES = {"qr": "orthogonal", "haar": "orthogonal"}

_PARAMETRIZATION = ("expm", "cayley")
_PROJECTION = {"qr_projection": "qr", "polar_projection": "polar"}
_ORTHOGONAL_ONLY = ("orthogonal_init", "qr_projection", "polar_projection", "expm", "cayley")


@dataclass(frozen=True)
class Strategy:
    """A parsed, checked combination of strategy names.

    Attributes
    ----------
    names : tuple of str
        The parts, in the canonical order of :data:`STRATEGY_NAMES`.

    Examples
    --------
    >>> s = parse_strategy("qr_projection+orthogonal_init")
    >>> str(s), s.model_kind, s.projection, s.parametrization
    ('orthogonal_init+qr_projection', 'fused', 'qr', None)
    """

    names: tuple[str, ...]

    def __str__(self) -> str:
        return "+".join(self.names)

    def uses(self, name: str) -> bool:
        """True when ``name`` is one of the parts."""
        return name in self.names

    @property
    def parametrization(self) -> str | None:
        """``"expm"``, ``"cayley"`` (the key of the map in ``ORTHOGONAL_MAPS``) or ``None``."""
        return next((n for n in self.names if n in _PARAMETRIZATION), None)

    @property
    def projection(self) -> str | None:
        """``"qr"``, ``"polar"`` or ``None``."""
        return next((_PROJECTION[n] for n in self.names if n in _PROJECTION), None)

    @property
    def model_kind(self) -> str:
        """The model this strategy trains: ``"lstm"``, or ``"fused"`` (parametrized or not)."""
        return "lstm" if self.uses("lstm") else "fused"


def parse_strategy(text: str) -> Strategy:
    """Parse ``"a+b+c"`` into a :class:`Strategy`, refusing unknown names and nonsense.

    Parameters
    ----------
    text : str
        Strategy names joined by ``+``, e.g. ``"orthogonal_init+qr_projection+clip"``.

    Returns
    -------
    Strategy

    Raises
    ------
    ValueError
        For an unknown or repeated name, or a combination that makes no sense:
        ``vanilla`` with anything, two parametrizations (``expm+cayley``), two
        projections, a projection on a parametrized (already orthogonal)
        :math:`W_{hh}`, or ``lstm`` with any orthogonality strategy (its
        recurrent weight is four stacked gate blocks, not one square matrix).

    Examples
    --------
    >>> parse_strategy("clip+tbptt").names
    ('clip', 'tbptt')
    >>> parse_strategy("orthogonal_int")
    Traceback (most recent call last):
        ...
    ValueError: unknown strategy 'orthogonal_int'; did you mean 'orthogonal_init'?
    >>> parse_strategy("expm+cayley")
    Traceback (most recent call last):
        ...
    ValueError: strategy 'expm+cayley': choose one parametrization, expm or cayley, not both
    >>> parse_strategy("lstm+qr_projection")
    Traceback (most recent call last):
        ...
    ValueError: strategy 'lstm+qr_projection': qr_projection acts on a tanh RNN's square W_hh; lstm has none
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"strategy must be names joined by '+', got {text!r}")
    parts = [p.strip() for p in text.split("+")]
    for p in parts:
        if p not in STRATEGY_NAMES:
            if len(parts) == 1:  # the whole string is that one name: say it once
                raise unknown_name("strategy", p, STRATEGY_NAMES)
            near = nearest_name(p, STRATEGY_NAMES)
            hint = f"did you mean {near!r}?" if near else f"choose from {', '.join(STRATEGY_NAMES)}"
            raise ValueError(f"unknown strategy {p!r} in {text!r}; {hint}")
    repeated = sorted({p for p in parts if parts.count(p) > 1})
    if repeated:
        raise ValueError(f"strategy {text!r}: {', '.join(repeated)} given more than once")
    names = set(parts)

    def refuse(why: str) -> None:
        raise ValueError(f"strategy {text!r}: {why}")

    if "vanilla" in names and len(names) > 1:
        refuse("vanilla means no strategy; leave it out when combining")
    if {"expm", "cayley"} <= names:
        refuse("choose one parametrization, expm or cayley, not both")
    if {"qr_projection", "polar_projection"} <= names:
        refuse("choose one projection, qr_projection or polar_projection, not both")
    param = names & set(_PARAMETRIZATION)
    proj = names & set(_PROJECTION)
    if param and proj:
        refuse(
            f"{min(param)} keeps W_hh orthogonal by construction; "
            f"{min(proj)} on top of it has nothing to do"
        )
    if "lstm" in names:
        clash = [n for n in _ORTHOGONAL_ONLY if n in names]
        if clash:
            refuse(f"{clash[0]} acts on a tanh RNN's square W_hh; lstm has none")
    return Strategy(tuple(n for n in STRATEGY_NAMES if n in names))


def canonical_init_scheme(scheme: str, name: str = "init scheme", flag: str | None = None) -> str:
    """The canonical name of an init scheme: ``qr`` and ``haar`` are ``orthogonal``.

    ``name`` is what an error message calls the argument, ``flag`` the
    command-line flag it came from (named in the message too).

    Raises
    ------
    ValueError
        For an unknown name, suggesting the nearest known one.

    Examples
    --------
    >>> canonical_init_scheme("haar"), canonical_init_scheme("henaff")
    ('orthogonal', 'henaff')
    >>> canonical_init_scheme("hennaf", "init_scheme", "--init-scheme")
    Traceback (most recent call last):
        ...
    ValueError: unknown init_scheme 'hennaf' (--init-scheme); did you mean 'henaff'?
    """
    known = ORTHOGONAL_INIT_SCHEMES + tuple(INIT_ALIASES)
    if not isinstance(scheme, str) or scheme not in known:
        raise unknown_name(name, scheme, known, flag)
    return INIT_ALIASES.get(scheme, scheme)


def _cpu64(W: torch.Tensor) -> np.ndarray:
    """A float64 NumPy copy of a tensor, through the CPU (MPS holds no float64)."""
    return W.detach().cpu().double().numpy()


def _sign_corrected_qr(W: torch.Tensor) -> torch.Tensor:
    """The textbook's :func:`~linalg_rnn.orthogonal.qr_orthogonalize` of ``W``, in its dtype and device."""
    return torch.from_numpy(qr_orthogonalize(_cpu64(W))).to(dtype=W.dtype, device=W.device)


def orthogonal_matrix(
    n: int,
    scheme: str = "orthogonal",
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """An ``n × n`` orthogonal matrix drawn by one of the initialization schemes.

    Parameters
    ----------
    n : int
        Size.
    scheme : {"orthogonal", "identity", "henaff", "cayley"}
        * ``orthogonal`` (aliases ``qr``, ``haar``): sign-corrected Q of a
          Gaussian matrix, which is Haar-distributed (uniform on the
          orthogonal group; Mezzadri 2007);
        * ``identity``: :math:`I` (Le, Jaitly & Hinton 2015);
        * ``henaff``: block-diagonal 2×2 rotations by angles uniform in
          :math:`[-\\pi, \\pi]` (Henaff, Szlam & LeCun 2016), a 1 on the
          diagonal when ``n`` is odd;
        * ``cayley`` (Helfrich, Willmott & Ye 2018, scoRNN):
          :math:`(I + B_0)^{-1}(I - B_0)` (:func:`linalg_rnn.orthogonal.cayley`)
          of the block-diagonal skew :math:`B_0` of
          :func:`~linalg_rnn.rnn._orthogonal_maps.skew_init`: 2×2 rotations
          by angles uniform in :math:`[0, \\pi/2]`, a 1 when ``n`` is odd.
    generator : torch.Generator, optional
        Source of randomness (on ``device``); the global one if ``None``.
    dtype, device
        Of the result. The draw happens on the generator's device.

    Returns
    -------
    torch.Tensor
        ``Q`` with :math:`Q^\\top Q = I` to rounding.

    Raises
    ------
    ValueError
        For an unknown scheme or ``n < 1``.

    Notes
    -----
    Every scheme puts all eigenvalues on the unit circle; they differ in
    *where*: identity puts them all at 1, Henaff spreads them uniformly,
    Haar spreads them with the circular law of random rotations, and
    Cayley keeps them within :math:`\\pi/2` of 1. Taught in lesson 13.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> Q = orthogonal_matrix(5, "henaff", generator=g)
    >>> torch.allclose(Q.T @ Q, torch.eye(5), atol=1e-6)
    True
    >>> bool(torch.allclose(torch.linalg.eigvals(Q).abs(), torch.ones(5), atol=1e-5))
    True
    """
    n = check_int(n, "n", minimum=1)
    scheme = canonical_init_scheme(scheme)
    gen_device = generator.device if generator is not None else device
    kw = dict(generator=generator, device=gen_device, dtype=torch.float64)
    if scheme == "identity":
        Q = torch.eye(n, dtype=torch.float64, device=gen_device)
    elif scheme == "orthogonal":  # Haar: the textbook's sign-corrected Q of a Gaussian (lesson 04)
        Q = _sign_corrected_qr(torch.randn(n, n, **kw))
    elif scheme == "henaff":  # 2x2 rotations (lesson 04's rotation_matrix) down the diagonal
        Q = torch.eye(n, dtype=torch.float64)
        theta = (torch.rand(n // 2, **kw) * 2 - 1) * math.pi
        for k, angle in enumerate(theta.tolist()):
            Q[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = torch.from_numpy(rotation_matrix(angle))
    else:  # cayley: the book's Cayley map of scoRNN's skew blocks, on a float64 CPU copy
        B0 = skew_init(n, "cayley", generator=generator, device=gen_device)
        Q = torch.from_numpy(cayley(B0.cpu().numpy())).to(gen_device)
    return Q.to(dtype=dtype, device=device if device is not None else gen_device)


def orthogonal_init_(
    weight: torch.Tensor, scheme: str = "orthogonal", *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Overwrite a square weight, in place, with an orthogonal matrix from ``scheme``.

    Parameters
    ----------
    weight : torch.Tensor
        A square ``Parameter`` (e.g. an unparametrized ``weight_hh_l0``).
    scheme : str
        See :func:`orthogonal_matrix`.
    generator : torch.Generator, optional
        Source of randomness.

    Returns
    -------
    torch.Tensor
        ``weight`` itself.

    Raises
    ------
    ValueError
        If ``weight`` is not square.

    Examples
    --------
    >>> W = torch.nn.Parameter(torch.randn(4, 4))
    >>> orthogonal_init_(W, "identity") is W, torch.equal(W.detach(), torch.eye(4))
    (True, True)
    """
    if weight.ndim != 2 or weight.shape[0] != weight.shape[1]:
        raise ValueError(f"orthogonal init needs a square weight, got shape {tuple(weight.shape)}")
    Q = orthogonal_matrix(weight.shape[0], scheme, generator=generator, dtype=weight.dtype)
    with torch.no_grad():
        weight.copy_(Q.to(weight.device))
    return weight


def qr_project_(weight: nn.Parameter) -> nn.Parameter:
    """Replace a square weight, in place, by the sign-corrected Q of its QR factorization.

    Parameters
    ----------
    weight : torch.nn.Parameter
        :math:`W_{hh}`; the same object is kept, so an optimizer holding it
        keeps its state.

    Returns
    -------
    torch.nn.Parameter
        ``weight`` itself, now orthogonal.

    Notes
    -----
    :math:`W = QR` with :math:`\\operatorname{diag}(R) \\ge 0` makes :math:`Q`
    unique and a continuous function of :math:`W`, so projecting an already
    orthogonal matrix returns it unchanged (:math:`R = I`). Without the sign
    correction LAPACK may flip columns at random and the weights jump.
    :math:`Q` is *not* the nearest orthogonal matrix to :math:`W`; the polar
    factor is (:func:`polar_project_`). The factorization is the textbook's
    :func:`linalg_rnn.orthogonal.qr_orthogonalize` (one Householder QR,
    :math:`\\tfrac{4}{3}n^3` flops) on a float64 copy on the CPU, copied back
    in the weight's dtype. Runs under ``torch.no_grad()``. Taught in lesson 13.

    Examples
    --------
    >>> W = torch.nn.Parameter(torch.randn(5, 5, generator=torch.Generator().manual_seed(0)))
    >>> P = qr_project_(W)
    >>> P is W, torch.allclose(W.T @ W, torch.eye(5), atol=1e-5)
    (True, True)
    """
    with torch.no_grad():
        weight.copy_(_sign_corrected_qr(weight))
    return weight


def polar_project_(weight: nn.Parameter) -> nn.Parameter:
    """Replace a square weight, in place, by its polar factor :math:`UV^\\top` (nearest orthogonal).

    Parameters
    ----------
    weight : torch.nn.Parameter
        :math:`W_{hh} = U \\Sigma V^\\top`; the same object is kept.

    Returns
    -------
    torch.nn.Parameter
        ``weight`` itself, now :math:`UV^\\top`.

    Notes
    -----
    :math:`UV^\\top` minimizes :math:`\\|W - Q\\|_F` over orthogonal :math:`Q`
    (Higham, *Functions of Matrices*, Thm 8.4), so it moves the weights the
    least; it costs an SVD, several times a QR. The factor is the textbook's
    :func:`linalg_rnn.orthogonal.nearest_orthogonal` on a float64 copy on the CPU.
    Runs under ``torch.no_grad()``. Taught in lesson 13.

    Examples
    --------
    >>> W = torch.nn.Parameter(torch.randn(5, 5, generator=torch.Generator().manual_seed(0)))
    >>> W0 = W.detach().clone()
    >>> _ = polar_project_(W)
    >>> Q = qr_project_(torch.nn.Parameter(W0.clone()))
    >>> bool(torch.linalg.norm(W0 - W) <= torch.linalg.norm(W0 - Q))
    True
    """
    with torch.no_grad():
        weight.copy_(torch.from_numpy(nearest_orthogonal(_cpu64(weight))))  # copy_ converts dtype and device
    return weight
