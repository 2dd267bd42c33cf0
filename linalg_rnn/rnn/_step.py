"""One trainer step: a batch, its gradients, the divergence check and the update, with one host read.

A step is one batch. Everything it measures -- the loss, the gradient norms
before clipping, the training accuracy -- stays on the device as 0-d
tensors until :func:`to_host` reads them back together, once, right before
the update (the divergence check needs them there: a NaN/inf gradient must
not reach the optimizer). Nothing else in a step waits for the device --
no ``.item()``, no boolean indexing, no per-timestep loop on the host --
except two reads a strategy asks for: a projection step copies
:math:`W_{hh}` to the CPU (every ``proj_every`` steps), and ``expm`` reads
one norm to choose its number of squarings.

Truncated BPTT comes in two forms (``TrainConfig.tbptt_update``):

* ``"window"`` (the default, lesson 11's algorithm): an update after every
  window that carries loss, the hidden state carried forward detached --
  one read per update, since each update needs its own divergence check;
* ``"batch"``: the windows' gradients summed into one update per batch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from .metrics import gradient_norm
from .strategies import polar_project_, qr_project_

if TYPE_CHECKING:  # the Run record is defined with the loop that owns it
    from .trainer import Run


def to_host(values: list[torch.Tensor]) -> list[float]:
    """The step's device-to-host transfer: 0-d tensors stacked and read with one ``.tolist()``.

    Examples
    --------
    >>> to_host([torch.tensor(1.5), torch.tensor(2.0)])
    [1.5, 2.0]
    """
    dtype = values[0].dtype
    return torch.stack([v.detach().to(dtype) for v in values]).tolist()


def to_device(t: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a CPU tensor to the training device without waiting for the copy.

    On CUDA the tensor is first page-locked, so the copy overlaps the work
    already queued; on the CPU it is returned as it is.

    Examples
    --------
    >>> t = torch.ones(2)
    >>> to_device(t, torch.device("cpu")) is t
    True
    """
    if device.type == "cpu":
        return t
    if device.type == "cuda":
        t = t.pin_memory()  # page-locked, so the copy runs asynchronously
    return t.to(device, non_blocking=True)


def draw_batch(run: Run) -> tuple[torch.Tensor, torch.Tensor]:
    """One training batch, drawn on the CPU from the run's data generator, then moved.

    Drawing on the CPU makes the data a function of the seed alone: the same
    batches on every device, and a generator state any device can resume.

    Examples
    --------
    >>> from linalg_rnn.rnn.config import TrainConfig
    >>> from linalg_rnn.rnn.trainer import build_run
    >>> run = build_run(TrainConfig(task="adding", seq_len=8, hidden=4, batch=3, device="cpu"))
    >>> x, y = draw_batch(run)
    >>> x.shape, y.shape
    (torch.Size([3, 8, 2]), torch.Size([3, 8]))
    """
    x, y = run.task.sample(run.config.batch, run.data_rng)
    return to_device(x, run.device), to_device(y, run.device)


def _detach(state: Any) -> Any:
    if isinstance(state, tuple):  # an LSTM's (h, c)
        return tuple(s.detach() for s in state)
    return state.detach()


