"""Blocked Householder QR: reflectors grouped as :math:`I - VTV^\\top`, so the work is matrix–matrix products.

The product of :math:`n_b` consecutive reflectors (the block size) is
:math:`F_1 \\cdots F_{n_b} = I - VTV^\\top`
with the :math:`v_k` as the columns of :math:`V` and a small upper triangular
:math:`T` (the compact WY form of Schreiber and Van Loan, 1989).  Applying it
costs three matrix--matrix products, which a BLAS runs near the machine's peak
because each number loaded from memory is used about :math:`n_b` times.

This is the file where speed is the point.  Two ideas carry it:

* **blocking** (LAPACK's ``dgeqrf``/``dorgqr``): factor a panel of :math:`n_b`
  columns, then update everything to its right, and later form Q, a block at
  a time;
* **recursion inside the panel** (Elmroth and Gustavson, IBM J. Res. Dev. 44,
  2000): factor the left half of the panel, update the right half with a
  block reflector, factor the right half, and join the two ``T``\\ s.  The
  panel, too, then runs in matrix--matrix products; only single columns are
  left to the vector code of Algorithm 10.1.

Three helpers hold the algebra, each written once: :func:`_join_wy` (the
``T`` of a product of two blocks, used by :func:`compact_wy` one column at a
time and by the recursion a half-panel at a time), :func:`_apply_block_reflector`
(LAPACK's ``dlarfb``) and :func:`_factor_panel` (Elmroth--Gustavson).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .._validation import as_matrix, check_int
from ._base import _check_mode, _into_safe_range, _pad_r, _signed_r, _signed_rows
from ._householder import HouseholderReflectors, _householder_vector


def _join_wy(T1: np.ndarray, V1: np.ndarray, V2: np.ndarray, T2: np.ndarray) -> np.ndarray:
    """The block :math:`T_{12}` that joins two compact WY forms into one.

    :math:`(I - V_1T_1V_1^\\top)(I - V_2T_2V_2^\\top) = I - [V_1\\ V_2]
    \\begin{bmatrix} T_1 & T_{12} \\\\ 0 & T_2 \\end{bmatrix} [V_1\\ V_2]^\\top`
    with :math:`T_{12} = -T_1 (V_1^\\top V_2) T_2`: expand both sides and compare
    the :math:`V_1 \\cdot V_2^\\top` terms.  ``V1`` and ``V2`` must cover the same
    rows.
    """
    return -T1 @ ((V1.T @ V2) @ T2)


def _apply_block_reflector(V: np.ndarray, T: np.ndarray, C: np.ndarray, *, transpose: bool) -> None:
    """``C <- (I - V T V.T) C``, or with ``T.T`` for the transpose, in place (LAPACK's ``dlarfb``)."""
    C -= V @ ((T.T if transpose else T) @ (V.T @ C))


def _factor_panel(A: np.ndarray, V: np.ndarray, T: np.ndarray) -> None:
    """Householder QR of the m x b view ``A`` in place, recursively (Elmroth and Gustavson, 2000).

    On return ``A`` holds R on and above its diagonal and zeros below, and the
    views ``V`` (m x b, zero on entry) and ``T`` (b x b, zero on entry) hold
    the panel's reflectors: :math:`F_1 \\cdots F_b = I - VTV^\\top` (here :math:`b`
    is the width of the view).  Needs m >= b.
    """
    b = A.shape[1]
    if b == 1:
        # One column: one step of Algorithm 10.1, with tau = 2 for a unit v (0 when x = 0).
        v, beta = _householder_vector(A[:, 0])
        V[:, 0] = v
        T[0, 0] = 2.0 if beta != 0.0 else 0.0
        A[0, 0] = beta
        A[1:, 0] = 0.0
        return
    h = b // 2
    V1, T1 = V[:, :h], T[:h, :h]
    V2, T2 = V[h:, h:], T[h:, h:]  # the right half's reflectors start h rows down
    # Factor the left half: its reflectors are I - V1 T1 V1.T.
    _factor_panel(A[:, :h], V1, T1)
    # Apply them to the right half at once (three matrix-matrix products, not h rank-one updates).
    _apply_block_reflector(V1, T1, A[:, h:], transpose=True)
    # Factor what the left half left of the right half: rows h and below.
    _factor_panel(A[h:, h:], V2, T2)
    # Join the two blocks into one, I - V T V.T with T = [[T1, T12], [0, T2]].
    T[:h, h:] = _join_wy(T1, V1[h:], V2, T2)


@contextmanager
def _stopwatch(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the seconds spent in the ``with`` block to ``timings[stage]`` (nothing if ``timings`` is None)."""
    if timings is None:
        yield
        return
    start = time.perf_counter()
    yield
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def compact_wy(
    factors: HouseholderReflectors, start: int = 0, stop: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The compact WY form :math:`I - VTV^\\top` of a run of Householder reflectors.

    Parameters
    ----------
    factors : HouseholderReflectors
        From :func:`householder_reflectors`.
    start, stop : int, optional
        Use reflectors ``start, ..., stop - 1`` (default: all of them).

    Returns
    -------
    V : ndarray, shape (m, b)
        Column ``j`` is the unit vector of reflector ``start + j``, padded with
        zeros above its first row; ``b = stop - start``.
    T : ndarray, shape (b, b)
        Upper triangular, such that
        :math:`F_{\\text{start}} \\cdots F_{\\text{stop}-1} = I - VTV^\\top` (the
        reflectors as m x m matrices).

    Raises
    ------
    ValueError, TypeError
        If ``factors`` is not a :class:`HouseholderReflectors` or the range is
        empty or out of bounds.

    Notes
    -----
    For a unit :math:`v`, :math:`(I - V T V^\\top)(I - 2vv^\\top) = I - [V\\ v]
    \\begin{bmatrix} T & -2 T V^\\top v \\\\ 0 & 2 \\end{bmatrix} [V\\ v]^\\top`
    (with 0 in place of 2 for a skipped step, :math:`v = 0`; the code calls
    that scalar ``tau``, as LAPACK does), so :math:`T` grows one column at a
    time at :math:`O(mn_b^2)` flops for :math:`n_b` reflectors
    (Schreiber and Van Loan, 1989).  The same join, a half-panel at a time,
    is what :func:`blocked_householder_qr` uses inside its panels.

    Taught in lesson 06.

    See Also
    --------
    blocked_householder_qr

    Examples
    --------
    >>> from linalg_rnn.qr import householder_reflectors
    >>> A = np.random.default_rng(0).standard_normal((6, 4))
    >>> F = householder_reflectors(A)
    >>> V, T = compact_wy(F)
    >>> V.shape, T.shape
    ((6, 4), (4, 4))
    >>> Q_wy = (np.eye(6) - V @ T @ V.T)[:, :4] * F.signs
    >>> np.allclose(Q_wy, F.form_q())
    True
    """
    if not isinstance(factors, HouseholderReflectors):
        raise TypeError(f"factors must come from householder_reflectors(A), got {type(factors).__name__}")
    p = len(factors.vectors)
    start = check_int(start, "start")
    stop = p if stop is None else check_int(stop, "stop")
    if not start < stop <= p:
        raise ValueError(f"need 0 <= start < stop <= {p} (the number of reflectors), got {start}, {stop}")
    m = factors.shape[0]
    b = stop - start
    V = np.zeros((m, b))
    T = np.zeros((b, b))
    for j in range(b):
        k = start + j
        V[k:, j] = factors.vectors[k]
        tau = 2.0 if factors.vectors[k].any() else 0.0  # a skipped step (v = 0) is the identity
        # Join the reflectors so far with the new one, the block (v, [tau]): one new column of T.
        T[:j, j : j + 1] = _join_wy(T[:j, :j], V[:, :j], V[:, j : j + 1], np.array([[tau]]))
        T[j, j] = tau
    return V, T


def blocked_householder_qr(
    A: np.ndarray,
    block_size: int = 64,
    mode: str = "reduced",
    *,
    timings: dict[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Householder QR in blocks, with the compact WY form :math:`I - VTV^\\top` (Schreiber--Van Loan).

    Parameters
    ----------
    A : array_like, shape (m, n)
        Any real matrix: tall, square or wide, rank-deficient too.
    block_size : int, default 64
        Columns per panel, at least 1.  Every block size gives the same factors
        as :func:`householder_qr` (up to rounding); it only changes the speed.
    mode : {"reduced", "complete"}, default "reduced"
        As in :func:`householder_qr`.
    timings : dict, optional
        If given, the seconds spent factoring panels, updating the trailing
        matrix and forming Q are added to it under ``"panel"``, ``"update"``
        and ``"form_q"`` (lesson 07 uses them to show where the time goes).

    Returns
    -------
    Q : ndarray
        Orthonormal columns, (m, min(m, n)) or (m, m).
    R : ndarray
        Upper triangular with a nonnegative diagonal, (min(m, n), n) or (m, n).

    Raises
    ------
    ValueError, TypeError
        If ``A`` is not a finite real 2-D array, ``block_size`` is not an
        integer >= 1, ``mode`` is unknown, or ``timings`` is not a dict.

    Notes
    -----
    For each panel of :math:`n_b` columns (the block size): factor it,
    recursively (below), into :math:`F_1 \\cdots F_{n_b} = I - VTV^\\top`; then
    update the trailing columns :math:`A_{\\mathrm{trail}}` with three
    matrix--matrix products,
    :math:`A_{\\mathrm{trail}} \\leftarrow A_{\\mathrm{trail}} - V(T^\\top(V^\\top A_{\\mathrm{trail}}))`.
    Q is accumulated backward the same way, a block at a
    time, from the first columns of the identity.  The panel itself is
    factored as Elmroth and Gustavson (2000) do: split it in half, factor the
    left half, update the right half with the left half's :math:`I - V_1T_1V_1^\\top`,
    factor the right half, and join :math:`T = \\begin{bmatrix} T_1 & -T_1V_1^\\top V_2T_2
    \\\\ 0 & T_2 \\end{bmatrix}`; down to single columns, which are one step
    of Algorithm 10.1.  So all but :math:`O(mn)` of the work is in BLAS-3
    kernels, which reuse each number loaded from memory many times.  The
    flops are those of :func:`householder_qr` plus :math:`O(mnn_b)` for the
    :math:`T` s.  This is LAPACK's ``dgeqrf`` and ``dorgqr`` with a recursive
    panel (LAPACK's own panel, ``dgeqr2``, is the vector loop).  Same
    stability as the unblocked form.  References: Schreiber and Van Loan,
    SIAM J. Sci. Stat. Comput. 10 (1989); Elmroth and Gustavson, IBM J. Res.
    Dev. 44 (2000); Golub and Van Loan, *Matrix Computations*, 4th ed.,
    Section 5.2.3.

    At the edges of float64 it keeps the guarantee of
    :func:`householder_reflectors` (the same scaling, the same Householder
    vector): for :math:`2^kA` representable, Q is that of :math:`A` bit for
    bit and R is :math:`2^kR`, rounded only where it is subnormal; finite
    whenever R is representable.

    Taught in lesson 06 (and timed in lesson 07).

    See Also
    --------
    householder_qr : the unblocked algorithm.
    compact_wy : the I - V T V.T form of a run of reflectors.

    Examples
    --------
    >>> from linalg_rnn.qr import householder_qr
    >>> A = np.random.default_rng(0).standard_normal((50, 30))
    >>> Q, R = blocked_householder_qr(A, block_size=8)
    >>> Q1, R1 = householder_qr(A)
    >>> np.allclose(Q, Q1), np.allclose(R, R1)
    (True, True)
    >>> seconds = {}
    >>> _ = blocked_householder_qr(A, timings=seconds)
    >>> sorted(seconds)
    ['form_q', 'panel', 'update']
    """
    A = as_matrix(A, "A")  # a private copy: factored in place
    block_size = check_int(block_size, "block_size", minimum=1)
    mode = _check_mode(mode)
    if timings is not None and not isinstance(timings, dict):
        raise TypeError(f"timings must be a dict (or None), got {type(timings).__name__}")
    A, shift = _into_safe_range(A)
    m, n = A.shape
    p = min(m, n)
    blocks = []  # (first column k0, V, T) of each panel, for forming Q
    for k0 in range(0, p, block_size):
        b = min(block_size, p - k0)
        # Column-major (Fortran order, as LAPACK stores matrices) so that every column of
        # the panel is contiguous: its single-column steps and thin products read memory in order.
        V, T = np.zeros((m - k0, b), order="F"), np.zeros((b, b), order="F")
        with _stopwatch(timings, "panel"):
            # Factor the panel, rows k0 and below: R in place, its reflectors as I - V T V.T.
            panel = np.asfortranarray(A[k0:, k0 : k0 + b])
            _factor_panel(panel, V, T)
            A[k0:, k0 : k0 + b] = panel
        with _stopwatch(timings, "update"):
            # Apply the whole panel to the columns on its right: C <- (I - V T V.T).T C.
            _apply_block_reflector(V, T, A[k0:, k0 + b :], transpose=True)
        blocks.append((k0, V, T))
    signs, R = _signed_r(A, shift)
    with _stopwatch(timings, "form_q"):
        # Q = (I - V_1 T_1 V_1.T) ... diag(signs, I) applied to the identity's first columns, last block
        # first: columns < k0 are still (signed) e_j there, so block k0 changes only Q[k0:, k0:].
        Q = _signed_rows(np.eye(m, m if mode == "complete" else p), signs)
        for k0, V, T in reversed(blocks):
            _apply_block_reflector(V, T, Q[k0:, k0:], transpose=False)
    return Q, _pad_r(R, m, mode)
