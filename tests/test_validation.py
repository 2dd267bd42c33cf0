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


# --------------------------------------------------------------------- issue 10: the edges of the contract


def test_a_torch_tensor_that_requires_grad_is_read_as_its_values():
    torch = pytest.importorskip("torch")
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    np.testing.assert_array_equal(v.as_matrix(t), [[1.0, 2.0], [3.0, 4.0]])
    assert v.as_matrix(t.to(torch.float32)).dtype == np.float64
    assert v.as_matrix(t.to(torch.bfloat16)).dtype == np.float64  # no NumPy twin: widened first
    assert v.as_matrix(torch.tensor([[1, 2]])).dtype == np.float64
    assert v.check_real(torch.tensor(2.5, requires_grad=True), "shift") == 2.5
    assert v.check_int(torch.tensor(3), "k") == 3
    assert t.grad is None and t.requires_grad  # nothing done to the caller's tensor


def test_a_complex_torch_tensor_is_refused_like_a_complex_array():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="W is complex"):
        v.as_matrix(torch.tensor([[1 + 1j, 0], [0, 1]]), "W")


@pytest.mark.parametrize("entry", [np.complex128(2j), np.complex128(2 + 0j), 1j, complex(1, 0)])
def test_an_object_array_holding_a_complex_is_refused_naming_the_argument(entry):
    A = np.array([[1, entry], [0, 1]], dtype=object)
    with pytest.raises(TypeError, match="W_hh is complex"):
        v.as_matrix(A, "W_hh")


@pytest.mark.parametrize("entry", [10**400, -(10**400), Fraction(10**400, 3)])
def test_a_number_beyond_float64_is_a_one_line_value_error_naming_the_argument(entry):
    with pytest.raises(ValueError, match="W holds .* beyond float64") as info:
        v.as_matrix([[1, entry], [0, 1]], "W")
    assert "\n" not in str(info.value) and len(str(info.value)) < 150


def test_a_float128_beyond_float64_is_named_and_nan_is_still_nan():
    if np.finfo(np.longdouble).max <= np.finfo(np.float64).max:
        pytest.skip("longdouble is float64 on this platform")
    with pytest.raises(ValueError, match="beyond float64"):
        v.as_matrix(np.array([[np.longdouble(10) ** 400]]), "A")
    with pytest.raises(ValueError, match="NaN or inf"):
        v.as_matrix(np.array([[np.longdouble("nan")]]), "A")


@pytest.mark.parametrize(
    "bad, exc, words",
    [
        (10**400, ValueError, "beyond float64"),
        (float("nan"), ValueError, "finite"),
        (float("-inf"), ValueError, "finite"),
        (True, TypeError, "real number"),
        ("1", TypeError, "real number"),
        (1j, TypeError, "real number"),
        (np.array([1.0, 2.0]), TypeError, "real number"),
    ],
)
def test_check_real_refuses_what_is_not_a_finite_real_in_one_line(bad, exc, words):
    with pytest.raises(exc, match=f"shift .*{words}|shift must be a {words}|{words}") as info:
        v.check_real(bad, "shift")
    assert str(info.value).startswith("shift") and "\n" not in str(info.value)


def test_check_real_honours_the_minimum_strict_or_not():
    assert v.check_real(0, "tol", minimum=0) == 0.0
    with pytest.raises(ValueError, match="gain must be a finite number > 0"):
        v.check_real(0, "gain", minimum=0, strict=True)
    with pytest.raises(ValueError, match="tol must be a finite number >= 0, got nan"):
        v.check_real(float("nan"), "tol", minimum=0)


def test_check_int_maximum_and_a_huge_integer_stay_one_short_line():
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 10\], got an integer of 401 digits"):
        v.check_int(10**400, "k", maximum=10)


def test_check_seed_gives_a_generator_and_refuses_non_seeds():
    rng = np.random.default_rng(5)
    assert v.check_seed(rng) is rng  # used as is: its state advances for the caller
    assert isinstance(v.check_seed(None), np.random.Generator)
    np.testing.assert_array_equal(v.check_seed(7).random(3), np.random.default_rng(7).random(3))
    assert isinstance(v.check_seed(2**64), np.random.Generator)  # any size of integer seeds
    for bad in (1.5, "0", True, [1]):
        with pytest.raises(TypeError, match="seed must be an integer >= 0, a numpy.random.Generator or None"):
            v.check_seed(bad)
    with pytest.raises(ValueError, match="init_seed must be an integer >= 0, got -3"):
        v.check_seed(-3, "init_seed")


def test_check_memory_refuses_more_than_the_machine_has_naming_the_argument():
    v.check_memory(1024, "steps", 10, "the norms")  # a kilobyte is fine anywhere
    with pytest.raises(ValueError, match=r"steps=4611686018427387904 needs about .* choose a smaller steps"):
        v.check_memory(2.0**80, "steps", 2**62, "the norms")


def test_check_rnn_fills_the_defaults_so_the_body_needs_no_branches():
    args = v.check_rnn(np.eye(3), np.ones((4, 3)), None, W_xh=None, b=None, steps=None, keep_jacobians=True)
    np.testing.assert_array_equal(args.W_xh, np.eye(3))  # inputs added to a_t as they are
    np.testing.assert_array_equal(args.b, np.zeros(3))
    np.testing.assert_array_equal(args.h0, np.zeros(3))
    none = v.check_rnn(np.eye(2), None, [1, 2], W_xh=None, b=[0, 1], steps=5, keep_jacobians=False)
    assert none.X.shape == (5, 0) and (none.X @ none.W_xh.T).shape == (5, 2)


def test_check_rnn_refuses_steps_beyond_memory_naming_steps():
    with pytest.raises(ValueError, match="steps=.*choose a smaller steps"):
        v.check_rnn(np.eye(2), None, None, W_xh=None, b=None, steps=2**62, keep_jacobians=False)


def test_as_exact_square_matrix_keeps_integers_exact_and_reads_tensors():
    torch = pytest.importorskip("torch")
    M = v.as_exact_square_matrix([[10**400, Fraction(1, 3)], [0, 1]])
    assert M[0, 0] == 10**400 and M[0, 1] == Fraction(1, 3)
    assert v.as_exact_square_matrix(torch.ones(2, 2, requires_grad=True)).shape == (2, 2)
    with pytest.raises(TypeError, match="complex"):
        v.as_exact_square_matrix([[1, np.complex128(1j)], [0, 1]])


def test_a_list_of_tensors_is_read_row_by_row():
    torch = pytest.importorskip("torch")
    rows = [torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 4.0])]
    np.testing.assert_array_equal(v.as_matrix(rows), [[1.0, 2.0], [3.0, 4.0]])

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
