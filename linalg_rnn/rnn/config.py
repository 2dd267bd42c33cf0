"""The training configuration: one dataclass, checked at the door, and the device choice.

:class:`TrainConfig` is what ``linalg-rnn train`` builds from its flags (or a
TOML/JSON file) and what :func:`~linalg_rnn.rnn.trainer.train` runs. Every
check happens in :meth:`TrainConfig.resolved`, before any data or model is
made, and fails with a one-line ``ValueError`` or ``TypeError`` that says what
to change:

1. every field has its type (a config file's ``permute = "yes"`` is refused,
   not read as true), by the shared checks of :mod:`linalg_rnn._validation`;
2. the task's own rules -- its lengths and options -- by asking the task
   (:func:`~linalg_rnn.rnn.tasks.task_spec`), so no task is described here;
3. each strategy option belongs to its strategy, and gets its default;
4. the run fits in the device's memory (:meth:`TrainConfig.memory_estimate`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from .._validation import check_bool, check_choice, check_int, check_positive_float, check_real
from .models import ACTIVATIONS, MODEL_KINDS
from .strategies import canonical_init_scheme, parse_strategy
from .tasks import TASK_OPTIONS, TASKS, TaskSpec, task_spec

__all__ = ["DEVICES", "OPTIMIZERS", "SEED_MAX", "TrainConfig", "device_memory", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda", "mps")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
#: The largest seed: torch seeds take [0, 2**64 - 1] and the trainer seeds its
#: generators with seed + 1 and seed + 2; 2**63 - 1 also fits a signed 64-bit field.
SEED_MAX = 2**63 - 1
#: Bytes per number in the memory estimate (the trainer works in float32).
_BYTES_PER_FLOAT = 4
#: Optimizer state kept per parameter (Adam: two moments; RMSprop: one; plain SGD: none).
_OPTIMIZER_SLOTS = {"adam": 2, "rmsprop": 1, "sgd": 0}


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


def device_memory(device: str = "auto") -> tuple[str, int] | None:
    """The memory a run on ``device`` can use, in bytes, and what it is; ``None`` if unknown here.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "mps"}
        The config's device; ``auto`` picks as :func:`resolve_device` does.

    Returns
    -------
    tuple of (str, int), or None
        ``("this machine's RAM", bytes)`` for the CPU and Apple GPUs (which
        share the RAM), ``("GPU 0 (name)", bytes)`` for CUDA; ``None`` when
        the device is not here (``cuda`` asked for on a machine without one)
        or the platform does not say.

    Notes
    -----
    The RAM is ``os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")``,
    the total, not what is free now; a CUDA GPU's is its total memory, read
    by ``torch.cuda.get_device_properties``, which initializes CUDA in this
    process.

    Examples
    --------
    >>> label, size = device_memory("cpu")
    >>> label, size > 0
    ("this machine's RAM", True)
    """
    if device in ("auto", "cuda") and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        return f"GPU {torch.cuda.current_device()} ({props.name})", int(props.total_memory)
    if device == "cuda":
        return None
    try:
        return "this machine's RAM", os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return None


def _at_least(minimum: int) -> Callable[[Any, str], int]:
    return lambda value, name: check_int(value, name, minimum=minimum)


def _one_of(choices: Iterable[str]) -> Callable[[Any, str], str]:
    return lambda value, name: check_choice(value, name, choices)


def _seed(value: Any, name: str) -> int:
    return check_int(value, name, minimum=0, maximum=SEED_MAX)


def _strategy(value: Any, name: str) -> str:
    return str(parse_strategy(value))  # the canonical order: "clip+tbptt", never "tbptt+clip"


def _init_scheme(value: Any, name: str) -> str:
    return canonical_init_scheme(value, name)  # "qr" and "haar" are stored as "orthogonal"


#: The type rule of every field: ``rule(value, name)`` returns the value
#: normalized or raises one line naming the field. A field whose default is
#: ``None`` may be ``None`` ("not set"). The task options' rules are the
#: tasks' own (:data:`~linalg_rnn.rnn.tasks.TASK_OPTIONS`).
_FIELD_RULES: dict[str, Callable[[Any, str], Any]] = {
    "task": _one_of(TASKS),  # the registry itself, so a task listed later is known
    "seq_len": _at_least(1),
    "strategy": _strategy,
    "hidden": _at_least(1),
    "batch": _at_least(1),
    "lr": check_positive_float,
    "optimizer": _one_of(OPTIMIZERS),
    "steps": _at_least(1),
    "seed": _seed,
    "device": _one_of(DEVICES),
    "clip_norm": check_positive_float,
    "clip_value": check_positive_float,
    "tbptt_window": _at_least(1),
    "proj_every": _at_least(1),
    "init_scheme": _init_scheme,
    **{name: option.check for name, option in TASK_OPTIONS.items()},
    "model": _one_of(("auto",) + MODEL_KINDS),
    "init_gain": check_positive_float,
    "log_every": _at_least(1),
    "eval_every": _at_least(1),
    "spectral_every": _at_least(1),
    "checkpoint_every": _at_least(1),
    "lag_grads_every": _at_least(0),
    "val_batch": _at_least(1),
    "figures": check_bool,
    "orth_lr": check_positive_float,
    "tbptt_update": _one_of(("window", "batch")),
    "norm_every": _at_least(1),
    "allow_tf32": check_bool,
    "deterministic": check_bool,
    "activation": _one_of(ACTIVATIONS),
    "lstm_init": _one_of(("forget_bias", "chrono")),
    "forget_bias": check_real,
    "rebase_every": _at_least(1),
}


@dataclass
class TrainConfig:
    """Everything one training run needs; defaults make a small CPU run.

    Parameters
    ----------
    task : {"copy", "adding", "recall", "digits", "mnist"}
        See :mod:`linalg_rnn.rnn.tasks`; any name in its ``TASKS``.
    seq_len : int, optional
        ``T`` of the task (default: the task's ``default_seq_len``, 50 for the
        synthetic tasks; image tasks have their pixel count).
    strategy : str
        Strategy names joined by ``+`` (:func:`~linalg_rnn.rnn.strategies.parse_strategy`).
    hidden, batch : int
        Hidden size :math:`H` and batch size :math:`N`.
    lr : float
        Learning rate.
    optimizer : {"adam", "rmsprop", "sgd"}
        The optimizer.
    steps : int
        Optimizer steps (one batch each).
    seed : int
        Seeds the model init, the data and the validation batch; in
        ``[0, SEED_MAX]`` (:data:`SEED_MAX` is ``2**63 - 1``).
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
        ``orthogonal_init``, ``expm`` or ``cayley`` only: ``orthogonal`` (Haar;
        aliases ``qr``, ``haar``, stored as ``orthogonal``), ``identity``,
        ``henaff``, ``cayley`` (default ``orthogonal`` for ``orthogonal_init``;
        none for ``expm``/``cayley``, whose base is then the QR factor of
        ``nn.RNN``'s init). With ``expm``/``cayley``, ``henaff`` and ``cayley``
        start the skew matrix :math:`B` at that scheme's rotation angles, base
        :math:`I`, as expRNN does (:func:`~linalg_rnn.rnn.models.build_model`).
    orth_lr : float, optional
        ``expm``/``cayley`` only: learning rate of the parametrization's
        unconstrained matrix (default ``lr / 10``, as in expRNN).
    delay, permute, data_dir
        Task options (:data:`~linalg_rnn.rnn.tasks.TASK_OPTIONS`), each for the
        tasks that read it: the recall lag ``d`` (default ``seq_len // 2``); a
        fixed random pixel order (image tasks); the folder with the MNIST IDX
        files (a string).
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
        error alone (one SVD; default: with the eigenvalues, every
        ``spectral_every`` steps), e.g. 1 to see a projected :math:`W_{hh}`
        drift between projections.
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
    activation : {"tanh", "modrelu"}, optional
        Every strategy but ``lstm``: the activation of the RNN (default
        ``tanh``). ``modrelu`` runs on its own one-op loop, not the fused
        kernel (:class:`~linalg_rnn.rnn.models.FunctionalRNN`).
    lstm_init : {"forget_bias", "chrono"}, optional
        ``lstm`` only: the gate biases' start, a forget-gate bias for every
        unit (default) or the chrono init with :math:`T_{\\max}` the length of
        the sequences (:class:`~linalg_rnn.rnn.models.LSTMModel`).
    forget_bias : float, optional
        ``lstm`` with ``lstm_init="forget_bias"`` only: the effective
        forget-gate bias :math:`b_{ih} + b_{hh}` (default 1).
    rebase_every : int, optional
        ``expm``/``cayley`` only: fold :math:`\\operatorname{map}(B)` into the
        base every ``K`` steps, after the update (dynamic trivialization,
        :meth:`~linalg_rnn.rnn.models.ParametrizableRNN.rebase_`; default never).

    Notes
    -----
    A new field is two lines: the field, and its type rule in ``_FIELD_RULES``
    (a test fails for a field without one); an option of a strategy adds its
    "belongs to" line and default in :meth:`resolved`.

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
    activation: str | None = None
    lstm_init: str | None = None
    forget_bias: float | None = None
    rebase_every: int | None = None
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

    def task_options(self) -> dict[str, Any]:
        """The task options (:data:`~linalg_rnn.rnn.tasks.TASK_OPTIONS`) as keywords for ``make_task``."""
        return {name: getattr(self, name) for name in TASK_OPTIONS}

    def task_spec(self) -> TaskSpec:
        """The task's answer for this config: its class, ``T``, length and options (builds nothing).

        Examples
        --------
        >>> spec = TrainConfig(task="recall", seq_len=20).task_spec()
        >>> spec.length, spec.options
        (20, {'delay': 10})
        """
        return task_spec(self.task, self.seq_len, **self.task_options())

    def sequence_length(self) -> int:
        """Timesteps the model sees, as the task says (copy: ``seq_len + 20``; images: fixed).

        Examples
        --------
        >>> TrainConfig(task="copy", seq_len=10).sequence_length()
        30
        >>> TrainConfig(task="digits").sequence_length()
        64
        """
        check_choice(self.task, "task", TASKS)
        task = TASKS[self.task]
        return task.sequence_length(task.check_seq_len(self.seq_len))

    def memory_estimate(self) -> dict[str, int]:
        """A lower bound of the memory a run holds at once, in bytes, by part.

        Returns
        -------
        dict
            ``parameters`` (weights, their gradients, the optimizer's state per
            weight; for a parametrization also its base and the :math:`W_{hh}`
            it computes, two :math:`H \\times H` matrices), ``batch`` (one
            training batch's inputs, targets and outputs for all :math:`T`
            steps), ``activations`` (what backpropagation through time keeps
            per step of a window -- :math:`h_t`, or for an LSTM :math:`h_t`,
            :math:`c_t` and the four gates -- and the outputs), ``validation``
            (the validation batch and its forward pass), and
            ``total``.

        Notes
        -----
        Counted in float32 (4 bytes) from the task's ``input_size``
        :math:`n_{\\mathrm{in}}` and ``output_size`` :math:`n_{\\mathrm{out}}`, the
        hidden size :math:`H`, batch :math:`N`, validation batch
        :math:`N_{\\mathrm{val}}`, sequence length :math:`T` and tbptt window
        :math:`k` (:math:`T` without tbptt). A tanh RNN has
        :math:`H(n_{\\mathrm{in}} + H + 2) + n_{\\mathrm{out}}(H + 1)` weights, an LSTM four times the
        recurrent part. It is a lower bound: autograd's temporaries, torch's
        own workspace, the image tasks' data set and held-out split (their
        validation batch is the split, not ``val_batch``) are not counted, so
        a config refused for it cannot fit. Taught in lesson 13.

        Examples
        --------
        >>> est = TrainConfig(task="adding", seq_len=100, hidden=1000, batch=32).memory_estimate()
        >>> H, n_in, n_out = 1000, 2, 1         # the adding task reads 2 numbers, predicts 1
        >>> weights = H * (n_in + H + 2) + n_out * (H + 1)
        >>> est["parameters"] == 4 * weights * (1 + 1 + 2)  # bytes x (weight, gradient, 2 Adam moments)
        True
        >>> est["total"] == sum(v for k, v in est.items() if k != "total")
        True
        """
        task, strategy = TASKS[self.task], parse_strategy(self.strategy)
        n_in, n_out, H = task.input_size, task.output_size, self.hidden
        N, N_val, T = self.batch, self.val_batch, self.sequence_length()
        k = min(self.tbptt_window or T, T) if strategy.uses("tbptt") else T
        gates = 4 if strategy.uses("lstm") else 1
        weights = gates * H * (n_in + H + 2) + n_out * (H + 1)
        kept_per_step = 6 * H if strategy.uses("lstm") else H  # LSTM: h_t, c_t, and i, f, g, o
        floats = {
            "parameters": weights * (2 + _OPTIMIZER_SLOTS[self.optimizer])
            + (2 * H * H if strategy.parametrization else 0),
            "batch": N * T * (n_in + 1 + n_out),
            "activations": N * k * (kept_per_step + n_out),
            "validation": N_val * T * (n_in + 1 + H + n_out),
        }
        size = {part: _BYTES_PER_FLOAT * n for part, n in floats.items()}
        size["total"] = sum(size.values())
        return size

    def resolved(self) -> TrainConfig:
        """Check every field and fill the strategy-dependent defaults.

        Returns
        -------
        TrainConfig
            A new config with ``clip_norm``, ``tbptt_window``, ``tbptt_update``,
            ``proj_every``, ``init_scheme`` (its canonical name), ``orth_lr``,
            ``activation``, ``lstm_init`` and ``forget_bias`` set where their
            strategy is used, and every value normalized
            (NumPy integers to ``int``, a ``Path`` to ``str``).

        Raises
        ------
        TypeError
            A field of the wrong type: a string or number where a bool belongs
            (``permute = "yes"``), a float where an integer belongs, a
            non-string ``data_dir``.
        ValueError
            One line naming the field: unknown task, strategy, device, model
            or optimizer; a length, size, step count or interval below 1; a
            seed outside ``[0, SEED_MAX]``; a non-positive or non-finite
            ``lr``, ``init_gain``, ``clip_norm`` or ``clip_value``; a length
            or task option against the task's rules; a tbptt window longer
            than the sequence; an option given without the strategy it
            belongs to; a run whose :meth:`memory_estimate` exceeds the
            device's memory.
        FileNotFoundError
            For an ``mnist`` ``data_dir`` without the IDX files.

        Examples
        --------
        >>> TrainConfig(task="digits", permute="yes").resolved()
        Traceback (most recent call last):
            ...
        TypeError: permute must be true or false (a bool), got str 'yes'
        >>> TrainConfig(task="recall", delay=3, permute=True).resolved()
        Traceback (most recent call last):
            ...
        ValueError: permute applies to image tasks (digits, mnist), not 'recall'
        """
        c = dataclasses.replace(self)
        # 1. types: flags, TOML and JSON all arrive here, so a file's "yes" is not a bool
        for f in dataclasses.fields(c):
            value = getattr(c, f.name)
            if f.name.startswith("_") or (value is None and f.default is None):
                continue
            setattr(c, f.name, _FIELD_RULES[f.name](value, f.name))
        strategy = parse_strategy(c.strategy)

        # 2. the task's own rules: its lengths and which options it reads
        length = c.task_spec().length

        # 3. each strategy option belongs to its strategy, and gets its default there
        def belongs(option: str, used: bool, what: str) -> None:
            if getattr(c, option) is not None and not used:
                raise ValueError(f"{option} is set but the strategy {c.strategy!r} has no {what}")

        belongs("clip_norm", strategy.uses("clip"), "clip")
        belongs("clip_value", strategy.uses("clip"), "clip")
        belongs("tbptt_window", strategy.uses("tbptt"), "tbptt")
        belongs("tbptt_update", strategy.uses("tbptt"), "tbptt")
        belongs("init_scheme", strategy.uses("orthogonal_init") or strategy.parametrization is not None,
                "orthogonal_init, expm or cayley")
        belongs("orth_lr", strategy.parametrization is not None, "expm or cayley")
        belongs("rebase_every", strategy.parametrization is not None, "expm or cayley")
        belongs("activation", not strategy.uses("lstm"), "tanh RNN (lstm has its own gates)")
        belongs("lstm_init", strategy.uses("lstm"), "lstm")
        belongs("forget_bias", strategy.uses("lstm") and c.lstm_init != "chrono",
                "lstm with lstm_init 'forget_bias'")
        belongs("proj_every", strategy.projection is not None, "projection")
        if strategy.parametrization is not None:
            c.orth_lr = c.lr / 10 if c.orth_lr is None else c.orth_lr
        if c.clip_norm is not None and c.clip_value is not None:
            raise ValueError("give clip_norm or clip_value, not both")
        if strategy.uses("clip") and c.clip_value is None:
            c.clip_norm = 1.0 if c.clip_norm is None else c.clip_norm
        if strategy.uses("tbptt"):
            c.tbptt_window = max(1, length // 4) if c.tbptt_window is None else c.tbptt_window
            if c.tbptt_window > length:
                raise ValueError(
                    f"tbptt_window ({c.tbptt_window}) is longer than the sequence ({length} steps)"
                )
            c.tbptt_update = c.tbptt_update or "window"
        if strategy.projection is not None:
            c.proj_every = 5 if c.proj_every is None else c.proj_every
        if strategy.uses("orthogonal_init"):
            c.init_scheme = c.init_scheme or "orthogonal"
        if strategy.uses("lstm"):
            c.lstm_init = c.lstm_init or "forget_bias"
            if c.lstm_init == "forget_bias":
                c.forget_bias = 1.0 if c.forget_bias is None else c.forget_bias
        else:
            c.activation = c.activation or "tanh"

        # 4. the model the strategy needs
        if c.model in ("fused", "loop") and strategy.uses("lstm"):
            raise ValueError(f"model {c.model!r} contradicts the lstm strategy; use model 'auto'")
        if c.model == "lstm" and not strategy.uses("lstm"):
            raise ValueError("use the lstm strategy (not model 'lstm') to train an LSTM")
        if c.lag_grads_every and strategy.uses("lstm"):
            raise ValueError("lag_grads_every needs a tanh RNN; the lstm strategy has no single h_t chain")

        # 5. memory: refuse what cannot fit before anything is allocated
        c._check_memory()
        c._resolved = True
        return c

    def _check_memory(self) -> None:
        available = device_memory(self.device)
        need = self.memory_estimate()
        if available is None or need["total"] <= available[1]:
            return
        label, limit = available
        parts = ", ".join(f"{part} {need[part]:.3g}" for part in need if part != "total")
        raise ValueError(
            f"hidden={self.hidden}, batch={self.batch}, val_batch={self.val_batch} and "
            f"{self.sequence_length()}-step sequences need at least {need['total']:.3g} bytes "
            f"({need['total'] / 2**30:.3g} GiB: {parts}) but {label} has {limit:.3g}; "
            "make them smaller"
        )

    @property
    def model_kind(self) -> str:
        """``"fused"``, ``"loop"`` or ``"lstm"``: what the strategy and ``model`` ask for."""
        kind = parse_strategy(self.strategy).model_kind
        return "loop" if self.model == "loop" else kind
