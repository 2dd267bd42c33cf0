"""Part IV: the RNN trainer -- tasks, models, strategies, metrics, checkpoints and the training loop.

One module per concept:

* :mod:`~linalg_rnn.rnn.tasks` -- copy memory, adding, delayed recall, digits, MNIST, with baselines;
* :mod:`~linalg_rnn.rnn.models` -- fused ``nn.RNN``, RNNs with their own weights (one op on a computed W_hh,
  or an explicit loop; tanh or modReLU), LSTM, orthogonal parametrizations;
* :mod:`~linalg_rnn.rnn.strategies` -- clipping, truncated BPTT, orthogonality, composed with ``+``;
* :mod:`~linalg_rnn.rnn.metrics` -- norms and spectra of W_hh (the textbook's functions, in float64 on
  the CPU), gradient norms, per-lag gradients, curves of one run or several;
* :mod:`~linalg_rnn.rnn.config` -- :class:`TrainConfig`: each field with its rule and help, checked once
  into a frozen config that carries the parsed strategy and the device;
* :mod:`~linalg_rnn.rnn.trainer` -- :func:`train`, the loop behind ``linalg-rnn train``: one step per
  batch, from the batch to ``optimizer.step()`` in one file, one host read per update;
* :mod:`~linalg_rnn.rnn.checkpoint` and :mod:`~linalg_rnn.rnn.rundir` -- every checkpoint key in one
  place, and run directories that defend themselves (ownership, one run at a time, resume);
* :mod:`~linalg_rnn.rnn.cli_train` -- the ``train`` subcommand, its flags made from the config's fields.

Examples
--------
>>> from linalg_rnn.rnn import TrainConfig, train
>>> result = train(TrainConfig(task="recall", seq_len=8, hidden=4, steps=3, device="cpu"))
>>> result.steps_done, result.baseline_loss
(3, 1.0)
"""

from .config import TrainConfig, resolve_device
from .models import (
    FunctionalRNN,
    FusedRNN,
    LoopRNN,
    LSTMModel,
    ParametrizableRNN,
    RecurrentModel,
    build_model,
    parametrize_orthogonal,
)
from .strategies import Strategy, parse_strategy
from .tasks import AddingTask, CopyTask, DigitsTask, MnistTask, RecallTask, make_task
from .trainer import TrainResult, train

__all__ = [
    "AddingTask",
    "CopyTask",
    "DigitsTask",
    "FunctionalRNN",
    "FusedRNN",
    "LSTMModel",
    "LoopRNN",
    "MnistTask",
    "ParametrizableRNN",
    "RecallTask",
    "RecurrentModel",
    "Strategy",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "make_task",
    "parametrize_orthogonal",
    "parse_strategy",
    "resolve_device",
    "train",
]