def forward_backward(run: Run, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss and outputs (both detached) of one batch; its gradient accumulated into ``.grad``.

    The whole sequence at once, or (``tbptt`` with ``tbptt_update="batch"``)
    window by window, each window's gradient added to the others'. A window
    without loss runs under ``torch.no_grad()``: only its final state is needed.

    Examples
    --------
    >>> from linalg_rnn.rnn.config import TrainConfig
    >>> from linalg_rnn.rnn.trainer import build_run
    >>> run = build_run(TrainConfig(task="adding", seq_len=8, hidden=4, batch=3, device="cpu"))
    >>> loss, out = forward_backward(run, *draw_batch(run))
    >>> loss.shape, out.shape, run.model.recurrent_parameter().grad.shape
    (torch.Size([]), torch.Size([3, 8, 1]), torch.Size([4, 4]))
    """
    state, total, outs = None, x.new_zeros(()), []
    for t0, t1, weight in run.windows:
        if weight == 0:
            with torch.no_grad():
                out, state = run.model(x[:, t0:t1], state)
        else:
            out, state = run.model(x[:, t0:t1], state)
            loss = run.task.loss(out, y, t0)
            loss.backward()  # frees this window's graph
            total = total + loss.detach()
        state = _detach(state)  # truncation: no gradient flows into the previous window
        outs.append(out.detach())
    return total, torch.cat(outs, dim=1)


def _gradient_norms(run: Run) -> list[torch.Tensor]:
    """Total and W_hh gradient norms, read *before* clipping; then clip (``clip``)."""
    cfg = run.config
    w_grad = run.model.recurrent_parameter().grad
    w_norm = torch.linalg.vector_norm(w_grad) if w_grad is not None else torch.zeros((), device=run.device)
    if cfg.clip_norm is not None:
        total = torch.nn.utils.clip_grad_norm_(run.params, cfg.clip_norm)  # returns the norm before
    else:
        total = gradient_norm(run.params)
        if cfg.clip_value is not None:
            torch.nn.utils.clip_grad_value_(run.params, cfg.clip_value)
    return [total, w_norm]


def _project(run: Run, step: int) -> None:
    """Every ``proj_every`` steps, replace W_hh by an orthogonal matrix (after the update).

    Every ``rebase_every`` steps, fold a parametrization's map(B) into its base (W_hh unchanged).
    """
    if run.strategy.projection and step % run.config.proj_every == 0:
        project = qr_project_ if run.strategy.projection == "qr" else polar_project_
        project(run.model.recurrent_parameter())
    if run.config.rebase_every and step % run.config.rebase_every == 0:
        run.model.rebase_()


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def train_step(run: Run, step: int) -> dict:
    """One step: a batch, its gradient, the check, the update; returns the step's metrics row.

    Returns
    -------
    dict
        ``step``, ``train_loss``, ``grad_norm``, ``grad_norm_w_hh`` (before
        clipping; the largest over the step's updates in window mode),
        ``updates`` (optimizer updates made), ``train_accuracy``
        (classification), and ``diverged: True`` when a loss or gradient was
        not finite -- in which case that update was not made.

    Examples
    --------
    >>> from linalg_rnn.rnn.config import TrainConfig
    >>> from linalg_rnn.rnn.trainer import build_run
    >>> run = build_run(TrainConfig(task="adding", seq_len=8, hidden=4, batch=3, device="cpu"))
    >>> row = train_step(run, 1)
    >>> sorted(row), row["updates"]
    (['grad_norm', 'grad_norm_w_hh', 'step', 'train_loss', 'updates'], 1)
    """
    x, y = draw_batch(run)
    if run.config.tbptt_update == "window":
        return _window_step(run, step, x, y)
    run.optimizer.zero_grad(set_to_none=True)
    loss, out = forward_backward(run, x, y)
    scalars = [loss, *_gradient_norms(run)]
    if run.task.classification:
        scalars.append(run.task.accuracy_tensor(out, y))
    values = to_host(scalars)  # the one transfer of the step
    row = {"step": step, "train_loss": values[0], "grad_norm": values[1],
           "grad_norm_w_hh": values[2], "updates": 0}
    if run.task.classification:
        row["train_accuracy"] = values[3]
    if not _finite(values[0], values[1]):
        row["diverged"] = True  # leave the weights as they were
        return row
    run.optimizer.step()
    row["updates"] = 1
    _project(run, step)
    return row


def _window_step(run: Run, step: int, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Truncated BPTT as lesson 11 runs it: an update after every window that carries loss."""
    model, optimizer = run.model, run.optimizer
    state, outs = None, []
    row = {"step": step, "train_loss": 0.0, "grad_norm": 0.0, "grad_norm_w_hh": 0.0, "updates": 0}
    for t0, t1, weight in run.windows:
        if weight == 0:  # nothing to learn here: carry the state forward
            with torch.no_grad():
                out, state = model(x[:, t0:t1], state)
            outs.append(out)
            continue
        optimizer.zero_grad(set_to_none=True)
        out, state = model(x[:, t0:t1], state)
        share = run.task.loss(out, y, t0)  # this window's part of the batch loss
        (share / weight).backward()  # the update descends the window's own mean loss
        loss, grad, grad_w_hh = to_host([share, *_gradient_norms(run)])  # one read per update
        row["train_loss"] += loss
        if not _finite(loss, grad):
            row.update(grad_norm=grad, grad_norm_w_hh=grad_w_hh, diverged=True)
            return row  # no update from a NaN/inf gradient
        row["grad_norm"] = max(row["grad_norm"], grad)
        row["grad_norm_w_hh"] = max(row["grad_norm_w_hh"], grad_w_hh)
        optimizer.step()
        row["updates"] += 1
        state = _detach(state)  # the next window starts from the carried, detached state
        outs.append(out.detach())
    _project(run, step)
    if run.task.classification:
        row["train_accuracy"] = to_host([run.task.accuracy_tensor(torch.cat(outs, dim=1), y)])[0]
    return row


def evaluate(run: Run) -> dict:
    """Validation loss (and accuracy) on the run's fixed validation batch, in one read.

    Examples
    --------
    >>> from linalg_rnn.rnn.config import TrainConfig
    >>> from linalg_rnn.rnn.trainer import build_run
    >>> sorted(evaluate(build_run(TrainConfig(task="digits", hidden=4, device="cpu"))))
    ['val_accuracy', 'val_loss']
    """
    with torch.no_grad():
        out, _ = run.model(run.val_x)
        scalars = [run.task.loss(out, run.val_y)]
        if run.task.classification:
            scalars.append(run.task.accuracy_tensor(out, run.val_y))
    values = to_host(scalars)
    row = {"val_loss": values[0]}
    if run.task.classification:
        row["val_accuracy"] = values[1]
    return row
