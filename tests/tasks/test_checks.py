"""The shared argument checks: bools are not numbers, numpy scalars are, huge ints do not overflow."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hybrid.tasks._checks import check_int, check_positive, check_real, finite_float, is_int, is_real


@pytest.mark.parametrize("value", [0, -3, 10**400, np.int64(5), np.uint8(1)])
def test_is_int_accepts_python_and_numpy_ints(value):
    assert is_int(value)


@pytest.mark.parametrize("value", [True, np.bool_(True), 1.0, "1", None, np.float64(2.0)])
def test_is_int_refuses_bools_floats_and_strings(value):
    assert not is_int(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (0.5, 0.5), (np.float32(0.25), 0.25), (np.int16(-2), -2.0), (10**300, 1e300)],
)
def test_finite_float_converts_finite_reals(value, expected):
    assert finite_float(value) == expected
    assert is_real(value)


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 10**400, -(10**400), True, "1", None, 1j])
def test_finite_float_gives_none_for_non_finite_or_non_real(value):
    assert finite_float(value) is None
    assert not is_real(value)


def test_check_int_messages_name_the_argument_and_bounds():
    assert check_int("n", np.int64(3), 1) == 3 and type(check_int("n", np.int64(3), 1)) is int
    with pytest.raises(ValueError, match=r"^n must be an int >= 1, got 0$"):
        check_int("n", 0, 1)
    with pytest.raises(ValueError, match=r"^depth must be an int in \[0, 6\], got 7$"):
        check_int("depth", 7, 0, 6)
    with pytest.raises(ValueError, match=r"^k must be an int <= 2, got True$"):
        check_int("k", True, high=2)
    with pytest.raises(ValueError, match=r"^k must be an int, got 1.5$"):
        check_int("k", 1.5)


def test_check_real_refuses_non_finite_and_out_of_range():
    assert check_real("p", 1, 0.0, 1.0) == 1.0
    for bad in (math.inf, math.nan, 1.5, True, 10**400):
        with pytest.raises(ValueError, match=r"^p must be a number in \[0.0, 1.0\]"):
            check_real("p", bad, 0.0, 1.0)


def test_check_positive():
    assert check_positive("steps", 0, allow_zero=True) == 0
    assert check_positive("lr", 0.1, integer=False) == 0.1
    with pytest.raises(ValueError, match=r"^lr must be a number > 0, got 0$"):
        check_positive("lr", 0, integer=False)
    with pytest.raises(ValueError, match=r"^batch_size must be an int > 0, got 2.0$"):
        check_positive("batch_size", 2.0)
    with pytest.raises(ValueError, match=r"^lr must be a number > 0, got inf$"):
        check_positive("lr", math.inf, integer=False)
