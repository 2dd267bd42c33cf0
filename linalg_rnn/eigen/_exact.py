"""Exact eigenvalues from the characteristic polynomial, with sympy (lesson 01)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import mpmath
import sympy

from .._validation import as_exact_square_matrix

__all__ = ["LAMBDA", "characteristic_polynomial", "eigenvalues_exact"]

LAMBDA = sympy.Symbol("lambda")
"""The sympy symbol :math:`\\lambda` used by :func:`characteristic_polynomial`."""

def characteristic_polynomial(A: Any) -> sympy.Expr:
    """The characteristic polynomial :math:`\\det(A - \\lambda I)`, exactly.

    Parameters
    ----------
    A : array_like or sympy.Matrix, shape (n, n)
        A real square matrix.  Integers, :class:`fractions.Fraction` and sympy
        numbers (such as ``sympy.sqrt(2)/2``) stay exact; floats become sympy
        Floats, so the result then has floating-point coefficients.

    Returns
    -------
    sympy.Expr
        The expanded polynomial in the symbol ``lambda`` (:math:`\\lambda`).
        Its leading coefficient is :math:`(-1)^n`.

    Raises
    ------
    ValueError
        If ``A`` is not 2-D, not square, empty, or holds NaN or infinity.
    TypeError
        If ``A`` holds strings, complex numbers or symbols.

    Notes
    -----
    :math:`\\lambda` is an eigenvalue exactly when :math:`A - \\lambda I` is
    singular, that is when

    .. math:: p(\\lambda) = \\det(A - \\lambda I) = 0 .

    The determinant is expanded symbolically (Berkowitz's division-free
    algorithm), which is fine for the small matrices of a lesson and hopeless
    for large ones: numerical eigenvalue solvers never form :math:`p` (its
    roots are badly conditioned functions of its coefficients; see Trefethen &
    Bau, Lecture 25).  Taught in lesson 01.

    See Also
    --------
    eigenvalues_exact : The roots of this polynomial with their multiplicities.

    Examples
    --------
    >>> characteristic_polynomial([[1, 1], [1, 1]])
    lambda**2 - 2*lambda
    >>> import sympy
    >>> r = sympy.sqrt(2) / 2
    >>> characteristic_polynomial([[r, -r], [-r, -r]])
    lambda**2 - 1
    """
    M = as_exact_square_matrix(A, "A")
    n = M.shape[0]
    p = (M - LAMBDA * sympy.eye(n)).det(method="berkowitz")
    return sympy.expand(p)


def _numeric_sort_key(z: sympy.Expr) -> tuple[float, float]:
    value = complex(sympy.N(z))
    return (value.real, value.imag)


def _eigenvalues_numerically(M: sympy.Matrix) -> Counter:
    """The eigenvalues of ``M`` from its entries, in high-precision arithmetic, rounded to float precision.

    mpmath's QR algorithm works on the matrix itself (never on the badly
    conditioned polynomial), and its numbers have no exponent limit.  Its
    errors are of the size of the largest entry times :math:`10^{-d}`, so
    :math:`d` is 40 digits plus the decimal span of the entries: then an
    entry of 1 beside one of :math:`10^{300}` still counts to 40 digits.
    An imaginary part below float precision (relative to the eigenvalue) or
    below the arithmetic's rounding is zero: the matrix is real.
    """
    if M.shape[0] == 1:  # mpmath.eig needs n >= 2; a 1 x 1 matrix is its eigenvalue
        return Counter({sympy.Float(sympy.N(M[0, 0], 30), 15): 1})
    entries = [abs(sympy.N(x)) for x in M if not x.is_zero]
    if not entries:
        return Counter({sympy.Float(0, 15): M.shape[0]})
    span = float(sympy.log(max(entries) / min(entries), 10))
    digits = 40 + int(span)
    with mpmath.workdps(digits):
        A = mpmath.matrix([[mpmath.mpf(sympy.N(x, digits)) for x in row] for row in M.tolist()])
        found = [mpmath.mpc(z) for z in mpmath.eig(A, left=False, right=False)]
        noise = max(abs(z) for z in found) * mpmath.mpf(10) ** (10 - digits)
        values = []
        for z in found:
            if abs(z.imag) <= max(abs(z) * mpmath.mpf("1e-15"), noise):
                values.append(sympy.Float(z.real, 15))
            else:
                values.append(sympy.Float(z.real, 15) + sympy.Float(z.imag, 15) * sympy.I)
    return Counter(values)


def eigenvalues_exact(A: Any) -> dict[sympy.Expr, int]:
    """The eigenvalues of ``A`` as exact sympy numbers, with their multiplicities.

    Parameters
    ----------
    A : array_like or sympy.Matrix, shape (n, n)
        A real square matrix; entries as for :func:`characteristic_polynomial`.

    Returns
    -------
    dict
        ``{eigenvalue: algebraic multiplicity}``, sorted by real part and then
        imaginary part.  The multiplicities add up to ``n``.  Complex
        eigenvalues of a real matrix come as conjugate pairs (they contain
        ``sympy.I``); roots with no closed form come as ``sympy.CRootOf``.

    Raises
    ------
    ValueError
        If ``A`` is not 2-D, not square, empty, or holds NaN or infinity.
    TypeError
        If ``A`` holds strings, complex numbers or symbols.

    Notes
    -----
    The roots of :math:`\\det(A - \\lambda I)`, found by sympy.  A root of
    multiplicity :math:`m` appears once with the value :math:`m`.

    When ``A`` holds floats the answer cannot be exact, and the polynomial is
    the wrong road to it: its float coefficients have lost the small
    eigenvalues of ``[[1e300, 0], [0, 1e-300]]`` (the constant term
    :math:`10^{300}\\cdot 10^{-300}` is right, but :math:`-\\lambda` times
    :math:`10^{300} + 10^{-300}` rounds to :math:`-10^{300}\\lambda`), and
    root finders fail on roots 300 orders of magnitude apart.  So the
    eigenvalues of a float matrix (or of one whose polynomial has no roots in
    closed form and irrational coefficients) are computed from the matrix
    itself, by mpmath's QR algorithm in 60-digit arithmetic with no exponent
    limit, and returned as sympy Floats of float precision; values equal to
    15 significant digits count as one eigenvalue with its multiplicity.
    This gives the eigenvalues of the float matrix as stored, at any scale.
    Taught in lesson 01.

    See Also
    --------
    characteristic_polynomial : The polynomial whose roots these are.
    numpy.linalg.eigvals : Floating-point eigenvalues, for any size.

    Examples
    --------
    >>> eigenvalues_exact([[1, 1], [1, 1]])
    {0: 1, 2: 1}
    >>> eigenvalues_exact([[2, 0], [0, 2]])
    {2: 2}
    >>> eigenvalues_exact([[0, -1], [1, 0]])
    {-I: 1, I: 1}
    >>> eigenvalues_exact([[1e300, 1], [1, 1]])
    {1.00000000000000: 1, 1.00000000000000e+300: 1}
    """
    M = as_exact_square_matrix(A, "A")
    if M.has(sympy.Float):
        found = _eigenvalues_numerically(M)
    else:
        poly = sympy.Poly(characteristic_polynomial(M), LAMBDA)
        found = sympy.roots(poly)
        if sum(found.values()) < poly.degree():
            # No closed form for some roots: exact CRootOf objects when the
            # coefficients are rational, else the numerical route.
            try:
                found = Counter(poly.all_roots())
            except (sympy.polys.polyerrors.PolynomialError, NotImplementedError):
                found = _eigenvalues_numerically(M)
    return {z: found[z] for z in sorted(found, key=_numeric_sort_key)}
