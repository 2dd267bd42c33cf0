"""Scaling by powers of two: how the book's routines survive the whole float64 range.

Multiplying a float by :math:`2^k` changes only its exponent, so it is exact
as long as the result stays between the smallest normal number
(:math:`2^{-1022} \\approx 2.2 \\times 10^{-308}`) and the largest
(:math:`\\approx 1.8 \\times 10^{308}`).  LAPACK's ``dnrm2`` and ``dlarfg`` use
the idea to compute norms and reflectors without overflow or underflow: bring
the largest entry near 1, compute, scale back.  Squaring :math:`10^{200}`
overflows, squaring :math:`10^{-200}` underflows to zero, but squaring
:math:`0.7` does neither.

Because the scaling is exact, a computation done on :math:`2^{-e}A` and scaled
back gives, for an ``A`` in the comfortable middle of the range, *bitwise* the
same numbers as the computation on ``A`` itself; only at the edges does it
change anything, and there it is the difference between an answer and ``inf``
or ``0``.  It also makes results exactly scale-equivariant: ``A`` and
:math:`2^kA` are scaled to the same matrix.

These helpers are private; the modules that use them say so in their Notes.
"""

from __future__ import annotations

import math

import numpy as np

#: Exponents beyond this take any float64 to 0 or inf: ldexp is clipped here so
#: it never sees an exponent too large for a C int.
_EXPONENT_LIMIT = 4096


def exponent(x: np.ndarray) -> int:
    """The ``e`` with :math:`2^{e-1} \\le \\max|x| < 2^e` (0 for an all-zero ``x``).

    Then :math:`2^{-e}x` has its largest entry in :math:`[1/2, 1)`.

    Examples
    --------
    >>> exponent(np.array([3.0, -0.5])), exponent(np.array([1e300])), exponent(np.zeros(2))
    (2, 997, 0)
    """
    top = float(np.max(np.abs(x)))
    return math.frexp(top)[1] if top > 0 else 0


def ldexp(x: np.ndarray | complex | float, e: int) -> np.ndarray:
    """:math:`2^e x`, rounded once; ``inf`` past the largest float, 0 below the smallest.

    Complex ``x`` is scaled part by part (``numpy.ldexp`` takes reals only).

    Examples
    --------
    >>> ldexp(np.array([0.75]), 3), ldexp(np.array([1.0]), 2000), ldexp(np.array([1j]), -1)
    (array([6.]), array([inf]), array([0.+0.5j]))
    >>> ldexp(np.array([1 + 1j]), 2000)
    array([inf+infj])
    """
    e = max(-_EXPONENT_LIMIT, min(_EXPONENT_LIMIT, int(e)))
    with np.errstate(over="ignore", under="ignore"):
        if np.iscomplexobj(x):
            x = np.asarray(x)
            out = np.empty_like(x)  # set the parts: 1j * inf would be nan + inf j
            out.real, out.imag = ldexp(x.real, e), ldexp(x.imag, e)
            return out
        if abs(e) <= 1000:  # 2.0**e is a float, and one correctly rounded product is ldexp
            return np.multiply(x, 2.0**e)
        return np.ldexp(x, e)


def scaled(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``(2^-e x, e)`` with the largest entry of :math:`2^{-e}x` in :math:`[1/2, 1)`.

    Entries far smaller than the largest may underflow to zero: their share
    of any norm or product is below rounding.

    Examples
    --------
    >>> scaled(np.array([6.0, 1.0]))
    (array([0.75 , 0.125]), 3)
    """
    e = exponent(x)
    return ldexp(x, -e), e


def norm2(x: np.ndarray) -> float:
    """:math:`\\|x\\|_2` of a vector (:math:`\\|x\\|_F` of a matrix), never overflowing or underflowing.

    ``numpy.linalg.norm`` squares the entries as they are, so
    ``norm([1e200, 1e200])`` is ``inf`` and ``norm([1e-200, 0])`` is 0.  Here
    the entries are first divided by the largest one, :math:`s = \\max|x_i|`,
    and :math:`\\|x\\|_2 = s\\,\\|x/s\\|_2`: the squares of :math:`x_i/s` lie in
    :math:`[0, 1]`, so their sum can neither overflow nor lose the largest one
    to underflow (the idea of LAPACK's ``dnrm2``).  The result is ``inf`` only
    when the norm itself is beyond float64, and :math:`2^kx` has norm
    :math:`2^k\\|x\\|_2` exactly.  Every scaled norm of the package is this one
    (Gram--Schmidt's :math:`r_{jj}`, the tolerances of the eigen iterations).

    Examples
    --------
    >>> norm2(np.array([3e200, 4e200])), norm2(np.array([3e-200, 4e-200])), norm2(np.array([3.0, 4.0]))
    (5e+200, 5e-200, 5.0)
    """
    x = np.ravel(x)
    scale = float(np.max(np.abs(x)))
    if scale == 0.0:
        return 0.0
    y = x / scale
    return scale * math.sqrt(np.vdot(y, y))


def unit(x: np.ndarray) -> np.ndarray:
    """:math:`x/\\|x\\|_2` for a nonzero vector, at any scale.

    Examples
    --------
    >>> unit(np.array([3e300, 4e300])), unit(np.array([0.0, 5e-320]))
    (array([0.6, 0.8]), array([0., 1.]))
    """
    xs, _ = scaled(x)
    return xs / np.sqrt(xs @ xs)


def spectral_norm(A: np.ndarray) -> float:
    """:math:`\\|A\\|_2`, the largest singular value, without overflow in LAPACK's scaling.

    Examples
    --------
    >>> spectral_norm(np.full((2, 2), 1e308))
    inf
    >>> spectral_norm(np.diag([3e-310, 1e-320]))
    3e-310
    """
    As, e = scaled(A)
    return float(ldexp(np.linalg.norm(As, 2), e))
