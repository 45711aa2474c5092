"""description_length and the Pareto front of (complexity, error)."""

from __future__ import annotations

import math

import pytest
import sympy
from hybrid.symbolic.regression import ParetoFront, ParetoPoint, description_length

x, y, z = sympy.symbols("x y z")


@pytest.mark.parametrize(
    ("simpler", "harder"),
    [
        (x * y, x * y + z),
        (2 * x, sympy.Float(1.2345) * x),
        (x, x**2),
        (x + y, x + y + z),
        (2 * x, 1000 * x),
        (x / 2, 7 * x / 13),
        (sympy.pi * x, sympy.Float(3.14159) * x),
        (sympy.sqrt(x), x ** sympy.Rational(3, 7)),
    ],
)
def test_description_length_orders_simple_before_complex(simpler, harder):
    assert description_length(simpler, n_variables=3) < description_length(harder, n_variables=3)


def test_description_length_convention():
    tok = math.log2(22 + 3)
    assert description_length(x, n_variables=3) == pytest.approx(tok)
    assert description_length(x * y, n_variables=3) == pytest.approx(3 * tok)
    assert description_length(2 * x, n_variables=3) == pytest.approx(2 * tok + math.log2(3))
    assert description_length(sympy.Rational(3, 4) * x, n_variables=3) == pytest.approx(
        2 * tok + math.log2(4) + math.log2(4)
    )
    assert description_length(sympy.Float(1.5) * x, n_variables=3) == pytest.approx(2 * tok + 32)
    # subtraction and division cost what addition and multiplication do
    assert description_length(x - y) == description_length(x + y)
    assert description_length(x / y) == description_length(x * y)
    assert description_length(sympy.Integer(0)) == 0.0
    # deterministic
    e = sympy.sin(x) * sympy.exp(-(y**2)) / sympy.sqrt(2 * sympy.pi)
    assert description_length(e) == description_length(e)
    with pytest.raises(TypeError):
        description_length("x + y")


def test_front_drops_dominated_points_and_sorts_by_complexity():
    front = ParetoFront()
    assert front.add(x * y + z, 0.0, "bruteforce", complexity=20.0)
    assert front.add(x, 0.5, "polyfit", complexity=5.0)
    assert front.add(x * y, 0.1, complexity=10.0)
    assert [p.complexity for p in front.points] == [5.0, 10.0, 20.0]
    assert [p.error for p in front] == [0.5, 0.1, 0.0]
    assert len(front) == 3

    # dominated: more complex and worse than x*y
    assert not front.add(x * y + 1, 0.2, complexity=12.0)
    # dominates x*y (same complexity, lower error) and is kept
    assert front.add(x * z, 0.05, complexity=10.0)
    assert [p.expression for p in front] == [x, x * z, x * y + z]
    # dominates everything
    assert front.add(y, 0.0, complexity=1.0)
    assert [p.expression for p in front] == [y]


def test_ties_and_duplicates():
    front = ParetoFront()
    assert front.add(x, 0.1, complexity=5.0)
    assert not front.add(y, 0.1, complexity=5.0)  # exact tie: first stays
    assert not front.add(x, 0.1, complexity=5.0)  # duplicate
    assert not front.add(x, 0.3, complexity=3.0)  # same expression, worse error
    assert len(front) == 1
    assert front.add(x, 0.05, complexity=5.0)  # same expression re-evaluated better: replaces
    assert len(front) == 1 and front.points[0].error == 0.05
    assert not front.add(z, float("nan"))
    with pytest.raises(ValueError):
        front.add(z, -1.0)


def test_complexity_defaults_to_description_length():
    front = ParetoFront(n_variables=3)
    assert front.add(x * y, 0.2, "polyfit")
    (p,) = front.points
    assert isinstance(p, ParetoPoint)
    assert p.complexity == description_length(x * y, n_variables=3)
    assert p.source == "polyfit"


def test_best_and_merge():
    front = ParetoFront()
    assert front.best() is None
    front.add(x, 0.3, complexity=5.0)
    front.add(x * y, 1e-3, complexity=10.0)
    front.add(x * y + z, 1e-9, complexity=20.0)
    assert front.best().expression == x * y + z
    assert front.best(max_error=1e-2).expression == x * y
    assert front.best(max_error=1.0).expression == x
    assert front.best(max_error=1e-12).expression == x * y + z  # none good enough: lowest error

    other = ParetoFront()
    other.add(y, 0.2, "other", complexity=4.0)  # dominates x
    other.add(z, 0.9, complexity=8.0)  # dominated by y
    assert front.merge(other) == 1
    assert [p.expression for p in front] == [y, x * y, x * y + z]
    assert front.points[0].source == "other"
    with pytest.raises(AttributeError):
        front.points[0].error = 0.0  # frozen
