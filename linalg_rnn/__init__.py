"""linalg_rnn: a runnable linear-algebra textbook on why RNNs explode or vanish.

The teaching functions live in one module per concept and are re-exported
here, so ``from linalg_rnn import power_iteration`` works as well as
``from linalg_rnn.eigen import power_iteration``.  ``linalg_rnn.qr`` stays the
module; its dispatcher is ``linalg_rnn.qr.qr``.
"""

from ._validation import ConvergenceWarning

__version__ = "0.1.0"

__all__ = ["ConvergenceWarning", "__version__"]
