"""The power-law task, the per-problem adapter and the registered regression methods."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
from hybrid.tasks.feynman import RegressionProblem
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from hybrid.evaluate.protocols import Method, Task
from hybrid.evaluate.registry import get_method, get_task, methods_for
from hybrid.regression import REPRESENTATIVE, PerProblemRegressor, PowerLawRegressor, PowerLawTask, r2_score

TINY_MLP = {"widths": [8], "learning_rates": [0.01], "max_epochs": 30, "patience": 10}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def task():
    return get_task("powerlaw").factory()


@pytest.fixture(scope="module")
def test_set(task):
    return task.test_set(seed=0)


def _method(name, task, **overrides):
    entry = get_method(name, task.name)
    return entry.factory(task, seed=0, device="cpu", **{**entry.defaults, **overrides})


# ---------------------------------------------------------------- registry


def test_registered_task_and_methods():
    entry = get_task("powerlaw")
    task = entry.factory()
    assert isinstance(task, PowerLawTask) and isinstance(task, Task)
    assert task.name == "powerlaw"
    assert [eq.id for eq in task.equations] == list(REPRESENTATIVE)
    assert {"powerlaw-lstsq", "mlp"} <= set(methods_for("powerlaw"))
    assert get_method("powerlaw-lstsq").family == "hybrid"
    assert get_method("mlp").family == "deep"
    all_task = get_task("powerlaw-all").factory()
    assert all_task.name == "powerlaw-all" and len(all_task.equations) == 38


# ---------------------------------------------------------------- end to end


def test_powerlaw_lstsq_solves_the_task(task, test_set):
    method = _method("powerlaw-lstsq", task)
    assert isinstance(method, PerProblemRegressor) and isinstance(method, Method)
    assert method.family == "hybrid"
    train = task.train_set(8, seed=0)
    assert method.fit(train) is method
    assert method.errors_ == {}
    assert set(method.models_) == set(REPRESENTATIVE)
    assert all(isinstance(m, PowerLawRegressor) for m in method.models_.values())
    scores = task.score(method, test_set)
    assert scores["r2_test"] > 0.999
    assert scores["r2_extrap"] > 0.999
    assert set(scores["details"]) == set(REPRESENTATIVE)
    audit = task.audit(method, test_set)
    assert audit["exact"] == 1.0
    assert all(d["exact"] for d in audit["details"].values())


def test_tiny_mlp_scores_but_has_no_formula(task, test_set):
    method = _method("mlp", task, **TINY_MLP)
    assert method.family == "deep"
    method.fit(task.train_set(8, seed=0))
    assert all(list(m.widths) == [8] and m.max_epochs == 30 for m in method.models_.values())
    scores = task.score(method, test_set)
    assert math.isfinite(scores["r2_test"]) and math.isfinite(scores["r2_extrap"])
    assert scores["r2_test"] < 0.999  # 8 points, 30 epochs: no match for the formula
    audit = task.audit(method, test_set)
    assert math.isnan(audit["exact"])
    assert method.formula("I.12.2") is None


def test_audit_counts_a_wrong_formula(task, test_set):
    class Stub:
        """Predicts the truth but returns a wrong formula for one equation."""

        def predict(self, problem_id, X):
            return test_set.in_range[problem_id].y

        def formula(self, problem_id):
            eq = next(e for e in task.equations if e.id == problem_id)
            return 2 * eq.expression if problem_id == "I.14.3" else eq.expression

    audit = task.audit(Stub(), test_set)
    assert audit["exact"] == pytest.approx(0.9)
    assert audit["details"]["I.14.3"]["exact"] is False
    assert audit["details"]["I.12.2"]["exact"] is True


def test_audit_without_formula_method_is_nan(task, test_set):
    class NoFormula:
        def predict(self, problem_id, X):
            return np.zeros(len(X))

    assert math.isnan(task.audit(NoFormula(), test_set)["exact"])


# ---------------------------------------------------------------- data


def test_train_set_shapes_and_reproducibility(task):
    a = task.train_set(8, seed=0)
    b = task.train_set(8, seed=0)
    c = task.train_set(8, seed=1)
    assert [p.id for p in a] == list(REPRESENTATIVE)
    for pa, pb, pc, eq in zip(a, b, c, task.equations, strict=True):
        assert isinstance(pa, RegressionProblem)
        assert pa.X.shape == (8, len(eq.variables)) and pa.y.shape == (8,)
        assert pa.variables == eq.variables
        assert np.array_equal(pa.X, pb.X) and np.array_equal(pa.y, pb.y)
        assert not np.array_equal(pa.X, pc.X)


def test_equations_get_different_streams(task):
    a = task.train_set(8, seed=0)
    # I.14.3 and II.34.2 both have three variables in [1, 5]: their points must differ
    by_id = {p.id: p for p in a}
    assert not np.array_equal(by_id["I.14.3"].X, by_id["II.34.2"].X)


def test_train_sets_are_nested_without_noise(task):
    small, large = task.train_set(8, seed=3), task.train_set(32, seed=3)
    for s, big in zip(small, large, strict=True):
        assert np.array_equal(s.X, big.X[:8]) and np.array_equal(s.y, big.y[:8])


def test_train_sets_are_nested_with_noise():
    task = PowerLawTask(["I.12.2"], noise=0.01)
    small, large = task.train_set(8, seed=3)[0], task.train_set(32, seed=3)[0]
    assert np.array_equal(small.X, large.X[:8])
    assert np.array_equal(small.y, large.y[:8])


def test_noise_only_touches_training_outputs():
    clean = PowerLawTask(["I.12.2"], noise=0.0, n_test=50)
    noisy = PowerLawTask(["I.12.2"], noise=0.1, n_test=50)
    a, b = clean.train_set(64, seed=0)[0], noisy.train_set(64, seed=0)[0]
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.y, b.y)
    ta, tb = clean.test_set(0), noisy.test_set(0)
    assert np.array_equal(ta.in_range["I.12.2"].y, tb.in_range["I.12.2"].y)


def test_test_set_in_range_and_outside(task):
    ts = task.test_set(seed=0)
    assert set(ts.in_range) == set(ts.extrapolation) == set(REPRESENTATIVE)
    for eq in task.equations:
        low = np.array([r[0] for r in eq.ranges])
        high = np.array([r[1] for r in eq.ranges])
        inside, outside = ts.in_range[eq.id].X, ts.extrapolation[eq.id].X
        assert inside.shape == outside.shape == (500, len(eq.variables))
        assert np.all((inside >= low) & (inside <= high))
        assert np.all(outside > high)


def test_params_round_trip():
    task = PowerLawTask(["I.12.2", "I.14.3"], noise=0.01, n_test=20, name="mine")
    assert task.params() == {"equations": ["I.12.2", "I.14.3"], "noise": 0.01, "n_test": 20, "name": "mine"}
    again = PowerLawTask(**task.params())
    assert [e.id for e in again.equations] == ["I.12.2", "I.14.3"]
    assert PowerLawTask().params()["equations"] == "representative"


# ---------------------------------------------------------------- bad configuration


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"equations": "some"}, "equations"),
        ({"equations": "I.12.2"}, "equations"),  # one id as a bare string
        ({"equations": []}, "empty"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"noise": float("inf")}, "noise"),
        ({"n_test": 1}, "n_test"),
        ({"n_test": 0}, "n_test"),
    ],
)
def test_task_rejects_bad_configuration(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PowerLawTask(**kwargs)


def test_task_rejects_unknown_equation_id_with_value_error():
    with pytest.raises(ValueError, match="not-an-id"):
        PowerLawTask(["I.12.2", "not-an-id"])


# ---------------------------------------------------------------- PerProblemRegressor


def _problem(pid, n=12, seed=0):
    """Samples of y = a**2 * b."""
    X = np.random.default_rng(seed).uniform(1, 3, (n, 2))
    return RegressionProblem(pid, X, X[:, 0] ** 2 * X[:, 1], ("a", "b"))


def test_per_problem_records_failures_and_predicts_nan_for_them():
    good = _problem("good")
    X = good.X
    bad = RegressionProblem("bad", X, np.where(np.arange(len(X)) % 2 == 0, 1.0, -1.0), ("a", "b"))
    method = PerProblemRegressor(PowerLawRegressor()).fit([good, bad])
    assert set(method.models_) == {"good"}
    assert set(method.errors_) == {"bad"} and method.errors_["bad"].startswith("ValueError:")
    assert np.all(np.isnan(method.predict("bad", X[:3])))
    np.testing.assert_allclose(method.predict("good", X[:3]), good.y[:3], rtol=1e-10)
    a, b = sympy.symbols("a b", positive=True)
    assert sympy.simplify(sympy.nsimplify(method.formula("good")) - a**2 * b) == 0
    assert method.formula("bad") is None
    assert method.formula("never-seen") is None


def test_per_problem_passes_variable_names_when_accepted():
    method = PerProblemRegressor(PowerLawRegressor()).fit([_problem("p")])
    assert {s.name for s in method.formula("p").free_symbols} == {"a", "b"}


def test_per_problem_works_with_regressors_without_variable_names():
    class Mean(BaseEstimator):
        family = "deep"

        def fit(self, X, y):
            self.mean_ = float(np.mean(y))
            return self

        def predict(self, X):
            return np.full(len(X), self.mean_)

    p = _problem("p")
    method = PerProblemRegressor(Mean()).fit([p])
    assert method.family == "deep"
    assert np.array_equal(method.predict("p", p.X[:2]), np.full(2, p.y.mean()))
    assert method.formula("p") is None


def test_per_problem_every_fit_failing_raises():
    X = np.ones((6, 2))
    bad = RegressionProblem("bad", X, np.array([1.0, -1.0] * 3), ("a", "b"))
    with pytest.raises(RuntimeError, match="every fit failed"):
        PerProblemRegressor(PowerLawRegressor()).fit([bad])


def test_per_problem_clones_its_estimator_per_problem():
    estimator = PowerLawRegressor(max_denominator=3)
    method = PerProblemRegressor(estimator).fit([_problem("p", seed=0), _problem("q", seed=1)])
    p, q = method.models_["p"], method.models_["q"]
    assert p is not q and estimator not in (p, q)
    assert p.max_denominator == q.max_denominator == 3
    assert not hasattr(estimator, "fit_") and hasattr(p, "fit_")
    assert method.get_params()["estimator__max_denominator"] == 3
    assert method.family == "hybrid"


def test_per_problem_refuses_what_is_not_an_estimator_instance():
    with pytest.raises(TypeError, match="estimator"):
        PerProblemRegressor(PowerLawRegressor).fit([_problem("p")])
    with pytest.raises(TypeError, match="estimator"):
        PerProblemRegressor(lambda: PowerLawRegressor()).fit([_problem("p")])


def test_per_problem_predict_before_fit_raises():
    with pytest.raises(NotFittedError, match="not fitted"):
        PerProblemRegressor(PowerLawRegressor()).predict("p", np.ones((2, 2)))


# ---------------------------------------------------------------- r2_score


def test_r2_score():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2_score(y, y) == 1.0
    assert r2_score(y, np.full(4, y.mean())) == 0.0
    assert r2_score(y, y + 1) == pytest.approx(1 - 4 / 5)
    assert r2_score(y, np.array([1.0, np.nan, 3.0, 4.0])) == -math.inf
    assert r2_score(np.ones(3), np.ones(3)) == 1.0
    assert r2_score(np.ones(3), np.zeros(3)) == -math.inf
