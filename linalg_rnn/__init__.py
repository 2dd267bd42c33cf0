"""linalg_rnn: a runnable linear-algebra textbook on why RNNs explode or vanish.

The teaching functions live in one module per concept and are re-exported
here, so ``from linalg_rnn import power_iteration`` works as well as
``from linalg_rnn.eigen import power_iteration``.  ``linalg_rnn.qr`` stays the
module; its dispatcher is ``linalg_rnn.qr.qr``.  The PyTorch trainer is the
subpackage :mod:`linalg_rnn.rnn`, imported on demand so that the numerical
parts load without torch.
"""

from . import dynamics, eigen, orthogonal, qr, stability
from ._validation import ConvergenceWarning
from .dynamics import (
    INIT_SCHEMES,
    JacobianNorms,
    RepeatedProducts,
    bptt_jacobian_norms,
    clip_grad_norm,
    clip_grad_value,
    init_recurrent,
    repeated_products,
)
from .eigen import (
    EigenResult,
    characteristic_polynomial,
    eigenvalues_exact,
    fibonacci,
    inverse_iteration,
    matrix_power_eig,
    power_iteration,
    rayleigh_quotient,
    rayleigh_quotient_iteration,
    spectral_radius,
)
from .orthogonal import (
    cayley,
    expm_skew,
    householder_reflector,
    is_orthogonal,
    nearest_orthogonal,
    orthogonality_error,
    qr_orthogonalize,
    random_orthogonal,
    rotation_matrix,
)
from .qr import (
    GivensRotations,
    HouseholderReflectors,
    apply_q,
    apply_qt,
    blocked_householder_qr,
    classical_gram_schmidt,
    compact_wy,
    givens_qr,
    givens_rotations,
    householder_qr,
    householder_reflectors,
    modified_gram_schmidt,
    reorthogonalized_gram_schmidt,
    sign_normalize,
)
from .stability import StabilityStudy, matrix_with_singular_values, orthogonality_vs_condition

__version__ = "0.1.0"

# Everything public from the numerical modules, except the dispatcher qr.qr:
# at package level ``qr`` is the module.
__all__ = sorted(
    {"ConvergenceWarning", "__version__"}
    | set(dynamics.__all__)
    | set(eigen.__all__)
    | set(orthogonal.__all__)
    | (set(qr.__all__) - {"qr"})
    | set(stability.__all__)
)
