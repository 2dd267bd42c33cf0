"""How many numbers a model trains, and the LSTM hidden size that matches a tanh RNN's count.

The literature compares recurrent models at equal hidden size and at equal
parameter count: an LSTM has four gate blocks where a tanh RNN has one, so
at the same :math:`H` it trains about four times the weights, and about half
the hidden size gives it the same number. Re-exported by
:mod:`linalg_rnn.rnn.models`.
"""

from __future__ import annotations

import math

from .._validation import check_choice, check_int

__all__ = ["ACTIVATIONS", "MODEL_KINDS", "equal_parameter_lstm_hidden", "parameter_count"]

MODEL_KINDS = ("fused", "loop", "lstm")
ACTIVATIONS = ("tanh", "modrelu")


def parameter_count(kind: str, input_size: int, hidden_size: int, output_size: int, *,
                    activation: str = "tanh") -> int:
    """The number of trained numbers of :func:`build_model`'s model, :math:`\\sum` ``p.numel()``.

    Parameters
    ----------
    kind : {"fused", "loop", "lstm"}
        The model; a parametrization does not change the count (its
        unconstrained matrix is :math:`H \\times H`, like :math:`W_{hh}`; its
        base is a buffer, not trained).
    input_size, hidden_size, output_size : int
        :math:`n_{\\mathrm{in}}`, :math:`H`, :math:`n_{\\mathrm{out}}`.
    activation : {"tanh", "modrelu"}
        modReLU adds its bias, :math:`H` numbers (tanh RNNs only).

    Returns
    -------
    int
        :math:`g H (n_{\\mathrm{in}} + H + 2) + n_{\\mathrm{out}}(H + 1)`, with
        :math:`g = 4` gates for an LSTM and 1 for a tanh RNN (two biases
        each, as ``nn.RNN`` and ``nn.LSTM`` have), plus :math:`H` for modReLU.

    Examples
    --------
    >>> parameter_count("fused", 2, 64, 1), parameter_count("lstm", 2, 31, 1)
    (4417, 4372)
    """
    check_choice(kind, "model kind", MODEL_KINDS)
    check_choice(activation, "activation", ACTIVATIONS)
    n_in = check_int(input_size, "input_size", minimum=1)
    H = check_int(hidden_size, "hidden_size", minimum=1)
    n_out = check_int(output_size, "output_size", minimum=1)
    gates = 4 if kind == "lstm" else 1
    return gates * H * (n_in + H + 2) + n_out * (H + 1) + (H if activation == "modrelu" else 0)


def equal_parameter_lstm_hidden(hidden_size: int, input_size: int, output_size: int, *,
                                activation: str = "tanh") -> int:
    """The LSTM hidden size whose parameter count is nearest a tanh RNN's at ``hidden_size``.

    Parameters
    ----------
    hidden_size : int
        :math:`H` of the tanh RNN.
    input_size, output_size : int
        The task's :math:`n_{\\mathrm{in}}` and :math:`n_{\\mathrm{out}}`.
    activation : {"tanh", "modrelu"}
        Of the tanh RNN (modReLU adds :math:`H` parameters).

    Returns
    -------
    int
        :math:`H'` minimizing :math:`|P_{\\mathrm{LSTM}}(H') - P_{\\mathrm{RNN}}(H)|`
        (:func:`parameter_count`), the smaller on a tie; at least 1.

    Notes
    -----
    The literature compares recurrent models both at equal hidden size and
    at equal parameter count (an LSTM has four times the weights of a tanh
    RNN of the same :math:`H`, so about half the hidden size matches it).
    :math:`P_{\\mathrm{LSTM}}(H') = 4H'^2 + (4n_{\\mathrm{in}} + 8 + n_{\\mathrm{out}})H' +
    n_{\\mathrm{out}}` is increasing, so the answer is the floor or the ceiling
    of the positive root of :math:`P_{\\mathrm{LSTM}}(H') = P_{\\mathrm{RNN}}(H)`.

    Examples
    --------
    >>> equal_parameter_lstm_hidden(64, 2, 1)  # adding: 4417 parameters against 4372 at H' = 31
    31
    """
    target = parameter_count("fused", input_size, hidden_size, output_size, activation=activation)
    a, b, c = 4, 4 * input_size + 8 + output_size, output_size - target
    root = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)

    def gap(h: int) -> tuple[int, int]:
        return abs(parameter_count("lstm", input_size, h, output_size) - target), h

    return min({max(1, math.floor(root)), max(1, math.ceil(root))}, key=gap)
