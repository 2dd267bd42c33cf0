"""Eigenvalues: why repeated products explode, vanish or settle.

Part I of the course.  An eigenpair of a square matrix :math:`A` is a number
:math:`\\lambda` and a nonzero vector :math:`x` with :math:`Ax = \\lambda x`:
along :math:`x`, the matrix only stretches.  Multiply by :math:`A` again and
again and every eigen-direction is stretched by :math:`\\lambda^k`, which is
the whole story of exploding and vanishing products.

This module holds the teaching versions of the tools, one private file per
lesson (the way SciPy keeps ``_decomp_qr.py`` behind ``scipy.linalg``):

* ``_exact.py`` (lesson 01): exact eigenvalues from the characteristic
  polynomial, with sympy (:func:`characteristic_polynomial`,
  :func:`eigenvalues_exact`);
* ``_iterations.py`` (lesson 02): the three classic iterations of Trefethen &
  Bau, Lecture 27 (:func:`power_iteration`, :func:`inverse_iteration`,
  :func:`rayleigh_quotient_iteration`), each returning an
  :class:`EigenResult` with its full history so the convergence rate can be
  measured, and the :func:`rayleigh_quotient` they share;
* ``_powers.py`` (lesson 03): the spectral radius, matrix powers through the
  eigendecomposition and Fibonacci numbers three ways
  (:func:`spectral_radius`, :func:`matrix_power_eig`, :func:`fibonacci`).

Book symbols: ``A`` is :math:`A`, ``v`` the current unit vector
:math:`v^{(k)}`, ``w`` the unnormalized next vector, ``lam`` the estimate
:math:`\\lambda^{(k)}`, ``mu`` a fixed shift :math:`\\mu`.
"""

from ._exact import LAMBDA as LAMBDA  # the symbol of characteristic_polynomial
from ._exact import characteristic_polynomial, eigenvalues_exact
from ._iterations import (
    EigenResult,
    inverse_iteration,
    power_iteration,
    rayleigh_quotient,
    rayleigh_quotient_iteration,
)
from ._powers import fibonacci, matrix_power_eig, spectral_radius

__all__ = [
    "EigenResult",
    "characteristic_polynomial",
    "eigenvalues_exact",
    "fibonacci",
    "inverse_iteration",
    "matrix_power_eig",
    "power_iteration",
    "rayleigh_quotient",
    "rayleigh_quotient_iteration",
    "spectral_radius",
]
