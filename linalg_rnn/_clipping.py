"""Gradient clipping, the textbook versions (lesson 10): rescale the whole gradient, or cut each entry.

Re-exported from :mod:`linalg_rnn.dynamics`; the trainer uses torch's own
``clip_grad_norm_`` and ``clip_grad_value_``, which these match.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._scaling import exponent, ldexp
from ._validation import as_float_array, check_positive_float, from_torch

__all__ = ["CLIP_EPS", "clip_grad_norm", "clip_grad_value"]

#: torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing.
CLIP_EPS = 1e-6


def _as_gradients(grads: Any) -> tuple[list[np.ndarray], type | None]:
    """Float64 copies of one gradient or a list/tuple of them, and the container type.

    A NumPy array, a number or a nested list of numbers is *one* gradient
    (container ``None``); a list or tuple whose items are all NumPy arrays (or
    torch tensors, read as their values) is several.
    """
    grads = from_torch(grads)
    if isinstance(grads, (list, tuple)) and grads:
        items = [from_torch(g) for g in grads]
        if all(isinstance(g, np.ndarray) for g in items):
            return [as_float_array(g, f"grads[{i}]") for i, g in enumerate(items)], type(grads)
    if isinstance(grads, (list, tuple)) and not grads:
        raise ValueError("grads is empty; give one array or a list of arrays")
    g = as_float_array(grads, "grads")
    return [g], None


def _same_kind(arrays: list[np.ndarray], container: type | None) -> Any:
    """Return the arrays in the container they came in (or the single array)."""
    if container is None:
        return arrays[0]
    return container(arrays)


def clip_grad_norm(grads: Any, max_norm: float) -> tuple[Any, float]:
    """Rescale gradients so their total L2 norm is at most ``max_norm``; return them and the old norm.

    Parameters
    ----------
    grads : array_like or list of numpy.ndarray
        One gradient (an array, or a nested list of numbers such as
        ``[80, 60]``) or several (a list or tuple of NumPy arrays, one per
        parameter, of any shapes).
    max_norm : float
        The threshold :math:`\\tau`, finite and > 0.

    Returns
    -------
    clipped : numpy.ndarray or list of numpy.ndarray
        New float64 arrays, of the same kind as ``grads`` (a single array in,
        a single array out; a list or tuple in, the same container out).
    total_norm : float
        The norm *before* clipping,
        :math:`\\|g\\| = \\sqrt{\\sum_k \\|g_k\\|_F^2}` over all arrays.

    Raises
    ------
    TypeError
        If ``grads`` holds strings or complex numbers, or ``max_norm`` is not a number.
    ValueError
        If ``grads`` is empty or holds NaN/inf, or ``max_norm <= 0``.

    Notes
    -----
    The rule (Pascanu, Mikolov & Bengio 2013, Algorithm 1) is

    .. math::

        g \\leftarrow \\begin{cases}
            g \\cdot \\dfrac{\\tau}{\\|g\\| + 10^{-6}} & \\text{if } \\|g\\| > \\tau, \\\\
            g & \\text{otherwise,}
        \\end{cases}

    with every array scaled by the same factor, so the direction of the
    whole gradient is kept and only its length is capped.  The
    :math:`10^{-6}` is the one ``torch.nn.utils.clip_grad_norm_`` adds.
    Torch multiplies by :math:`\\min(1, \\tau/(\\|g\\| + 10^{-6}))` always, so for
    norms in :math:`(\\tau - 10^{-6}, \\tau]` it shrinks by a factor within
    :math:`10^{-7}\\,`-ish of 1 where this function leaves the gradient
    untouched (the lecture's :math:`(8, 6)` at threshold 10 stays exactly
    :math:`(8, 6)`); everywhere else the two agree to rounding.  Inputs are
    never modified.

    The norm is taken the way LAPACK's ``dnrm2`` takes one: the entries are
    scaled by a power of two first, so squaring them cannot overflow
    (``[1e200, 1e200]`` has norm :math:`1.4 \\times 10^{200}`, clipped to
    :math:`(0.707, 0.707)`) or underflow (``[1e-170, 1e-170]`` has norm
    :math:`1.4 \\times 10^{-170}`, not 0).  Only a norm itself beyond float64
    is returned as ``inf``, and the clipped gradient is still right.

    Taught in lesson 10.

    See Also
    --------
    clip_grad_value : clip each entry instead (turns the direction).
    torch.nn.utils.clip_grad_norm_ : the in-place version the trainer uses.

    Examples
    --------
    >>> clipped, norm = clip_grad_norm([80.0, 60.0], max_norm=10)
    >>> norm
    100.0
    >>> clipped.round(6)
    array([8., 6.])
    >>> clip_grad_norm([8.0, 6.0], max_norm=10)
    (array([8., 6.]), 10.0)
    >>> import numpy as np
    >>> parts, norm = clip_grad_norm([np.array([3.0]), np.array([[4.0, 0.0]])], max_norm=1)
    >>> norm, [p.round(6) for p in parts]
    (5.0, [array([0.6]), array([[0.8, 0. ]])])
    >>> clip_grad_norm([1e200, 1e200], max_norm=1)
    (array([0.70710678, 0.70710678]), 1.41421356e+200)
    """
    arrays, container = _as_gradients(grads)
    max_norm = check_positive_float(max_norm, "max_norm")
    # ||g|| = 2^e ||g / 2^e||, with every entry of g / 2^e at most 1 in size
    e = max(exponent(g) for g in arrays)
    scaled_norm = float(np.sqrt(sum(np.sum(ldexp(g, -e) ** 2) for g in arrays)))
    total_norm = float(ldexp(scaled_norm, e))
    if total_norm > max_norm:
        if np.isinf(total_norm):  # ||g|| is beyond float64, and the 1e-6 far below its rounding
            arrays = [ldexp(g, -e) * (max_norm / scaled_norm) for g in arrays]
        else:
            scale = max_norm / (total_norm + CLIP_EPS)  # same epsilon as torch
            arrays = [g * scale for g in arrays]
    return _same_kind(arrays, container), total_norm


def clip_grad_value(grads: Any, limit: float) -> Any:
    """Clip every gradient entry to the interval ``[-limit, limit]``.

    Parameters
    ----------
    grads : array_like or list of numpy.ndarray
        One gradient or a list/tuple of NumPy arrays, as in :func:`clip_grad_norm`.
    limit : float
        The bound, finite and > 0.

    Returns
    -------
    clipped : numpy.ndarray or list of numpy.ndarray
        New float64 arrays, of the same kind as ``grads``.

    Raises
    ------
    TypeError
        If ``grads`` holds strings or complex numbers, or ``limit`` is not a number.
    ValueError
        If ``grads`` is empty or holds NaN/inf, or ``limit <= 0``.

    Notes
    -----
    :math:`g_i \\leftarrow \\min(\\max(g_i, -\\tau), \\tau)` entry by entry, exactly
    what ``torch.nn.utils.clip_grad_value_`` does.  Unlike norm clipping
    this changes the *direction* of the gradient whenever entries of
    different size are cut: :math:`(80, 60)` clipped at 10 becomes
    :math:`(10, 10)`, turned by about 8.1 degrees.  Inputs are never modified.

    Taught in lesson 10.

    See Also
    --------
    clip_grad_norm : rescale the whole gradient, keeping its direction.

    Examples
    --------
    >>> clip_grad_value([80.0, -60.0, 3.0], limit=10)
    array([ 10., -10.,   3.])
    >>> import numpy as np
    >>> clip_grad_value((np.array([0.5, 2.0]), np.array([-3.0])), limit=1)
    (array([0.5, 1. ]), array([-1.]))
    """
    arrays, container = _as_gradients(grads)
    limit = check_positive_float(limit, "limit")
    return _same_kind([np.clip(g, -limit, limit) for g in arrays], container)
