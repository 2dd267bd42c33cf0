"""Many runs, one model: the members of a study's cell trained together along a leading member axis.

A fair study trains every method at several learning rates and seeds: many
small runs of one cell (task, length, strategy). Each is a chain of small
sequential kernels, so on a CPU core or a GPU most of a run's time is the
overhead of launching them. Here the N members of a cell -- differing only
in seed, learning rates and clipping bound (:data:`MEMBER_FIELDS`) -- train
as one model whose every weight has a leading member axis ``(N, ...)``:

* :mod:`~linalg_rnn.rnn.members._recurrence` -- the tanh RNN of all
  members, one batched product per timestep and weight, with
  backpropagation through time written out; the LSTM cell likewise;
* :mod:`~linalg_rnn.rnn.members._orthogonal` -- each member's own matrix
  exponential (its own scaling), Cayley map, QR and polar projections;
* :mod:`~linalg_rnn.rnn.members._model` -- :class:`MemberModel`, the stacked
  weights of the members' own single-run models and their forward pass;
* :mod:`~linalg_rnn.rnn.members._gradients` -- each member's own gradient
  norm and clipping;
* :mod:`~linalg_rnn.rnn.members._optimizer` -- :class:`MemberOptimizer`,
  Adam, RMSprop and SGD at a learning rate per member;
* :mod:`~linalg_rnn.rnn.members._train` -- :func:`train_members`, the loop:
  each member recorded as its own run, in its own run directory, diverging
  on its own.

Examples
--------
>>> import dataclasses
>>> from linalg_rnn.rnn import TrainConfig, train
>>> base = TrainConfig(task="recall", seq_len=8, hidden=4, steps=5, device="cpu", figures=False)
>>> cfgs = [dataclasses.replace(base, seed=s) for s in range(3)]
>>> together = train_members(cfgs)
>>> alone = train(cfgs[2])
>>> abs(together[2].final["val_loss"] - alone.final["val_loss"]) < 1e-5
True
"""

from ._gradients import clip_members_by_norm_, clip_members_by_value_, member_gradient_norms
from ._model import MemberModel
from ._optimizer import MemberOptimizer
from ._orthogonal import (
    member_polar_project_,
    member_qr_project_,
    member_skew_orthogonal,
)
from ._recurrence import lstm_recurrence, tanh_rnn
from ._train import (
    MEMBER_FIELDS,
    Member,
    batched_refusal,
    check_members,
    member_signature,
    train_members,
    uses_per_run_path,
)

__all__ = [
    "MEMBER_FIELDS",
    "Member",
    "MemberModel",
    "MemberOptimizer",
    "batched_refusal",
    "check_members",
    "clip_members_by_norm_",
    "clip_members_by_value_",
    "lstm_recurrence",
    "member_gradient_norms",
    "member_polar_project_",
    "member_qr_project_",
    "member_signature",
    "member_skew_orthogonal",
    "tanh_rnn",
    "train_members",
    "uses_per_run_path",
]
