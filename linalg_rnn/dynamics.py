"""Gradient flow in a recurrent network: repeated products, BPTT Jacobians, clipping.

Part III of the course turns the linear algebra of parts I and II into the RNN
story.  A vanilla RNN updates its hidden state with

.. math::

    a_t = W_{hh} h_{t-1} + W_{ih} x_t + b, \\qquad h_t = f(a_t),

with an activation :math:`f` (tanh unless said otherwise), so backpropagation
through time multiplies by :math:`W_{hh}` once per step.
This module holds the small tools the lessons use to watch that happen:

* :func:`init_recurrent` -- the usual ways to initialize :math:`W_{hh}`;
* :func:`repeated_products` -- norms and spectra of :math:`W^t`;
* :func:`bptt_jacobian_norms` -- :math:`\\|\\partial h_T / \\partial h_t\\|_2` for every lag;
* :func:`clip_grad_norm` and :func:`clip_grad_value` -- the textbook versions
  of gradient clipping (the trainer uses torch's own), kept in the private
  ``_clipping.py`` (lesson 10) the way SciPy keeps ``_decomp_qr.py``.

Everything here is plain NumPy in float64, written to be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._clipping import CLIP_EPS as CLIP_EPS  # torch's epsilon, part of this module's story
from ._clipping import clip_grad_norm, clip_grad_value
from ._scaling import exponent, ldexp, scaled
from ._validation import (
    as_square_matrix,
    check_choice,
    check_int,
    check_memory,
    check_positive_float,
    check_rnn,
    check_seed,
)
from .orthogonal import random_orthogonal

__all__ = [
    "INIT_SCHEMES",
    "JacobianNorms",
    "RepeatedProducts",
    "bptt_jacobian_norms",
    "clip_grad_norm",
    "clip_grad_value",
    "init_recurrent",
    "repeated_products",
]

#: The names :func:`init_recurrent` accepts for ``scheme``.
INIT_SCHEMES = ("normal", "uniform", "orthogonal", "identity", "scaled_orthogonal")

#: The activations :func:`bptt_jacobian_norms` knows, with their derivatives.
_ACTIVATIONS = ("tanh", "linear")



# ----------------------------------------------------------------------------
# Initialization
# ----------------------------------------------------------------------------


def init_recurrent(
    n: int,
    scheme: str,
    *,
    gain: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """A recurrent weight matrix :math:`W_{hh}` (n × n) drawn by a named scheme.

    Parameters
    ----------
    n : int
        Hidden size (the number of rows and columns), at least 1.
    scheme : {"normal", "uniform", "orthogonal", "identity", "scaled_orthogonal"}
        How to draw the entries:

        * ``"normal"`` -- i.i.d. :math:`\\mathcal{N}(0, (g/\\sqrt{n})^2)`;
        * ``"uniform"`` -- i.i.d. uniform on :math:`[-g/\\sqrt{n}, g/\\sqrt{n}]`,
          which at ``gain=1`` is PyTorch's default for ``torch.nn.RNN``;
        * ``"orthogonal"`` -- a Haar-random orthogonal :math:`Q`
          (:func:`linalg_rnn.orthogonal.random_orthogonal`); ``gain`` must be 1,
          so the result is always orthogonal;
        * ``"identity"`` -- :math:`g I` (Le, Jaitly & Hinton 2015 use it with ReLU);
        * ``"scaled_orthogonal"`` -- :math:`g Q` with the same :math:`Q` that
          ``"orthogonal"`` draws from the same seed, so every singular value
          and every eigenvalue modulus equals :math:`g`.
    gain : float, default 1.0
        The scale :math:`g`, finite and > 0.
    seed : int, numpy.random.Generator or None, default None
        Seed for ``numpy.random.default_rng``; the same seed gives the same
        matrix.  Ignored by ``"identity"``.

    Returns
    -------
    W_hh : numpy.ndarray
        A new float64 array of shape ``(n, n)``.

    Raises
    ------
    TypeError
        If ``n`` or ``seed`` is not an integer, or ``gain`` is not a number.
    ValueError
        If ``n < 1`` (or so large the matrix would not fit in memory),
        ``scheme`` is unknown, ``gain`` is not finite and positive,
        ``gain != 1`` with ``scheme="orthogonal"``, or a ``"normal"`` entry
        drawn at this ``gain`` is beyond float64.

    Notes
    -----
    The :math:`1/\\sqrt{n}` scaling keeps the spectral radius of the random
    schemes near a constant as :math:`n` grows: by the circular law the
    eigenvalues of a ``"normal"`` matrix fill the disc of radius :math:`g`,
    those of a ``"uniform"`` one the disc of radius :math:`g/\\sqrt{3}` (its
    entries have standard deviation :math:`g/\\sqrt{3n}`).  Only the
    orthogonal schemes put every eigenvalue *on* a circle, which is why they
    neither explode nor vanish under repeated multiplication (Saxe, McClelland
    & Ganguli 2014).  Cost: :math:`O(n^2)` for the random schemes,
    :math:`O(n^3)` for the orthogonal ones (a QR factorization).  Any gain up
    to the largest float works: ``"uniform"`` draws on
    :math:`[-2^{-e}s, 2^{-e}s]` and scales back by :math:`2^e` (exactly, so
    the numbers are those of ``rng.uniform(-s, s)``, which would overflow
    computing :math:`2s`); a ``"normal"`` entry beyond float64 is an error.

    Taught in lesson 08.

    See Also
    --------
    linalg_rnn.orthogonal.random_orthogonal : the Haar-random :math:`Q`.
    repeated_products : what happens to :math:`W^t` for each scheme.

    Examples
    --------
    >>> import numpy as np
    >>> W = init_recurrent(4, "orthogonal", seed=0)
    >>> np.allclose(W.T @ W, np.eye(4))
    True
    >>> np.allclose(init_recurrent(4, "scaled_orthogonal", gain=0.9, seed=0), 0.9 * W)
    True
    >>> init_recurrent(2, "identity", gain=0.5)
    array([[0.5, 0. ],
           [0. , 0.5]])
    >>> np.array_equal(init_recurrent(3, "normal", seed=7), init_recurrent(3, "normal", seed=7))
    True
    """
    n = check_int(n, "n", minimum=1)
    scheme = check_choice(scheme, "scheme", INIT_SCHEMES)
    gain = check_positive_float(gain, "gain")
    if scheme == "orthogonal" and gain != 1.0:
        raise ValueError(
            f"gain must be 1 for scheme 'orthogonal' (got {gain}); "
            "use scheme='scaled_orthogonal' for gain * Q"
        )
    check_memory(3 * 8 * n * n, "n", n, "an n x n matrix")
    rng = check_seed(seed)

    if scheme == "identity":
        return gain * np.eye(n)
    if scheme in ("orthogonal", "scaled_orthogonal"):
        return gain * random_orthogonal(n, seed=rng)
    scale = gain / np.sqrt(n)
    if scheme == "normal":
        with np.errstate(over="ignore"):
            W = scale * rng.standard_normal((n, n))
        if not np.all(np.isfinite(W)):
            raise ValueError(f"gain={gain:g} is too large: an entry drawn at that scale is beyond float64")
        return W
    e = exponent(np.array(scale))  # "uniform": draw at a power-of-two scale, so high - low cannot overflow
    return ldexp(rng.uniform(-ldexp(scale, -e), ldexp(scale, -e), size=(n, n)), e)


# ----------------------------------------------------------------------------
# Repeated products W^t
# ----------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class RepeatedProducts:
    """Norms and spectra of the powers :math:`W^t`, for t = 0, 1, ..., ``steps``.

    Attributes
    ----------
    t : numpy.ndarray
        The exponents ``0, 1, ..., steps`` (shape ``(steps + 1,)``); row ``t``
        of every other array belongs to :math:`W^t`, and :math:`W^0 = I`.
    norms : numpy.ndarray
        Spectral norms :math:`\\|W^t\\|_2` (largest singular value).
    spectral_radii : numpy.ndarray
        :math:`\\rho(W^t) = \\max_i |\\lambda_i(W^t)|`.
    eigenvalues : numpy.ndarray
        Complex array of shape ``(steps + 1, n)``: the eigenvalues of the
        computed product :math:`W^t`, sorted by decreasing modulus.
    """

    t: np.ndarray
    norms: np.ndarray
    spectral_radii: np.ndarray
    eigenvalues: np.ndarray = field(repr=False)

    def __repr__(self) -> str:
        steps = int(self.t[-1])
        n = self.eigenvalues.shape[1]
        return (
            f"RepeatedProducts(n={n}, steps={steps}, "
            f"norm[1]={self.norms[min(1, steps)]:.4g}, norm[{steps}]={self.norms[-1]:.4g}, "
            f"spectral_radius[{steps}]={self.spectral_radii[-1]:.4g})"
        )


def repeated_products(W: Any, steps: int) -> RepeatedProducts:
    """Multiply by :math:`W` again and again and record :math:`\\|W^t\\|_2` and the spectrum of :math:`W^t`.

    This is the simplest RNN there is: no input, no bias, identity activation
    and :math:`h_0 = I`, so :math:`h_t = W h_{t-1} = W^t`.

    Parameters
    ----------
    W : array_like, shape (n, n)
        The recurrent matrix :math:`W_{hh}`; real and finite.
    steps : int
        The largest exponent, >= 0.

    Returns
    -------
    RepeatedProducts
        ``t``, ``norms``, ``spectral_radii`` and ``eigenvalues`` for
        :math:`t = 0, \\dots, \\text{steps}` (row 0 is :math:`W^0 = I`).

    Raises
    ------
    TypeError
        If ``W`` is not real numbers or ``steps`` is not an integer.
    ValueError
        If ``W`` is not a finite, non-empty square matrix, or ``steps < 0``,
        or so large that the record of every step would not fit in memory.

    Notes
    -----
    The products are formed one multiplication at a time,
    :math:`W^t = W W^{t-1}`, the way an RNN forms them, not by
    :func:`numpy.linalg.matrix_power` (repeated squaring).  The spectrum is that
    of the computed matrix, so rounding shows: for a non-normal :math:`W`,
    :math:`W^t` drifts towards rank one and its small eigenvalues are lost
    below :math:`\\varepsilon \\|W^t\\|`, while :math:`\\lambda_i(W)^t` would
    keep them.

    If :math:`W = V \\Lambda V^{-1}` then :math:`W^t = V \\Lambda^t V^{-1}`, so
    :math:`\\rho(W^t) = \\rho(W)^t`: the powers vanish when
    :math:`\\rho(W) < 1` and explode when :math:`\\rho(W) > 1`.  The norm obeys
    :math:`\\rho(W)^t \\le \\|W^t\\|_2 \\le \\|W\\|_2^t`, with equality for
    normal matrices; an orthogonal :math:`W` has :math:`\\|W^t\\|_2 = 1` for
    every t.  Cost: :math:`O(\\text{steps}\\, n^3)`.

    The product is carried as :math:`W^t = 2^{E_t} P_t` with the largest
    entry of :math:`P_t` in :math:`[1/2, 1)` (scaling by powers of two is
    exact), so it never overflows or underflows on the way: a norm or an
    eigenvalue is ``inf`` (or 0) only when it is itself beyond float64, as
    :math:`\\|W^t\\|_2 = 10^{400}` is.  In the middle of the range the numbers
    are bit for bit those of plain repeated multiplication.

    Taught in lesson 08.

    See Also
    --------
    init_recurrent : the matrices lesson 08 feeds in.
    bptt_jacobian_norms : the same products with an activation in between.

    Examples
    --------
    >>> import numpy as np
    >>> res = repeated_products([[0.5, 0.0], [0.0, 2.0]], steps=3)
    >>> res.norms
    array([1., 2., 4., 8.])
    >>> np.round(res.spectral_radii, 12)
    array([1., 2., 4., 8.])
    >>> res
    RepeatedProducts(n=2, steps=3, norm[1]=2, norm[3]=8, spectral_radius[3]=8)
    """
    W = as_square_matrix(W, "W")
    steps = check_int(steps, "steps", minimum=0)
    n = W.shape[0]
    check_memory(8 * (steps + 1) * (1 + 2 * n), "steps", steps, "the norm and spectrum of every power")
    W_hat, e_W = scaled(W)  # W = 2^e_W W_hat
    norms = np.empty(steps + 1)
    eigenvalues = np.empty((steps + 1, n), dtype=np.complex128)
    P, E = np.eye(n), 0  # W^0 = 2^E P
    for t in range(steps + 1):
        if t > 0:
            # One more step of h_t = W h_{t-1}, kept as 2^E P so it cannot overflow or underflow.
            P, e = scaled(W_hat @ P)
            E += e_W + e
        norms[t] = ldexp(np.linalg.norm(P, 2), E)
        lam = ldexp(np.linalg.eigvals(P), E)
        eigenvalues[t] = lam[np.argsort(-np.abs(lam), kind="stable")]
    return RepeatedProducts(
        t=np.arange(steps + 1),
        norms=norms,
        spectral_radii=np.abs(eigenvalues[:, 0]),
        eigenvalues=eigenvalues,
    )


# ----------------------------------------------------------------------------
# BPTT Jacobians
# ----------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class JacobianNorms:
    """:math:`\\|\\partial h_T / \\partial h_{T-\\ell}\\|_2` for every lag :math:`\\ell`.

    Attributes
    ----------
    lags : numpy.ndarray
        ``0, 1, ..., T``; entry ``ell`` of ``norms`` is about
        :math:`\\partial h_T / \\partial h_{T-\\ell}` (lag 0 is the identity).
    norms : numpy.ndarray
        Spectral norms of those Jacobians, shape ``(T + 1,)``.
    hidden : numpy.ndarray
        The forward states :math:`h_0, \\dots, h_T`, shape ``(T + 1, n)``.
    sigma_prime : numpy.ndarray
        The slopes :math:`f'(a_t)` of the activation for :math:`t = 1, \\dots, T`, shape ``(T, n)``
        (row ``t - 1`` is step t); all ones for the linear activation.
    activation : str
        ``"tanh"`` or ``"linear"``.
    jacobians : numpy.ndarray or None
        The Jacobians themselves, shape ``(T + 1, n, n)`` indexed by lag, when
        asked for with ``keep_jacobians=True``.
    """

    lags: np.ndarray
    norms: np.ndarray
    hidden: np.ndarray
    sigma_prime: np.ndarray
    activation: str
    jacobians: np.ndarray | None = None

    def __repr__(self) -> str:
        T = int(self.lags[-1])
        return (
            f"JacobianNorms(activation={self.activation!r}, T={T}, n={self.hidden.shape[1]}, "
            f"norm[lag 1]={self.norms[min(1, T)]:.4g}, norm[lag {T}]={self.norms[-1]:.4g})"
        )


def bptt_jacobian_norms(
    W_hh: Any,
    inputs: Any = None,
    h0: Any = None,
    *,
    W_xh: Any = None,
    b: Any = None,
    activation: str = "tanh",
    steps: int | None = None,
    keep_jacobians: bool = False,
) -> JacobianNorms:
    """Run a vanilla RNN forward and measure :math:`\\|\\partial h_T/\\partial h_t\\|_2` for every t.

    The network is

    .. math::

        a_t = W_{hh} h_{t-1} + W_{ih} x_t + b, \\qquad h_t = f(a_t),
        \\qquad t = 1, \\dots, T,

    and the Jacobian of the last state with respect to an earlier one is the
    explicit product

    .. math::

        \\frac{\\partial h_T}{\\partial h_t}
        = \\prod_{i=T}^{t+1} \\operatorname{diag}(f'(a_i))\\, W_{hh}
        = D_T W_{hh}\\, D_{T-1} W_{hh} \\cdots D_{t+1} W_{hh}.

    Parameters
    ----------
    W_hh : array_like, shape (n, n)
        The recurrent matrix :math:`W_{hh}`.
    inputs : array_like, shape (T, n_in), optional
        The inputs :math:`x_1, \\dots, x_T`, one row per step.  Without
        ``W_xh`` they are added to :math:`a_t` as they are, so ``n_in`` must
        equal ``n``.  ``None`` means no input (then give ``steps``).
    h0 : array_like, shape (n,), optional
        The initial state :math:`h_0`; zeros by default.
    W_xh : array_like, shape (n, n_in), optional
        The input matrix :math:`W_{ih}` (PyTorch's ``weight_ih_l0``); needs
        ``inputs``.
    b : array_like, shape (n,), optional
        The bias :math:`b`; zeros by default.
    activation : {"tanh", "linear"}, default "tanh"
        The activation :math:`f`; ``"linear"`` is the identity, so every
        :math:`D_i = I` and the Jacobian is :math:`W_{hh}^{T-t}`.
    steps : int, optional
        :math:`T`, required when ``inputs`` is None; must equal ``len(inputs)``
        when both are given.  At least 1.
    keep_jacobians : bool, default False
        Also return the full Jacobians (``T + 1`` matrices of size n × n).

    Returns
    -------
    JacobianNorms
        ``norms[ell]`` is :math:`\\|\\partial h_T/\\partial h_{T-\\ell}\\|_2`
        for lags ``ell = 0, ..., T``, with the states and the slopes :math:`f'(a_t)`.

    Raises
    ------
    TypeError
        If an array argument is not real numbers, ``steps`` is not an integer
        or ``keep_jacobians`` is not a bool.
    ValueError
        If a shape does not match, an array is empty or holds NaN/inf,
        ``activation`` is unknown, ``steps < 1``, neither or conflicting
        ``inputs`` and ``steps`` are given, ``W_xh`` comes without ``inputs``,
        or the states of every step would not fit in memory.

    Notes
    -----
    With :math:`f = \\tanh`, :math:`f'(a) = 1 - \\tanh^2(a) \\in (0, 1]`,
    so :math:`\\|D_i\\|_2 \\le 1` and

    .. math::

        \\|\\partial h_T/\\partial h_t\\|_2 \\le \\|W_{hh}\\|_2^{\\,T-t}.

    A small :math:`\\|W_{hh}\\|_2` therefore makes the gradient vanish
    geometrically; a large spectral radius lets it explode (as long as the
    units do not saturate); an orthogonal :math:`W_{hh}` keeps it at exactly 1
    only when every :math:`D_i = I` -- saturated tanh units
    (:math:`f' \\approx 0`) break that guarantee (Pascanu, Mikolov &
    Bengio 2013, section 2).  The product is accumulated from lag 1 upwards,
    :math:`J_\\ell = J_{\\ell-1} D_{T-\\ell+1} W_{hh}`, in float64; each step is
    an :math:`n \\times n` product and an SVD, so the cost is
    :math:`O(T n^3)`.  Like :func:`repeated_products` it is carried as
    :math:`2^{E}J` with :math:`J` of largest entry near 1, so a norm is
    ``inf`` (or 0) only when it is itself beyond float64 (:math:`1.5^{2000}`
    is; a gradient of :math:`10^{-320}` underflows), never because an
    intermediate product did.  With ``"linear"`` the states themselves can
    leave float64 (``inf``, or NaN where two infinities meet); with
    ``"tanh"`` an :math:`a_t` beyond float64 is ``inf`` and saturates.

    Taught in lesson 09.

    See Also
    --------
    repeated_products : the linear case without input, :math:`W^t`.

    Examples
    --------
    >>> import numpy as np
    >>> res = bptt_jacobian_norms(0.5 * np.eye(3), activation="linear", steps=4)
    >>> res.norms
    array([1.    , 0.5   , 0.25  , 0.125 , 0.0625])
    >>> rng = np.random.default_rng(0)
    >>> res = bptt_jacobian_norms(np.eye(3), rng.standard_normal((5, 3)), activation="tanh")
    >>> res.lags
    array([0, 1, 2, 3, 4, 5])
    >>> bool(np.all(res.norms[1:] < 1))  # tanh' < 1 away from 0 shrinks every step
    True
    """
    W_hh, X, W_xh, b, h = check_rnn(
        W_hh, inputs, h0, W_xh=W_xh, b=b, steps=steps, keep_jacobians=keep_jacobians
    )
    activation = check_choice(activation, "activation", _ACTIVATIONS)
    T, n = X.shape[0], W_hh.shape[0]

    # Forward: a_t = W_hh h_{t-1} + W_ih x_t + b and h_t = f(a_t), keeping every
    # h_t and f'(a_t) (in sigma_prime) for the backward product.
    drive = X @ W_xh.T + b  # row t - 1 is W_ih x_t + b
    hidden = np.empty((T + 1, n))
    sigma_prime = np.ones((T, n))
    hidden[0] = h
    for t in range(1, T + 1):
        with np.errstate(over="ignore", invalid="ignore"):  # |a_t| past 1e308 is inf: tanh(inf) = 1
            a = W_hh @ hidden[t - 1] + drive[t - 1]
        if activation == "tanh":
            hidden[t] = np.tanh(a)
            sigma_prime[t - 1] = 1.0 - hidden[t] ** 2  # tanh'(a) = 1 - tanh(a)^2
        else:
            hidden[t] = a

    # Backward: dh_T/dh_{T-lag} = D_T W_hh D_{T-1} W_hh ... D_{T-lag+1} W_hh, one factor
    # more per lag, J_lag = J_{lag-1} diag(f'(a_{T-lag+1})) W_hh, kept as 2^E J
    # (W_hh = 2^e_W W_hat) so that the product can neither overflow nor underflow.
    W_hat, e_W = scaled(W_hh)
    norms = np.empty(T + 1)
    jacobians = np.empty((T + 1, n, n)) if keep_jacobians else None
    J, E = np.eye(n), 0
    for lag in range(T + 1):
        if lag > 0:
            J, e = scaled(J @ (sigma_prime[T - lag][:, None] * W_hat))
            E += e_W + e
        norms[lag] = ldexp(np.linalg.norm(J, 2), E)
        if jacobians is not None:
            jacobians[lag] = ldexp(J, E)
    return JacobianNorms(
        lags=np.arange(T + 1),
        norms=norms,
        hidden=hidden,
        sigma_prime=sigma_prime,
        activation=activation,
        jacobians=jacobians,
    )
