"""The training configuration: one dataclass, checked at the door, and the device choice.

:class:`TrainConfig` is what ``linalg-rnn train`` builds from its flags (or a
TOML/JSON file) and what :func:`~linalg_rnn.rnn.trainer.train` runs. Every
check happens in :meth:`TrainConfig.resolved`, before any data or model is
made, and fails with a one-line ``ValueError`` that says what to change.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import torch

from .._validation import check_choice
from .models import MODEL_KINDS
from .strategies import canonical_init_scheme, parse_strategy
from .tasks import TASK_NAMES

__all__ = ["DEVICES", "OPTIMIZERS", "TrainConfig", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda", "mps")
OPTIMIZERS = ("adam", "rmsprop", "sgd")


def resolve_device(name: str = "auto") -> torch.device:
    """The device to train on: ``auto`` picks cuda, then mps, then cpu.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda", "mps"}
        What was asked for.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        For an unknown name, or for ``cuda``/``mps`` when this machine (or
        this torch build) has none.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("tpu")
    Traceback (most recent call last):
        ...
    ValueError: unknown device 'tpu'; choose one of 'auto', 'cpu', 'cuda', 'mps'
    """
    check_choice(name, "device", DEVICES)
    mps_ok = hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if mps_ok else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was asked for but torch sees no CUDA GPU (none here, or a CPU-only "
            "torch build); use --device auto or cpu"
        )
    if name == "mps" and not mps_ok:
        raise ValueError("device 'mps' was asked for but no Apple GPU is available; use auto or cpu")
    return torch.device(name)


def _check_int(value: Any, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_positive(value: Any, name: str) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


_FIXED_LENGTH = {"digits": 64, "mnist": 784}


@dataclass
class TrainConfig:
    """Everything one training run needs; defaults make a small CPU run.

    Parameters
    ----------
    task : {"copy", "adding", "recall", "digits", "mnist"}
        See :mod:`linalg_rnn.rnn.tasks`.
    seq_len : int, optional
        ``T`` of the task (default 50; image tasks have their own length).
    strategy : str
        Strategy names joined by ``+`` (:func:`~linalg_rnn.rnn.strategies.parse_strategy`).
    hidden, batch : int
        Hidden size :math:`H` and batch size :math:`B`.
    lr : float
        Learning rate.
    optimizer : {"adam", "rmsprop", "sgd"}
        The optimizer.
    steps : int
        Optimizer steps (one batch each).
    seed : int
        Seeds the model init, the data and the validation batch.
    device : {"auto", "cpu", "cuda", "mps"}
        Where to train.
    clip_norm : float, optional
        ``clip`` only: maximum gradient norm (default 1.0).
    clip_value : float, optional
        ``clip`` only: clamp each gradient entry to ``[-v, v]`` instead of the norm.
    tbptt_window : int, optional
        ``tbptt`` only: window ``k`` (default a quarter of the sequence).
    tbptt_update : {"window", "batch"}, optional
        ``tbptt`` only: ``window`` (default) makes one optimizer update per
        window, the textbook algorithm of lesson 11; ``batch`` adds up the
        windows' gradients into one update per batch.
    proj_every : int, optional
        ``qr_projection``/``polar_projection`` only: project every ``N`` steps (default 5).
    init_scheme : str, optional
        ``orthogonal_init`` only: ``orthogonal`` (Haar; aliases ``qr``, ``haar``,
        stored as ``orthogonal``), ``identity``, ``henaff``, ``cayley``
        (default ``orthogonal``).
    orth_lr : float, optional
        ``expm``/``cayley`` only: learning rate of the parametrization's
        unconstrained matrix (default ``lr / 10``, as in expRNN).
    delay : int, optional
        Recall task only: the lag ``d`` (default ``seq_len // 2``).
    permute : bool
        Image tasks only: a fixed random pixel order.
    data_dir : str, optional
        MNIST only: the folder with the IDX files.
    model : {"auto", "fused", "loop"}
        ``auto`` and ``fused``: the fused kernel (``nn.RNN``, or the computed
        :math:`W_{hh}` fed to it for ``expm``/``cayley``; ``nn.LSTM`` for
        ``lstm``); ``loop`` forces the explicit-loop RNN.
    init_gain : float
        Multiplies the initial :math:`W_{hh}` (after any orthogonal init); a
        gain above 1 makes an exploding start.
    log_every, eval_every, spectral_every, checkpoint_every : int
        How often (in steps) to log a metrics row, evaluate on the validation
        batch, compute the :math:`O(H^3)` metrics of :math:`W_{hh}`, and save a
        checkpoint. The last step always does all four.
    norm_every : int, optional
        How often to compute :math:`\\|W_{hh}\\|_2` and the orthogonality
        error (one SVD; default ``spectral_every``), e.g. 1 to see a projected
        :math:`W_{hh}` drift between projections while the eigenvalues stay
        on ``spectral_every``.
    lag_grads_every : int
        Every so many steps, also log :math:`\\|\\partial L/\\partial h_t\\|` per
        timestep (0: never; tanh RNNs only).
    val_batch : int
        Validation batch size (synthetic tasks).
    figures : bool
        Write ``curves.png`` into the run directory.
    allow_tf32 : bool
        Let CUDA matrix products and cuDNN use TF32 (default False: every
        strategy trains in full float32). The caller's settings are restored
        after the run.
    deterministic : bool, optional
        Deterministic algorithms (``torch.use_deterministic_algorithms`` and
        ``CUBLAS_WORKSPACE_CONFIG=:4096:8``) for the run; default: on for
        CUDA, off elsewhere.

    Examples
    --------
    >>> cfg = TrainConfig(task="copy", seq_len=10, strategy="clip").resolved()
    >>> cfg.clip_norm, cfg.sequence_length()
    (1.0, 30)
    >>> TrainConfig(strategy="tbptt", seq_len=10, tbptt_window=20).resolved()
    Traceback (most recent call last):
        ...
    ValueError: tbptt_window (20) is longer than the sequence (10 steps)
    """

    task: str = "recall"
    seq_len: int | None = None
    strategy: str = "vanilla"
    hidden: int = 64
    batch: int = 32
    lr: float = 1e-3
    optimizer: str = "adam"
    steps: int = 200
    seed: int = 0
    device: str = "auto"
    clip_norm: float | None = None
    clip_value: float | None = None
    tbptt_window: int | None = None
    proj_every: int | None = None
    init_scheme: str | None = None
    delay: int | None = None
    permute: bool = False
    data_dir: str | None = None
    model: str = "auto"
    init_gain: float = 1.0
    log_every: int = 1
    eval_every: int = 50
    spectral_every: int = 10
    checkpoint_every: int = 100
    lag_grads_every: int = 0
    val_batch: int = 256
    figures: bool = True
    orth_lr: float | None = None
    tbptt_update: str | None = None
    norm_every: int | None = None
    allow_tf32: bool = False
    deterministic: bool | None = None
    _resolved: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a dict (a parsed TOML/JSON file), refusing unknown keys.

        Examples
        --------
        >>> TrainConfig.from_dict({"task": "adding", "steps": 3}).steps
        3
        >>> TrainConfig.from_dict({"stpes": 3})
        Traceback (most recent call last):
            ...
        ValueError: unknown config key 'stpes'; known keys: task, seq_len, strategy, hidden, batch, lr, ...
        """
        names = [f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")]
        for key in values:
            if key not in names:
                raise ValueError(
                    f"unknown config key {key!r}; known keys: {', '.join(names[:6])}, ..."
                )
        return cls(**values)

    def to_dict(self) -> dict:
        """The fields as a plain dict (what ``config.json`` holds)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if not k.startswith("_")}

    def sequence_length(self) -> int:
        """Timesteps the model sees: ``seq_len`` (copy: ``seq_len + 20``; images: fixed)."""
        if self.task in _FIXED_LENGTH:
            return _FIXED_LENGTH[self.task]
        T = 50 if self.seq_len is None else self.seq_len
        return T + 20 if self.task == "copy" else T

    def resolved(self) -> TrainConfig:
        """Check every field and fill the strategy-dependent defaults.

        Returns
        -------
        TrainConfig
            A new config with ``clip_norm``, ``tbptt_window``, ``tbptt_update``,
            ``proj_every``, ``init_scheme`` (canonical name) and ``orth_lr`` set
            where their strategy is used.

        Raises
        ------
        ValueError
            One line naming the field: unknown task, strategy, device, model
            or optimizer; a length, size, step count or interval below 1; a
            non-positive ``lr``, ``clip_norm`` or ``clip_value``; a tbptt window
            longer than the sequence; an option given without the strategy it
            belongs to.
        """
        c = dataclasses.replace(self)
        check_choice(c.task, "task", TASK_NAMES)
        strategy = parse_strategy(c.strategy)
        c.strategy = str(strategy)
        check_choice(c.device, "device", DEVICES)
        check_choice(c.model, "model", ("auto",) + MODEL_KINDS)
        check_choice(c.optimizer, "optimizer", OPTIMIZERS)
        if c.seq_len is not None:
            _check_int(c.seq_len, "seq_len", 1)
        for name in ("hidden", "batch", "steps", "log_every", "eval_every", "spectral_every",
                     "checkpoint_every", "val_batch"):
            _check_int(getattr(c, name), name, 1)
        _check_int(c.seed, "seed", 0)
        _check_int(c.lag_grads_every, "lag_grads_every", 0)
        _check_positive(c.lr, "lr")
        _check_positive(c.init_gain, "init_gain")

        def belongs(option: str, strategy_name: str) -> None:
            if getattr(c, option) is not None and not strategy.uses(strategy_name):
                raise ValueError(f"{option} is set but the strategy {c.strategy!r} has no {strategy_name}")

        belongs("clip_norm", "clip")
        belongs("clip_value", "clip")
        belongs("tbptt_window", "tbptt")
        belongs("tbptt_update", "tbptt")
        belongs("init_scheme", "orthogonal_init")
        if c.orth_lr is not None and strategy.parametrization is None:
            raise ValueError(f"orth_lr is set but the strategy {c.strategy!r} has no expm or cayley")
        if strategy.parametrization is not None:
            c.orth_lr = c.lr / 10 if c.orth_lr is None else c.orth_lr
            _check_positive(c.orth_lr, "orth_lr")
        if c.norm_every is not None:  # None: with the eigenvalues, every spectral_every steps
            _check_int(c.norm_every, "norm_every", 1)
        for name in ("allow_tf32", "deterministic"):
            value = getattr(c, name)
            if not isinstance(value, bool) and not (name == "deterministic" and value is None):
                raise ValueError(f"{name} must be true or false, got {value!r}")
        if c.proj_every is not None and strategy.projection is None:
            raise ValueError(f"proj_every is set but the strategy {c.strategy!r} has no projection")
        if c.clip_norm is not None and c.clip_value is not None:
            raise ValueError("give clip_norm or clip_value, not both")
        if strategy.uses("clip"):
            if c.clip_value is not None:
                _check_positive(c.clip_value, "clip_value")
            else:
                c.clip_norm = 1.0 if c.clip_norm is None else c.clip_norm
                _check_positive(c.clip_norm, "clip_norm")
        length = c.sequence_length()
        if strategy.uses("tbptt"):
            c.tbptt_window = max(1, length // 4) if c.tbptt_window is None else c.tbptt_window
            _check_int(c.tbptt_window, "tbptt_window", 1)
            if c.tbptt_window > length:
                raise ValueError(
                    f"tbptt_window ({c.tbptt_window}) is longer than the sequence ({length} steps)"
                )
            c.tbptt_update = c.tbptt_update or "window"
            check_choice(c.tbptt_update, "tbptt_update", ("window", "batch"))
        if strategy.projection is not None:
            c.proj_every = 5 if c.proj_every is None else c.proj_every
            _check_int(c.proj_every, "proj_every", 1)
        if strategy.uses("orthogonal_init"):
            c.init_scheme = canonical_init_scheme(c.init_scheme or "orthogonal", "init_scheme")
        if c.model in ("fused", "loop") and strategy.uses("lstm"):
            raise ValueError(f"model {c.model!r} contradicts the lstm strategy; use model 'auto'")
        if c.model == "lstm" and not strategy.uses("lstm"):
            raise ValueError("use the lstm strategy (not model 'lstm') to train an LSTM")
        if c.lag_grads_every and strategy.uses("lstm"):
            raise ValueError("lag_grads_every needs a tanh RNN; the lstm strategy has no single h_t chain")
        if c.delay is not None and c.task != "recall":
            raise ValueError(f"delay applies to the recall task only, not {c.task!r}")
        if c.delay is not None:
            _check_int(c.delay, "delay", 1)
            if c.delay >= length:
                raise ValueError(f"delay ({c.delay}) must be < seq_len ({length})")
        if c.permute and c.task not in _FIXED_LENGTH:
            raise ValueError(f"permute applies to image tasks (digits, mnist), not {c.task!r}")
        if c.task == "mnist" and not c.data_dir:
            raise ValueError("the mnist task reads local IDX files: give data_dir (--data-dir)")
        if c.task in _FIXED_LENGTH and c.seq_len not in (None, _FIXED_LENGTH[c.task]):
            raise ValueError(
                f"{c.task} sequences have {_FIXED_LENGTH[c.task]} steps; "
                f"use seq_len {_FIXED_LENGTH[c.task]} or leave it out"
            )
        c._resolved = True
        return c

    @property
    def model_kind(self) -> str:
        """``"fused"``, ``"loop"`` or ``"lstm"``: what the strategy and ``model`` ask for."""
        kind = parse_strategy(self.strategy).model_kind
        return "loop" if self.model == "loop" else kind
