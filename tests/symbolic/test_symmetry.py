"""Symmetry, separability and output-transform tests against exact and noisy oracles."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression.symmetry import (
    CountingOracle,
    Separation,
    Symmetry,
    analyse_symmetries,
    find_equal_variables,
    find_scaling_symmetry,
    find_separability,
    find_translational_symmetry,
)
from hybrid.symbolic.regression.transforms import OUTPUT_TRANSFORMS, output_transforms


def _uniform(lo: float, hi: float, d: int, n: int = 400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, size=(n, d))


def f_translational(X):
    return np.exp(-((X[:, 0] - X[:, 1]) ** 2)) + X[:, 2]


def f_product(X):
    return np.sin(X[:, 0] * X[:, 1]) + X[:, 2]


def f_ratio(X):
    return np.log(X[:, 0] / X[:, 1])


def f_additive(X):
    return X[:, 0] ** 2 + np.sin(X[:, 1] * X[:, 2])


def f_multiplicative(X):
    return X[:, 0] * np.exp(X[:, 1])


def f_not_separable(X):
    return np.sin(X[:, 0] * X[:, 1]) + X[:, 0]


def noisy(f, seed: int = 1, level: float = 1e-3):
    """The exact function times ``1 + level * N(0, 1)``, fresh noise on every call."""
    rng = np.random.default_rng(seed)

    def oracle(X):
        y = f(X)
        return y * (1.0 + level * rng.standard_normal(y.shape))

    return oracle


EXACT = [(lambda f: f, 1e-3), (noisy, 1e-2)]
IDS = ["exact", "noisy"]
# (wrap, tolerance, slack): slack bounds absolute deviations of split data from the exact parts
SPLIT_CASES = [(lambda f: f, 1e-3, 1e-9), (noisy, 1e-2, 3e-2)]


def _keys(found):
    return [(s.i, s.j, s.kind) for s in found]


# --- pair symmetries ---------------------------------------------------------------------


@pytest.mark.parametrize(("wrap", "tol"), EXACT, ids=IDS)
def test_translational_minus_found_for_0_1_not_0_2(wrap, tol):
    X = _uniform(-2, 2, 3)
    found = find_translational_symmetry(wrap(f_translational), X, tolerance=tol)
    assert _keys(found)[0] == (0, 1, "minus")
    assert all((s.i, s.j) != (0, 2) for s in found)
    assert all(s.error <= tol for s in found)
    assert [s.error for s in found] == sorted(s.error for s in found)


def test_translational_keep_all_reports_large_error_for_wrong_pair():
    X = _uniform(-2, 2, 3)
    everything = find_translational_symmetry(f_translational, X, tolerance=1e-3, keep_all=True)
    errors = {(s.i, s.j, s.kind): s.error for s in everything}
    assert len(errors) == 6  # 3 pairs x 2 kinds
    assert errors[(0, 1, "minus")] < 1e-12
    assert errors[(0, 2, "minus")] > 0.05
    assert errors[(0, 2, "plus")] > 0.05


@pytest.mark.parametrize(("wrap", "tol"), EXACT, ids=IDS)
def test_scaling_times_found_for_sin_of_product(wrap, tol):
    X = _uniform(1, 3, 3)
    found = find_scaling_symmetry(wrap(f_product), X, tolerance=tol)
    assert _keys(found) == [(0, 1, "times")]


@pytest.mark.parametrize(("wrap", "tol"), EXACT, ids=IDS)
def test_scaling_divide_found_for_log_ratio(wrap, tol):
    X = _uniform(1, 5, 2)
    found = find_scaling_symmetry(wrap(f_ratio), X, tolerance=tol)
    assert _keys(found) == [(0, 1, "divide")]


def test_scaling_works_on_columns_spanning_zero():
    X = _uniform(-2, 2, 3)
    found = find_scaling_symmetry(f_product, X, tolerance=1e-3)
    assert _keys(found) == [(0, 1, "times")]


@pytest.mark.parametrize(("wrap", "tol"), EXACT, ids=IDS)
def test_equal_variables(wrap, tol):
    X = _uniform(1, 3, 3)
    found = find_equal_variables(wrap(lambda X: X[:, 0] * X[:, 1] + np.cos(X[:, 2])), X, tolerance=tol)
    assert [(s.i, s.j) for s in found] == [(0, 1)]


LIFT_CASES = [
    ("minus", f_translational),
    ("plus", lambda X: np.cos(X[:, 0] + X[:, 1]) * X[:, 2]),
    ("times", f_product),
    ("divide", lambda X: np.log(X[:, 0] / X[:, 1]) + X[:, 2]),
]


@pytest.mark.parametrize(("kind", "f"), LIFT_CASES, ids=[k for k, _ in LIFT_CASES])
def test_apply_and_lift_are_consistent(kind, f):
    X = _uniform(1, 3, 3)
    finder = find_translational_symmetry if kind in ("minus", "plus") else find_scaling_symmetry
    found = [s for s in finder(f, X, tolerance=1e-3) if (s.i, s.j, s.kind) == (0, 1, kind)]
    assert found, f"{kind} symmetry not found"
    sym = found[0]
    Z = sym.apply(X)
    assert Z.shape == (X.shape[0], 2)
    np.testing.assert_allclose(Z[:, sym.new_index], sym.combined_values(X))
    np.testing.assert_array_equal(Z[:, 1], X[:, 2])
    np.testing.assert_allclose(sym.lift(f)(Z), f(X), rtol=1e-10, atol=1e-12)
    # without ranges the lift uses the fixed reference; still exact for an exact symmetry
    bare = Symmetry(kind=kind, i=0, j=1, error=0.0, reference=2.0)
    np.testing.assert_allclose(bare.lift(f)(Z), f(X), rtol=1e-10, atol=1e-12)


def test_lift_stays_in_box_when_it_can():
    X = _uniform(1, 3, 3)
    sym = find_translational_symmetry(f_translational, X, tolerance=1e-3)[0]
    seen = []

    def recording(P):
        seen.append(P.copy())
        return f_translational(P)

    sym.lift(recording)(sym.apply(X))
    P = seen[0]
    assert np.all(P >= X.min(axis=0) - 1e-12) and np.all(P <= X.max(axis=0) + 1e-12)


def test_apply_with_j_before_i_and_combine():
    X = _uniform(1, 3, 4)
    sym = Symmetry(kind="divide", i=2, j=0, error=0.0)
    Z = sym.apply(X)
    assert sym.new_index == 1
    np.testing.assert_allclose(Z, np.column_stack([X[:, 1], X[:, 2] / X[:, 0], X[:, 3]]))
    a, b = sympy.symbols("a b")
    assert sym.combine(a, b) == a / b
    assert Symmetry(kind="minus", i=0, j=1, error=0.0).combine(a, b) == a - b
    assert Symmetry(kind="plus", i=0, j=1, error=0.0).combine(a, b) == a + b
    assert Symmetry(kind="times", i=0, j=1, error=0.0).combine(a, b) == a * b


def test_bad_arguments_raise():
    X = _uniform(1, 3, 2)
    with pytest.raises(ValueError, match="valid kinds: minus, plus"):
        find_translational_symmetry(f_ratio, X, tolerance=1e-3, kinds=("times",))
    with pytest.raises(ValueError, match="valid kinds"):
        Symmetry(kind="modulo", i=0, j=1, error=0.0)
    with pytest.raises(ValueError, match="distinct"):
        Symmetry(kind="minus", i=1, j=1, error=0.0)
    with pytest.raises(ValueError, match="oracle returned"):
        find_scaling_symmetry(lambda Z: np.zeros(3), X, tolerance=1e-3)
    with pytest.raises(ValueError, match="partition"):
        Separation(kind="add", left=(0,), right=(2,), error=0.0)


# --- separability ------------------------------------------------------------------------


@pytest.mark.parametrize(("wrap", "tol", "slack"), SPLIT_CASES, ids=IDS)
def test_additive_separability_and_split(wrap, tol, slack):
    X = _uniform(-2, 2, 3)
    oracle = wrap(f_additive)
    found = find_separability(oracle, X, tolerance=tol, rng=np.random.default_rng(3))
    assert [(s.kind, s.left, s.right) for s in found] == [("add", (0,), (1, 2))]
    sep = found[0]
    (XL, yL), (XR, yR) = sep.split(oracle, X)
    np.testing.assert_array_equal(XL, X[:, [0]])
    np.testing.assert_array_equal(XR, X[:, [1, 2]])
    close = {"rtol": 0, "atol": slack}
    # g = x0**2 + const, h = sin(x1*x2) + const
    g_shift = yL - X[:, 0] ** 2
    h_shift = yR - np.sin(X[:, 1] * X[:, 2])
    np.testing.assert_allclose(g_shift, np.median(g_shift), **close)
    np.testing.assert_allclose(h_shift, np.median(h_shift), **close)
    np.testing.assert_allclose(yL + yR, f_additive(X), **close)
    g_oracle, h_oracle = sep.sub_oracles(oracle)
    np.testing.assert_allclose(g_oracle(XL), yL, **close)
    np.testing.assert_allclose(h_oracle(XR), yR, **close)
    g, h = sympy.symbols("g h")
    assert sep.combine(g, h) == g + h


@pytest.mark.parametrize(("wrap", "tol", "slack"), SPLIT_CASES, ids=IDS)
def test_multiplicative_separability_and_split(wrap, tol, slack):
    X = _uniform(-2, 2, 2)
    oracle = wrap(f_multiplicative)
    found = find_separability(oracle, X, tolerance=tol, rng=np.random.default_rng(4))
    assert [(s.kind, s.left, s.right) for s in found] == [("mul", (0,), (1,))]
    sep = found[0]
    (_, yL), (_, yR) = sep.split(oracle, X)
    np.testing.assert_allclose(yL * yR, f_multiplicative(X), rtol=slack, atol=slack)
    ratio = yR / np.exp(X[:, 1])  # h = exp(x1) / exp(b0)
    np.testing.assert_allclose(ratio, np.median(ratio), rtol=slack)
    g_shift = yL / X[:, 0]  # g = x0 * exp(b0)
    np.testing.assert_allclose(g_shift, np.median(g_shift), rtol=slack)
    g, h = sympy.symbols("g h")
    assert sep.combine(g, h) == g * h


@pytest.mark.parametrize(("wrap", "tol"), EXACT, ids=IDS)
def test_non_separable_gives_none(wrap, tol):
    X = _uniform(-2, 2, 2)
    assert find_separability(wrap(f_not_separable), X, tolerance=tol, rng=np.random.default_rng(5)) == []


def test_bipartitions_all_for_small_d_and_limited_for_large_d():
    rng = np.random.default_rng(6)
    X6 = _uniform(1, 2, 6, n=50)
    every = find_separability(lambda X: X.sum(axis=1), X6, tolerance=1e-9, rng=rng, kinds=("add",))
    assert len(every) == 2**5 - 1  # each bipartition once; a sum separates every way
    X8 = _uniform(1, 2, 8, n=50)
    limited = find_separability(lambda X: X.sum(axis=1), X8, tolerance=1e-9, rng=rng, kinds=("add",))
    assert len(limited) == 8 + 28
    assert max(len(s.left) for s in limited) == 2


# --- cost accounting ---------------------------------------------------------------------


def test_each_test_makes_one_oracle_call_and_report_counts():
    X = _uniform(-2, 2, 3)
    counter = CountingOracle(f_translational)
    find_translational_symmetry(counter, X, tolerance=1e-3, n_points=100)
    assert counter.calls == 1
    assert counter.rows == 3 * 2 * 2 * 100  # pairs x kinds x (base, moved) x points
    report = analyse_symmetries(f_additive, X, tolerance=1e-3, rng=np.random.default_rng(7), n_points=100)
    assert report.oracle_calls == 4
    assert report.oracle_rows > 0
    assert [(s.kind, s.left) for s in report.separations] == [("add", (0,))]
    assert report.translational == ()
    assert [(s.i, s.j, s.kind) for s in report.scaling] == [(1, 2, "times")]  # sin(x1*x2)
    assert report.symmetries == report.scaling


# --- output transforms -------------------------------------------------------------------

DOMAIN_SAMPLES = {
    "sqrt": np.array([0.0, 0.3, 2.0, 7.5]),
    "square": np.array([0.1, 1.0, 3.0]),
    "log": np.array([0.2, 1.0, 5.0]),
    "exp": np.array([-3.0, 0.0, 2.5]),
    "inverse": np.array([-2.0, 0.5, 4.0]),
    "sin": np.array([-1.5, 0.0, 1.2]),
    "cos": np.array([0.1, 1.5, 3.0]),
    "tan": np.array([-1.4, 0.2, 1.3]),
    "arcsin": np.array([-0.9, 0.0, 1.0]),
    "arccos": np.array([-1.0, 0.1, 0.9]),
    "arctan": np.array([-20.0, 0.3, 7.0]),
    "inverse_square": np.array([0.2, 1.0, 3.0]),
    "inverse_sqrt": np.array([0.2, 1.0, 3.0]),
}


def test_every_transform_has_a_round_trip_sample():
    assert set(DOMAIN_SAMPLES) == set(OUTPUT_TRANSFORMS)


@pytest.mark.parametrize("name", sorted(DOMAIN_SAMPLES))
def test_output_transform_round_trip(name):
    t = OUTPUT_TRANSFORMS[name]
    y = DOMAIN_SAMPLES[name]
    assert t.applies(y)
    g_values = t.forward(y)
    G = sympy.Symbol("G")
    expr = t.inverse(G)
    restored = [float(expr.xreplace({G: sympy.Float(v, 30)}).evalf(30)) for v in g_values]
    np.testing.assert_allclose(restored, y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(t.inverse_values(g_values), y, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "y"),
    [
        ("sqrt", [-1.0, 2.0]),
        ("log", [0.0, 1.0]),
        ("inverse", [0.0, 1.0]),
        ("arcsin", [1.5]),
        ("arccos", [-1.01]),
        ("sin", [2.0]),
        ("cos", [-0.1]),
        ("tan", [np.pi / 2]),
        ("exp", [1000.0]),
        ("square", [-1.0, 1.0]),
        ("inverse_square", [0.0]),
        ("inverse_sqrt", [0.0]),
    ],
)
def test_output_transform_domain(name, y):
    assert not OUTPUT_TRANSFORMS[name].applies(np.array(y))


def test_even_transforms_record_the_sign():
    y = np.array([-3.0, -0.5, -1.0])
    square = OUTPUT_TRANSFORMS["square"]
    assert not square.applies(y)
    neg = square.oriented(y)
    assert neg.sign == -1 and neg.applies(y)
    G = sympy.Symbol("G", positive=True)
    assert neg.inverse(G) == -sympy.sqrt(G)
    np.testing.assert_allclose(neg.inverse_values(neg.forward(y)), y)
    assert square.oriented(-y) is square
    inv_sq = OUTPUT_TRANSFORMS["inverse_square"].oriented(y)
    np.testing.assert_allclose(inv_sq.inverse_values(inv_sq.forward(y)), y)
    with pytest.raises(ValueError, match="not even"):
        OUTPUT_TRANSFORMS["log"].__class__(**{**OUTPUT_TRANSFORMS["log"].__dict__, "sign": -1})


def test_output_transforms_selection():
    assert [t.name for t in output_transforms()] == list(OUTPUT_TRANSFORMS)
    assert [t.name for t in output_transforms(["log", "sqrt", "log"])] == ["log", "sqrt"]
    assert [t.name for t in output_transforms("square")] == ["square"]
    with pytest.raises(ValueError, match=r"unknown output transform.*'cube'.*valid names: .*sqrt.*inverse_sqrt"):
        output_transforms(["sqrt", "cube"])
    with pytest.raises(TypeError):
        OUTPUT_TRANSFORMS["sqrt"].inverse("G")
