"""The training configuration: one frozen dataclass, checked once at the door, and the device choice.

:class:`TrainConfig` is what ``linalg-rnn train`` builds from its flags (or a
TOML/JSON file) and what :func:`~linalg_rnn.rnn.trainer.train` runs. Each
field is declared once, with its default, its type rule and its help text;
the command line makes its flags from them (a new field gets its flag for
free) and the docstring its Parameters.

Every check happens in :meth:`TrainConfig.resolved`, before any data or model
is made, and fails with a one-line ``ValueError`` or ``TypeError`` that says
what to change. The resolved config is frozen and carries what the checks
found -- the parsed strategy and the device -- so nothing downstream checks
or parses again:

1. every field has its type (a config file's ``permute = "yes"`` is refused,
   not read as true), by the shared checks of :mod:`linalg_rnn._validation`;
2. the task's own rules -- its lengths and options -- by asking the task
   (:func:`~linalg_rnn.rnn.tasks.task_spec`), so no task is described here;
3. each strategy option belongs to its strategy, and gets its default;
4. the model the strategy needs;
5. the device exists, runs the strategy's operations, and holds the run
   (:meth:`TrainConfig.memory_estimate`).
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from .._console import unknown_name
from .._validation import _physical_memory, check_bool, check_int, check_positive_float, check_real
from ._environment import check_device_support
from .models import ACTIVATIONS, MODEL_KINDS
from .strategies import STRATEGY_NAMES, Strategy, canonical_init_scheme, parse_strategy
from .tasks import TASK_OPTIONS, TASKS, TaskSpec, task_spec

__all__ = ["DEVICES", "EVAL_CHUNK", "OPTIMIZERS", "SEED_MAX", "TrainConfig", "device_memory",
           "resolve_device"]

DEVICES = ("auto", "cpu", "cuda", "mps")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
#: The largest seed: torch seeds take [0, 2**64 - 1] and the trainer seeds its
#: generators with seed + 1 and seed + 2; 2**63 - 1 also fits a signed 64-bit field.
SEED_MAX = 2**63 - 1
#: Bytes per number in the memory estimate (the trainer works in float32).
_BYTES_PER_FLOAT = 4
#: Optimizer state kept per parameter (Adam: two moments; RMSprop: one; plain SGD: none).
_OPTIMIZER_SLOTS = {"adam": 2, "rmsprop": 1, "sgd": 0}
#: Sequences per forward pass of a run's final evaluation (the trainer's ``final_evaluation``).
EVAL_CHUNK = 1024


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
    >>> resolve_device("xla")
    Traceback (most recent call last):
        ...
    ValueError: unknown device 'xla'; choose one of 'auto', 'cpu', 'cuda', 'mps'
    """
    if not isinstance(name, str) or name not in DEVICES:
        raise unknown_name("device", name, DEVICES)
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
    The RAM is ``os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")``
    (:mod:`linalg_rnn._validation`'s probe), the total, not what is free now;
    a CUDA GPU's is its total memory, read by
    ``torch.cuda.get_device_properties``, which initializes CUDA in this
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
    ram = _physical_memory()  # the probe the numerical parts' memory checks use
    return None if math.isinf(ram) else ("this machine's RAM", int(ram))


# --- the type rules: rule(value, field, flag) returns the value normalized, or raises one line naming
# the flag the user typed (on the command line) or the field (a file, the Python API)
Rule = Callable[[Any, str, "str | None"], Any]


def _at_least(minimum: int) -> Rule:
    return lambda value, name, flag: check_int(value, flag or name, minimum=minimum)


def _positive(value: Any, name: str, flag: str | None) -> float:
    return check_positive_float(value, flag or name)


def _real(value: Any, name: str, flag: str | None) -> float:
    return check_real(value, flag or name)


def _bool(value: Any, name: str, flag: str | None) -> bool:
    return check_bool(value, flag or name)


def _one_of(choices: Iterable[str]) -> Rule:
    def rule(value: Any, name: str, flag: str | None) -> str:
        if not isinstance(value, str) or value not in choices:  # a registry is read as it is now
            raise unknown_name(name, value, choices, flag)
        return value

    return rule


def _seed(value: Any, name: str, flag: str | None) -> int:
    return check_int(value, flag or name, minimum=0, maximum=SEED_MAX)


def _strategy(value: Any, name: str, flag: str | None) -> Strategy:
    return parse_strategy(value)  # resolved() keeps the parsed one and stores its canonical name


def _init_scheme(value: Any, name: str, flag: str | None) -> str:
    return canonical_init_scheme(value, name, flag)  # "qr" and "haar" are stored as "orthogonal"


def _task_option(option: str) -> Rule:
    return lambda value, name, flag: TASK_OPTIONS[option].check(value, flag or name)


def _option(default: Any, rule: Rule, help: str) -> Any:
    """A config field: its default, its type rule and its help text, in one place."""
    return field(default=default, metadata={"rule": rule, "help": help})


def _choices(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names[:-1]) + f" or {names[-1]}"


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs; defaults make a small CPU run.

    Parameters
    ----------
    {parameters}

    Notes
    -----
    The last step always logs, evaluates, computes the :math:`W_{hh}`
    metrics and checkpoints. A new field is one declaration in this class --
    its default, its type rule and its help text -- and becomes a flag of
    ``linalg-rnn train``, a key of config files and a line of this docstring;
    an option of a strategy also adds its "belongs to" line and default in
    :meth:`resolved`.

    Examples
    --------
    >>> cfg = TrainConfig(task="copy", seq_len=10, strategy="clip", device="cpu").resolved()
    >>> cfg.clip_norm, cfg.sequence_length(), cfg.torch_device
    (1.0, 30, device(type='cpu'))
    >>> TrainConfig(strategy="tbptt", seq_len=10, tbptt_window=20).resolved()
    Traceback (most recent call last):
        ...
    ValueError: tbptt_window (20) is longer than the sequence (10 steps)
    """

    task: str = _option("recall", _one_of(TASKS), f"the task: {_choices(TASKS)}")
    seq_len: int | None = _option(None, _at_least(1), "T of the task (copy: the delay; default: the task's "
                                  "own, 50 for the synthetic tasks; image tasks have their pixel count)")
    strategy: str = _option("vanilla", _strategy, "strategy names joined by +, e.g. orthogonal_init+clip: "
                            + _choices(STRATEGY_NAMES))
    hidden: int = _option(64, _at_least(1), "hidden size H")
    batch: int = _option(32, _at_least(1), "batch size N")
    lr: float = _option(1e-3, _positive, "learning rate")
    optimizer: str = _option("adam", _one_of(OPTIMIZERS), f"the optimizer: {_choices(OPTIMIZERS)}")
    steps: int = _option(200, _at_least(1), "optimizer steps, one batch each")
    seed: int = _option(0, _seed, "seeds the model init, the data and the validation batch; in "
                        "[0, 2**63 - 1]")
    device: str = _option("auto", _one_of(DEVICES), "where to train: auto (cuda, then mps, then cpu), "
                          "cpu, cuda or mps")
    clip_norm: float | None = _option(None, _positive, "clip: the largest gradient norm (default 1.0)")
    clip_value: float | None = _option(None, _positive, "clip: clamp each gradient entry to [-v, v] "
                                       "instead of the norm")
    tbptt_window: int | None = _option(None, _at_least(1), "tbptt: window k (default a quarter of the "
                                       "sequence)")
    proj_every: int | None = _option(None, _at_least(1), "qr_projection, polar_projection: project every "
                                     "N steps (default 5)")
    init_scheme: str | None = _option(None, _init_scheme, "orthogonal_init, expm, cayley: orthogonal (Haar; "
                                      "aliases qr and haar), identity, henaff or cayley (default orthogonal "
                                      "for orthogonal_init; none for expm and cayley, whose base is then the "
                                      "QR factor of nn.RNN's init); with expm or cayley, henaff and cayley "
                                      "start the skew matrix B at that scheme's rotation angles, base I, as "
                                      "expRNN does")
    delay: int | None = _option(None, _task_option("delay"), "recall: the lag d (default seq_len // 2)")
    permute: bool = _option(False, _task_option("permute"), "digits, mnist: a fixed random pixel order")
    data_dir: str | None = _option(None, _task_option("data_dir"), "mnist: the folder with the IDX files")
    model: str = _option("auto", _one_of(("auto",) + MODEL_KINDS), "auto or fused: the fused kernel "
                         "(nn.RNN, fed the computed W_hh for expm and cayley; nn.LSTM for lstm); loop: "
                         "the explicit-loop RNN")
    init_gain: float = _option(1.0, _positive, "multiplies the initial W_hh (after any orthogonal init); "
                               "above 1 makes an exploding start")
    log_every: int = _option(1, _at_least(1), "a metrics row every N steps")
    eval_every: int = _option(50, _at_least(1), "the validation loss every N steps")
    spectral_every: int = _option(10, _at_least(1), "the O(H^3) metrics of W_hh (norm, orthogonality "
                                  "error, spectral radius) every N steps")
    checkpoint_every: int = _option(100, _at_least(1), "a checkpoint every N steps")
    lag_grads_every: int = _option(0, _at_least(0), "log the gradient norm per timestep, dL/dh_t, every "
                                   "N steps (0: never; tanh RNNs only)")
    val_batch: int = _option(256, _at_least(1), "validation batch size of the evaluations during training "
                             "(synthetic tasks)")
    eval_sequences: int = _option(4096, _at_least(1), "sequences of the final validation and test sets, "
                                  "evaluated once at the end of a run (generated tasks; a data set uses its "
                                  "whole held-out split)")
    figures: bool = _option(True, _bool, "write curves.png into the run directory")
    orth_lr: float | None = _option(None, _positive, "expm, cayley: learning rate of the "
                                    "parametrization's unconstrained matrix (default lr / 10, as in expRNN); "
                                    "qr_projection, polar_projection: learning rate of W_hh (default lr)")
    tbptt_update: str | None = _option(None, _one_of(("window", "batch")), "tbptt: window (an update "
                                       "after every window, lesson 11's algorithm; the default) or batch "
                                       "(the windows' gradients summed into one update per batch)")
    norm_every: int | None = _option(None, _at_least(1), "||W_hh||_2 and the orthogonality error alone "
                                     "(no eigenvalues) every N steps (default: with the spectral radius)")
    allow_tf32: bool = _option(False, _bool, "CUDA matrix products and cuDNN may use TF32 (default off: "
                               "float32 everywhere; the caller's setting comes back after the run)")
    deterministic: bool | None = _option(None, _bool, "deterministic algorithms (default on for CUDA, "
                                         "off elsewhere)")
    activation: str | None = _option(None, _one_of(ACTIVATIONS), "every strategy but lstm: the RNN's "
                                     f"activation, {_choices(ACTIVATIONS)} (default tanh); modrelu runs on "
                                     "its own one-op loop, not the fused kernel")
    lstm_init: str | None = _option(None, _one_of(("forget_bias", "chrono")), "lstm: the gate biases' "
                                    "start, forget_bias (a forget-gate bias for every unit; the default) or "
                                    "chrono (T_max the length of the sequences)")
    forget_bias: float | None = _option(None, _real, "lstm with lstm_init forget_bias: the effective "
                                        "forget-gate bias b_ih + b_hh (default 1)")
    rebase_every: int | None = _option(None, _at_least(1), "expm, cayley: fold map(B) into the base every "
                                       "K steps, after the update (dynamic trivialization; default never)")
    # what resolved() found, carried so that nothing downstream parses or checks again
    _strategy: Strategy | None = field(default=None, init=False, repr=False, compare=False)
    _device: torch.device | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def options(cls) -> list[dataclasses.Field]:
        """The fields a user sets (each with ``metadata["rule"]`` and ``metadata["help"]``), in order.

        Examples
        --------
        >>> [f.name for f in TrainConfig.options()][:4]
        ['task', 'seq_len', 'strategy', 'hidden']
        """
        return [f for f in dataclasses.fields(cls) if f.init]

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainConfig:
        """Build from a dict (a parsed TOML/JSON file), refusing unknown keys; checks nothing else.

        Examples
        --------
        >>> TrainConfig.from_dict({"task": "adding", "steps": 3}).steps
        3
        >>> TrainConfig.from_dict({"stpes": 3})
        Traceback (most recent call last):
            ...
        ValueError: unknown config key 'stpes'; did you mean 'steps'?
        """
        names = [f.name for f in cls.options()]
        for key in values:
            if key not in names:
                raise unknown_name("config key", key, names)
        return cls(**values)

    def to_dict(self) -> dict:
        """The fields as a plain dict (what ``config.json`` holds).

        Examples
        --------
        >>> TrainConfig(task="adding").to_dict()["task"]
        'adding'
        """
        return {f.name: getattr(self, f.name) for f in self.options()}

    @property
    def is_resolved(self) -> bool:
        """True for a config :meth:`resolved` made: checked, with its strategy parsed and device chosen."""
        return self._device is not None

    @property
    def parsed_strategy(self) -> Strategy:
        """The :class:`~linalg_rnn.rnn.strategies.Strategy` of a resolved config (parsed once)."""
        if self._strategy is None:
            raise ValueError("this TrainConfig is not resolved; call .resolved() first")
        return self._strategy

    @property
    def torch_device(self) -> torch.device:
        """The device a resolved config trains on (``auto`` already chosen)."""
        if self._device is None:
            raise ValueError("this TrainConfig is not resolved; call .resolved() first")
        return self._device

    @property
    def model_kind(self) -> str:
        """``"fused"``, ``"loop"`` or ``"lstm"``: what the strategy and ``model`` ask for (resolved only)."""
        return "loop" if self.model == "loop" else self.parsed_strategy.model_kind


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
        if not isinstance(self.task, str) or self.task not in TASKS:
            raise unknown_name("task", self.task, TASKS)
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
            (an evaluation batch and its forward pass), and ``total``.

        Notes
        -----
        Counted in float32 (4 bytes) from the task's ``input_size``
        :math:`n_{\\mathrm{in}}` and ``output_size`` :math:`n_{\\mathrm{out}}`
        (:meth:`task_spec`'s, which may depend on ``seq_len``), the
        hidden size :math:`H`, batch :math:`N`, evaluation batch
        :math:`N_{\\mathrm{val}}` (the larger of ``val_batch`` and a chunk of the final
        evaluation, :math:`\\min(1024,` ``eval_sequences``:math:`)`), sequence length :math:`T`
        and tbptt window :math:`k` (:math:`T` without tbptt). A tanh RNN has
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
        spec = self.task_spec()  # the task's own answer: its input size may depend on seq_len
        strategy = self._strategy or parse_strategy(self.strategy)  # a resolved config parsed it already
        n_in, n_out, H = spec.input_size, spec.output_size, self.hidden
        N, N_val, T = self.batch, max(self.val_batch, min(EVAL_CHUNK, self.eval_sequences)), spec.length
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

    def resolved(self, *, flags: Mapping[str, str] | None = None) -> TrainConfig:
        """Check every field, fill the strategy-dependent defaults, choose the device: once per run.

        Parameters
        ----------
        flags : mapping of str to str, optional
            The command-line flag each field was given with (``{"seq_len":
            "--seq-len"}``): messages name it instead of the field, so a user
            reads what they typed. Fields from a config file keep their names.

        Returns
        -------
        TrainConfig
            A new, frozen config with ``clip_norm``, ``tbptt_window``,
            ``tbptt_update``, ``proj_every``, ``init_scheme`` (its canonical
            name), ``orth_lr``, ``activation``, ``lstm_init`` and
            ``forget_bias`` set where their strategy is used, every value
            normalized (NumPy integers to ``int``, a ``Path`` to ``str``, the
            strategy to its canonical order), and the parsed strategy
            (:attr:`parsed_strategy`) and device (:attr:`torch_device`) it found.

        Raises
        ------
        TypeError
            A field of the wrong type: a string or number where a bool belongs
            (``permute = "yes"``), a float where an integer belongs, a
            non-string ``data_dir``.
        ValueError
            One line naming the field (or its flag): unknown task, strategy,
            device, model or optimizer (with the nearest valid name); a length,
            size, step count or interval below 1; a seed outside ``[0,
            SEED_MAX]``; a non-positive or non-finite ``lr``, ``init_gain``,
            ``clip_norm`` or ``clip_value``; a length or task option against the
            task's rules; a tbptt window longer than the sequence; an option
            given without the strategy it belongs to; a device that is not here
            or cannot run the strategy; a run whose :meth:`memory_estimate`
            exceeds the device's memory.
        FileNotFoundError
            For an ``mnist`` ``data_dir`` without the IDX files.

        Examples
        --------
        >>> TrainConfig(task="digits", permute="yes").resolved()
        Traceback (most recent call last):
            ...
        TypeError: permute must be true or false (a bool), got str 'yes'
        >>> TrainConfig(seq_len=0).resolved(flags={"seq_len": "--seq-len"})
        Traceback (most recent call last):
            ...
        ValueError: --seq-len must be an integer >= 1, got 0
        >>> TrainConfig(task="recall", delay=3, permute=True).resolved()
        Traceback (most recent call last):
            ...
        ValueError: permute applies to image tasks (digits, mnist), not 'recall'
        """
        flags = dict(flags or {})

        def name(option: str) -> str:
            return flags.get(option, option)

        # 1. types: flags, TOML and JSON all arrive here, so a file's "yes" is not a bool
        values = {}
        for f in self.options():
            value = getattr(self, f.name)
            if value is not None or f.default is not None:  # None is "not set" where it is the default
                value = f.metadata["rule"](value, f.name, flags.get(f.name))
            values[f.name] = value
        strategy: Strategy = values["strategy"]
        values["strategy"] = str(strategy)  # the canonical order: "clip+tbptt", never "tbptt+clip"
        v = dataclasses.replace(self, **values)

        # 2. the task's own rules: its lengths and which options it reads
        length = v.task_spec().length

        # 3. each strategy option belongs to its strategy, and gets its default there
        def belongs(option: str, used: bool, what: str) -> None:
            if getattr(v, option) is not None and not used:
                raise ValueError(f"{name(option)} is set but the strategy {v.strategy!r} has no {what}")

        belongs("clip_norm", strategy.uses("clip"), "clip")
        belongs("clip_value", strategy.uses("clip"), "clip")
        belongs("tbptt_window", strategy.uses("tbptt"), "tbptt")
        belongs("tbptt_update", strategy.uses("tbptt"), "tbptt")
        belongs("init_scheme", strategy.uses("orthogonal_init") or strategy.parametrization is not None,
                "orthogonal_init, expm or cayley")
        belongs("orth_lr", strategy.parametrization is not None or strategy.projection is not None,
                "expm, cayley or projection")
        belongs("rebase_every", strategy.parametrization is not None, "expm or cayley")
        belongs("activation", not strategy.uses("lstm"), "tanh RNN (lstm has its own gates)")
        belongs("lstm_init", strategy.uses("lstm"), "lstm")
        belongs("forget_bias", strategy.uses("lstm") and v.lstm_init != "chrono",
                "lstm with lstm_init 'forget_bias'")
        belongs("proj_every", strategy.projection is not None, "projection")
        if v.clip_norm is not None and v.clip_value is not None:
            raise ValueError(f"give {name('clip_norm')} or {name('clip_value')}, not both")
        defaults: dict[str, Any] = {}
        if strategy.parametrization is not None and v.orth_lr is None:
            defaults["orth_lr"] = v.lr / 10
        elif strategy.projection is not None and v.orth_lr is None:
            defaults["orth_lr"] = v.lr  # W_hh moves as the other weights do unless told otherwise
        if strategy.uses("clip") and v.clip_value is None and v.clip_norm is None:
            defaults["clip_norm"] = 1.0
        if strategy.uses("tbptt"):
            window = max(1, length // 4) if v.tbptt_window is None else v.tbptt_window
            if window > length:
                raise ValueError(f"{name('tbptt_window')} ({window}) is longer than the sequence "
                                 f"({length} steps)")
            defaults.update(tbptt_window=window, tbptt_update=v.tbptt_update or "window")
        if strategy.projection is not None and v.proj_every is None:
            defaults["proj_every"] = 5
        if strategy.uses("orthogonal_init") and v.init_scheme is None:
            defaults["init_scheme"] = "orthogonal"
        if strategy.uses("lstm"):
            lstm_init = v.lstm_init or "forget_bias"
            defaults["lstm_init"] = lstm_init
            if lstm_init == "forget_bias" and v.forget_bias is None:
                defaults["forget_bias"] = 1.0
        elif v.activation is None:
            defaults["activation"] = "tanh"
        v = dataclasses.replace(v, **defaults)

        # 4. the model the strategy needs
        if v.model in ("fused", "loop") and strategy.uses("lstm"):
            raise ValueError(f"{name('model')} {v.model!r} contradicts the lstm strategy; use 'auto'")
        if v.model == "lstm" and not strategy.uses("lstm"):
            raise ValueError(f"use the lstm strategy (not {name('model')} 'lstm') to train an LSTM")
        if v.lag_grads_every and strategy.uses("lstm"):
            raise ValueError(f"{name('lag_grads_every')} needs a tanh RNN; the lstm strategy has no single "
                             "h_t chain")

        # 5. the device: here, able to run the strategy, large enough for the run
        device = resolve_device(v.device)
        check_device_support(strategy, device)
        object.__setattr__(v, "_strategy", strategy)
        v._check_memory()
        object.__setattr__(v, "_device", device)
        return v

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


def _parameters_section() -> str:
    """The docstring's Parameters, written from the fields: name, type, help and default."""
    lines = []
    for f in TrainConfig.options():
        kind = str(f.type).replace(" | None", "")
        default = "" if f.default is None or "default" in f.metadata["help"] else f" (default {f.default!r})"
        lines.append(f"{f.name} : {kind}" + (", optional" if f.default is None else ""))
        lines += textwrap.wrap(f.metadata["help"] + default, 96, initial_indent="    ",
                               subsequent_indent="    ")
    return "\n    ".join(lines)


TrainConfig.__doc__ = TrainConfig.__doc__.replace("{parameters}", _parameters_section())
