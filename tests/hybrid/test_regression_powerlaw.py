"""PowerLawRegressor: the scikit-style hybrid regressor on Coulomb's law."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hybrid.symbolic.regression import is_exact_recovery
from hybrid.tasks.feynman import get_equation, sample_equation
from sklearn.exceptions import NotFittedError

from hybrid.evaluate.meter import Meter
from hybrid.regression import PowerLawRegressor

COULOMB = get_equation("I.12.2")


def _coulomb(n=16, seed=0):
    return sample_equation(COULOMB, n, np.random.default_rng(seed))


@pytest.fixture(scope="module")
def fitted():
    s = _coulomb()
    return PowerLawRegressor().fit(s.X, s.y, variable_names=COULOMB.variables)


def test_constructor_stores_hyper_parameters_only():
    reg = PowerLawRegressor(max_denominator=4, significance=2.5)
    assert vars(reg) == {"max_denominator": 4, "significance": 2.5}
    assert PowerLawRegressor.family == "hybrid"


def test_fit_returns_self_and_sets_learned_state():
    s = _coulomb()
    reg = PowerLawRegressor()
    assert reg.fit(s.X, s.y, variable_names=COULOMB.variables) is reg
    assert reg.n_features_in_ == 4
    assert reg.expression_ is reg.fit_.expression


def test_recovers_coulombs_law(fitted):
    assert is_exact_recovery(fitted.sympy(), COULOMB.expression)
    assert fitted.fit_.exponents == (1, 1, -1, -2)
    assert {s.name for s in fitted.sympy().free_symbols} == {"q1", "q2", "epsilon", "r"}


def test_predicts_the_truth_in_and_out_of_range(fitted):
    test = _coulomb(n=200, seed=5)
    np.testing.assert_allclose(fitted.predict(test.X), test.y, rtol=1e-10)
    far = np.random.default_rng(6).uniform(10, 100, (50, 4))
    q1, q2, eps, r = far.T
    np.testing.assert_allclose(fitted.predict(far), q1 * q2 / (4 * np.pi * eps * r**2), rtol=1e-10)


def test_latex_prints_the_formula(fitted):
    latex = fitted.latex()
    assert latex == sympy.latex(fitted.sympy())
    for part in (r"\pi", r"\epsilon", "q_{1}", "q_{2}", "r^{2}"):
        assert part in latex


def test_latex_is_the_exact_textbook_formula(fitted):
    assert fitted.latex() == r"\frac{q_{1} q_{2}}{4 \pi \epsilon r^{2}}"


def test_docstring_example_prints_exactly():
    X = np.random.default_rng(0).uniform(1, 5, (16, 2))
    reg = PowerLawRegressor().fit(X, X[:, 0] ** 2 / X[:, 1], variable_names=["m", "r"])
    assert str(reg.sympy()) == "m**2/r"


def test_fit_and_predict_report_work_to_the_meter():
    s = _coulomb()
    meter = Meter("cpu", count_flops=False, track_energy=False)
    with meter.phase("train") as train:
        reg = PowerLawRegressor().fit(s.X, s.y)
    with meter.phase("inference") as infer:
        reg.predict(s.X[:10])
    assert train.symbolic_ops == {"lstsq_solves": 2, "snap_candidates": reg.fit_.operations["snap_candidates"]}
    assert train.flops_reported == reg.fit_.flops > 0
    assert infer.flops_reported == 3.0 * 10 * 5
    assert infer.symbolic_ops == {}


def test_before_fit_raises_not_fitted_error():
    reg = PowerLawRegressor()
    for call in (lambda: reg.predict(np.ones((2, 4))), reg.sympy, reg.latex):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()


@pytest.mark.parametrize("n", [1, 3, 4])
def test_underdetermined_fit_raises_naming_n_and_d(n):
    # 4 variables and a constant: 5 unknowns; n <= d used to give a confident exact-looking formula
    s = _coulomb()
    with pytest.raises(ValueError, match=f"n_samples={n} for n_features=4.*underdetermined"):
        PowerLawRegressor().fit(s.X[:n], s.y[:n])


@pytest.mark.parametrize(("params", "error", "match"), [
    ({"max_denominator": "6"}, TypeError, "max_denominator must be an int"),
    ({"max_denominator": 0}, ValueError, "max_denominator must be >= 1"),
    ({"significance": None}, TypeError, "significance must be a number"),
    ({"significance": -1.0}, ValueError, "significance must be a finite number > 0"),
])
def test_bad_params_raise_naming_the_parameter(params, error, match):
    s = _coulomb()
    with pytest.raises(error, match=match):
        PowerLawRegressor(**params).fit(s.X, s.y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_fit_rejects_non_finite(bad):
    s = _coulomb()
    X, y = s.X.copy(), s.y.copy()
    y[0] = bad
    with pytest.raises(ValueError, match="NaN|inf"):
        PowerLawRegressor().fit(X, y)
    X[1, 2] = bad
    with pytest.raises(ValueError, match="NaN|inf"):
        PowerLawRegressor().fit(X, s.y)


def test_fit_rejects_mismatched_shapes():
    s = _coulomb()
    with pytest.raises(ValueError, match="y must be"):
        PowerLawRegressor().fit(s.X, s.y[:-1])
    with pytest.raises(ValueError, match="2D"):
        PowerLawRegressor().fit(s.X[:, 0], s.y)


def test_fit_rejects_non_positive_x_and_mixed_sign_y():
    s = _coulomb()
    with pytest.raises(ValueError, match="> 0"):
        PowerLawRegressor().fit(-s.X, s.y)
    y = s.y.copy()
    y[::2] *= -1
    with pytest.raises(ValueError, match="sign"):
        PowerLawRegressor().fit(s.X, y)


def test_predict_rejects_bad_input(fitted):
    with pytest.raises(ValueError, match="3 features.*expecting 4"):
        fitted.predict(np.ones((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(np.array([[1.0, 2.0, np.nan, 1.0]]))
    with pytest.raises(ValueError, match="2D"):
        fitted.predict(np.ones(4))
