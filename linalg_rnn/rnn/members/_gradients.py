"""Each member's own gradient norm and its own clipping, on gradients stacked along the member axis.

Clipping the norm of the whole stack would couple the members: one member's
large gradient would shrink every other member's step. Here member
:math:`n` is measured and clipped by its own global norm

.. math:: \\|g_n\\| = \\sqrt{\\sum_p \\|g_{p,n}\\|^2}

over its own parameters :math:`p`, exactly as
``torch.nn.utils.clip_grad_norm_`` treats one run: the gradient is scaled by
:math:`\\min(1, c_n / (\\|g_n\\| + 10^{-6}))`.
"""

from __future__ import annotations

import torch


def member_gradient_norms(grads: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Each member's global gradient norm, and each parameter's norm per member.

    Parameters
    ----------
    grads : list of torch.Tensor
        Stacked gradients, each ``(N, ...)``.

    Returns
    -------
    total : torch.Tensor
        ``(N,)``: member :math:`n`'s norm over all its parameters.
    per_parameter : list of torch.Tensor
        ``(N,)`` per gradient: :math:`\\|g_{p,n}\\|`.

    Notes
    -----
    The norm of the per-parameter norms, as
    :func:`~linalg_rnn.rnn.metrics.gradient_norm` and
    ``torch.nn.utils.clip_grad_norm_`` compute it for one run; no host read.

    Examples
    --------
    >>> g = [torch.tensor([[3.0, 0.0], [0.0, 1.0]]), torch.tensor([[4.0], [0.0]])]
    >>> total, each = member_gradient_norms(g)
    >>> total.tolist(), each[0].tolist()
    ([5.0, 1.0], [3.0, 1.0])
    """
    per_parameter = [torch.linalg.vector_norm(g.reshape(g.shape[0], -1), dim=1) for g in grads]
    return torch.linalg.vector_norm(torch.stack(per_parameter), dim=0), per_parameter


def _broadcast(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view((-1,) + (1,) * (like.ndim - 1))


@torch.no_grad()
def clip_members_by_norm_(grads: list[torch.Tensor], total: torch.Tensor, max_norm: torch.Tensor) -> None:
    """Scale member :math:`n`'s gradients by :math:`\\min(1, c_n / (\\|g_n\\| + 10^{-6}))`, in place.

    Parameters
    ----------
    grads : list of torch.Tensor
        Stacked gradients, each ``(N, ...)``.
    total : torch.Tensor
        ``(N,)``, each member's norm (:func:`member_gradient_norms`).
    max_norm : torch.Tensor
        ``(N,)``, each member's :math:`c_n`; ``inf`` leaves a member unclipped.

    Examples
    --------
    >>> g = [torch.tensor([[3.0, 4.0], [0.3, 0.4]])]
    >>> total, _ = member_gradient_norms(g)
    >>> clip_members_by_norm_(g, total, torch.tensor([1.0, 1.0]))
    >>> [round(v, 4) for v in member_gradient_norms(g)[0].tolist()]  # the second was under its bound
    [1.0, 0.5]
    """
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)  # torch.nn.utils.clip_grad_norm_'s factor
    for g in grads:
        g.mul_(_broadcast(coef.to(g.dtype), g))


@torch.no_grad()
def clip_members_by_value_(grads: list[torch.Tensor], limit: torch.Tensor) -> None:
    """Clamp every entry of member :math:`n`'s gradients to :math:`[-v_n, v_n]`, in place.

    Parameters
    ----------
    grads : list of torch.Tensor
        Stacked gradients, each ``(N, ...)``.
    limit : torch.Tensor
        ``(N,)``, each member's :math:`v_n`; ``inf`` leaves a member unclamped.

    Examples
    --------
    >>> g = [torch.tensor([[3.0, -4.0], [0.3, -0.4]])]
    >>> clip_members_by_value_(g, torch.tensor([1.0, 1.0]))
    >>> g[0].tolist()
    [[1.0, -1.0], [0.30000001192092896, -0.4000000059604645]]
    """
    for g in grads:
        bound = _broadcast(limit.to(g.dtype), g)
        torch.clamp(g, -bound, bound, out=g)
