"""The shared input contract (DESIGN.md): clear errors at the door, copies, float64."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from linalg_rnn import _validation as v


@pytest.mark.parametrize(
    "bad, exc, words",
    [
        ("abc", TypeError, "string"),
        ([["a", "b"], ["c", "d"]], TypeError, "real numbers"),
        ([[1, 2], [3]], TypeError, "real numbers"),
        ([[1 + 2j, 0], [0, 1]], TypeError, "complex"),
        ([[np.nan, 0], [0, 1]], ValueError, "NaN or inf"),
        ([[np.inf, 0], [0, 1]], ValueError, "NaN or inf"),
        (np.zeros((0, 3)), ValueError, "empty"),
        ([1, 2, 3], ValueError, "2-D"),
        (np.ones((2, 2, 2)), ValueError, "2-D"),
        ([[None, 1], [2, 3]], TypeError, "not numbers"),
    ],
)
def test_as_matrix_rejects_bad_input_naming_the_argument(bad, exc, words):
    with pytest.raises(exc, match=words) as info:
        v.as_matrix(bad, "W_hh")
    assert "W_hh" in str(info.value)


def test_as_square_matrix_rejects_a_rectangle():
    with pytest.raises(ValueError, match=r"square.*\(2, 3\)"):
        v.as_square_matrix(np.ones((2, 3)))


def test_integers_booleans_and_fractions_are_promoted_to_float64():
    for value in ([[1, 2], [3, 4]], [[True, False], [False, True]], [[Fraction(1, 2), 1], [0, 1]]):
        out = v.as_matrix(value)
        assert out.dtype == np.float64
    assert v.as_matrix([[Fraction(1, 2)]])[0, 0] == 0.5


def test_the_result_is_a_copy_so_the_input_is_never_modified():
    A = np.arange(4.0).reshape(2, 2)
    out = v.as_matrix(A)
    out[0, 0] = 99.0
    assert A[0, 0] == 0.0


def test_as_vector_checks_length_against_the_matrix():
    assert v.as_vector([1, 2], size=2).shape == (2,)
    with pytest.raises(ValueError, match="length 3"):
        v.as_vector([1, 2], size=3)
    with pytest.raises(ValueError, match="1-D"):
        v.as_vector([[1, 2]])


@pytest.mark.parametrize(
    "bad, exc", [(-1, ValueError), (2.5, TypeError), (True, TypeError), ("3", TypeError)]
)
def test_check_int_rejects_negative_non_integer_and_bool(bad, exc):
    with pytest.raises(exc, match="k"):
        v.check_int(bad, "k")


def test_check_int_accepts_numpy_integers_and_honours_the_minimum():
    assert v.check_int(np.int64(5), "k") == 5
    with pytest.raises(ValueError, match=">= 1"):
        v.check_int(0, "block_size", minimum=1)


@pytest.mark.parametrize(
    "bad, exc",
    [(-1e-3, ValueError), (np.nan, ValueError), (np.inf, ValueError), ("1", TypeError)],
)
def test_check_tol_rejects_negative_and_non_finite(bad, exc):
    with pytest.raises(exc, match="tol"):
        v.check_tol(bad)


def test_check_positive_float_rejects_zero():
    with pytest.raises(ValueError, match="max_norm"):
        v.check_positive_float(0.0, "max_norm")
    assert v.check_positive_float(3, "max_norm") == 3.0


def test_check_choice_lists_the_allowed_values():
    with pytest.raises(ValueError, match="'reduced', 'complete'"):
        v.check_choice("economic", "mode", ["reduced", "complete"])
    with pytest.raises(ValueError):
        v.check_choice(None, "mode", ["reduced"])


def test_convergence_warning_is_a_runtime_warning_exported_by_the_package():
    import linalg_rnn

    assert issubclass(linalg_rnn.ConvergenceWarning, RuntimeWarning)


@pytest.mark.parametrize("bad", ["yes", "no", 1, 0, None, 1.0])
def test_check_bool_refuses_everything_but_a_bool(bad):
    with pytest.raises(TypeError, match="figures must be true or false"):
        v.check_bool(bad, "figures")


def test_check_bool_accepts_python_and_numpy_bools():
    assert v.check_bool(np.bool_(True), "permute") is True
    assert v.check_bool(False, "permute") is False


def test_check_int_honours_an_inclusive_maximum():
    assert v.check_int(2**63 - 1, "seed", maximum=2**63 - 1) == 2**63 - 1
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 9223372036854775807\]"):
        v.check_int(2**63, "seed", maximum=2**63 - 1)
    with pytest.raises(ValueError, match=r"in \[0, "):
        v.check_int(-1, "seed", maximum=10)


def test_check_path_takes_strings_and_path_objects_and_refuses_the_rest(tmp_path):
    assert v.check_path(tmp_path, "data_dir") == str(tmp_path)
    assert v.check_path("mnist", "data_dir") == "mnist"
    for bad in (5, None, ["a"], b"bytes"):
        with pytest.raises(TypeError, match="data_dir must be a path"):
            v.check_path(bad, "data_dir")
    with pytest.raises(ValueError, match="data_dir is an empty path"):
        v.check_path("", "data_dir")


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf, -np.inf, 10**400])
def test_check_positive_float_says_greater_than_zero_for_every_bad_value(bad):
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        v.check_positive_float(bad, "lr")
