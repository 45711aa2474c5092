"""Peer symbolic-regression systems (gplearn, Operon) behind the toolkit's regressor interface."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import sympy
from hybrid.tasks.feynman.table import FormulaError
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from hybrid.regression.peers import (
    GPLEARN_FUNCTIONS,
    OPERON_FUNCTIONS,
    PEERS,
    GPLearnRegressor,
    OperonRegressor,
    gplearn_program_to_sympy,
    make_peer,
    parse_operon_model,
)

NAMES = ("a", "b", "c")
SYMS = tuple(sympy.Symbol(n, real=True) for n in NAMES)
BUDGET_S = 2.0
SLACK_S = 0.75


def _data(n=200, seed=0):
    X = np.random.default_rng(seed).uniform(1, 5, (n, 3))
    return X, X[:, 0] * X[:, 1] + X[:, 2]


def _evaluate(expr, X, names=NAMES):
    f = sympy.lambdify([sympy.Symbol(n, real=True) for n in names], expr, modules="numpy")
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(f(*X.T), dtype=float), (len(X),))


def _assert_faithful(reg, X):
    """sympy() evaluated in float64 equals the peer's own predict() to 1e-6 relative."""
    pred = reg.predict(X)
    assert pred.dtype == np.float64 and pred.shape == (len(X),)
    np.testing.assert_allclose(_evaluate(reg.sympy(), X), pred, rtol=1e-6, atol=1e-6 * np.abs(pred).max())


# ----------------------------------------------------------------------- registry, errors


def test_registry_and_family():
    assert PEERS == {"gplearn": GPLearnRegressor, "operon": OperonRegressor}
    assert GPLearnRegressor.family == OperonRegressor.family == "peer"


def test_make_peer_rejects_an_unknown_name():
    with pytest.raises(ValueError, match=r"unknown peer 'pysr'.*\['gplearn', 'operon'\]"):
        make_peer("pysr", time_budget_s=1.0, seed=0)


@pytest.mark.parametrize("budget", [0, -1.0, float("inf"), float("nan"), "60"])
def test_bad_time_budget_is_rejected(budget):
    for cls in PEERS.values():
        with pytest.raises(ValueError, match="time_budget_s"):
            cls(time_budget_s=budget)


def test_importing_peers_imports_neither_package():
    code = "import sys, hybrid.regression.peers; print(sorted(m for m in ('gplearn', 'pyoperon') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("name", "module"), [("gplearn", "gplearn.genetic"), ("operon", "pyoperon.sklearn")])
def test_missing_package_gives_an_install_hint(monkeypatch, name, module):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    with pytest.raises(ImportError, match=r'pip install "hybrid-toolkit\[peers\]"'):
        make_peer(name, time_budget_s=1.0, seed=0)


def test_make_peer_puts_the_peers_own_settings_in_peer_params():
    pytest.importorskip("gplearn")
    reg = make_peer("gplearn", time_budget_s=1.0, seed=2, population_size=30, tournament_size=5)
    assert reg.population_size == 30 and reg.peer_params == {"tournament_size": 5}
    params = clone(reg).get_params()
    assert params["peer_params"] == {"tournament_size": 5} and params["seed"] == 2
    assert make_peer("gplearn", time_budget_s=1.0).peer_params is None


# ------------------------------------------------------------------------------- gplearn


@pytest.fixture(scope="module")
def gplearn_fitted():
    pytest.importorskip("gplearn")
    X, y = _data()
    reg = GPLearnRegressor(time_budget_s=BUDGET_S, seed=0, population_size=200)
    start = time.perf_counter()
    reg.fit(X, y, variable_names=NAMES)
    return reg, time.perf_counter() - start, X


def test_gplearn_sympy_matches_its_predictions(gplearn_fitted):
    reg, _, X = gplearn_fitted
    assert reg.sympy().free_symbols <= set(SYMS)
    _assert_faithful(reg, X)


def test_gplearn_honours_the_time_budget(gplearn_fitted):
    reg, wall_s, _ = gplearn_fitted
    assert wall_s <= BUDGET_S + SLACK_S
    assert reg.stop_reason_ == "budget"
    assert reg.n_generations_ > 1
    assert reg.n_evaluations_ == reg.n_generations_ * 200


def test_gplearn_warm_start_loop_is_one_gplearn_run():
    genetic = pytest.importorskip("gplearn.genetic")
    X, y = _data(n=50)
    reg = GPLearnRegressor(time_budget_s=60, seed=3, population_size=50, generations=3).fit(X, y)
    assert reg.n_generations_ == 3 and reg.stop_reason_ == "generations"
    ref = genetic.SymbolicRegressor(
        population_size=50,
        generations=3,
        function_set=tuple(reg.function_set),
        random_state=3,
        n_jobs=1,
        low_memory=True,
    ).fit(X, y)
    assert str(reg.estimator_._program) == str(ref._program)
    np.testing.assert_array_equal(reg.predict(X), ref.predict(X))


@pytest.mark.parametrize("name", sorted(GPLEARN_FUNCTIONS))
def test_gplearn_converter_handles_each_function(name):
    pytest.importorskip("gplearn")
    from gplearn._program import _Program
    from gplearn.functions import _function_map, sig1
    from sklearn.utils import check_random_state

    fn = sig1 if name == "sig" else _function_map[name]
    program = [fn, 0, 1] if fn.arity == 2 else [fn, 0]
    # includes zeros, tiny and negative values, where the protected closures take over
    X = np.array([[0.0, 0.0], [0.0005, -0.0002], [-2.0, 0.5], [1.5, -3.0], [0.3, 2.0], [-0.7, -0.2]])
    gp = _Program(
        function_set=[fn],
        arities={fn.arity: [fn]},
        init_depth=(1, 2),
        init_method="grow",
        n_features=2,
        const_range=(-1, 1),
        metric=None,
        p_point_replace=0.05,
        parsimony_coefficient=0.001,
        random_state=check_random_state(0),
        program=program,
    )
    expected = gp.execute(X)
    expr = gplearn_program_to_sympy(program, SYMS[:2])
    safe = np.all(np.abs(X) > 0.001, axis=1)  # where the plain op and gplearn's closure agree
    assert not safe.all()
    np.testing.assert_allclose(_evaluate(expr, X[safe], NAMES[:2]), expected[safe], rtol=1e-12)
    if name in ("div", "log", "inv"):  # protected: gplearn's closure takes over near zero
        assert not np.allclose(_evaluate(expr, X[~safe], NAMES[:2]), expected[~safe], equal_nan=False)
    else:
        np.testing.assert_allclose(_evaluate(expr, X, NAMES[:2]), expected, rtol=1e-12)


def test_gplearn_converter_plain_forms_and_nesting():
    a, b = SYMS[:2]
    funcs = {name: type("F", (), {"name": name, "arity": arity}) for name, (arity, _) in GPLEARN_FUNCTIONS.items()}
    conv = lambda prog: gplearn_program_to_sympy(prog, SYMS)  # noqa: E731
    assert conv([funcs["div"], 0, 1]) == a / b
    assert conv([funcs["sqrt"], 0]) == sympy.sqrt(sympy.Abs(a))
    assert conv([funcs["log"], 0]) == sympy.log(sympy.Abs(a))
    assert conv([funcs["inv"], 0]) == 1 / a
    assert conv([funcs["add"], funcs["mul"], 0, 1, funcs["neg"], 0.5]) == a * b - sympy.Float(0.5)
    assert conv([2]) == SYMS[2]
    assert conv([0.25]) == sympy.Float(0.25)
    for bad in ([funcs["add"], 0], [0, 1], [funcs["add"], 0, 7], ["x0"], []):
        with pytest.raises(ValueError, match="gplearn"):
            conv(bad)
    with pytest.raises(ValueError, match="no sympy translation"):
        conv([type("F", (), {"name": "pow3", "arity": 1}), 0])


def test_gplearn_validates_arguments_and_data():
    pytest.importorskip("gplearn")
    with pytest.raises(ValueError, match="warm_start"):
        GPLearnRegressor(peer_params={"warm_start": False})
    with pytest.raises(ValueError, match="'pow3'"):
        GPLearnRegressor(function_set=("add", "pow3"))
    reg = GPLearnRegressor(time_budget_s=1.0, population_size=20, generations=1)
    X, y = _data(n=20)
    with pytest.raises(ValueError, match="variable_names"):
        reg.fit(X, y, variable_names=["a", "b"])
    with pytest.raises(ValueError, match="NaN"):
        reg.fit(X, np.where(np.arange(20) == 3, np.nan, y))
    with pytest.raises(NotFittedError, match="not fitted"):
        reg.predict(X)
    reg.fit(X, y)
    assert reg.variable_names_ == ("x0", "x1", "x2") and reg.n_generations_ == 1


# -------------------------------------------------------------------------------- Operon


@pytest.fixture(scope="module")
def operon_fitted():
    pytest.importorskip("pyoperon")
    X, y = _data()
    settings = {"population_size": 200, "max_evaluations": 10**9}
    reg = OperonRegressor(time_budget_s=BUDGET_S, seed=0, peer_params=settings)
    start = time.perf_counter()
    reg.fit(X, y, variable_names=NAMES)
    return reg, time.perf_counter() - start, X


def test_operon_sympy_matches_its_predictions(operon_fitted):
    reg, _, X = operon_fitted
    assert reg.sympy().free_symbols <= set(SYMS)
    _assert_faithful(reg, X)
    assert isinstance(reg.model_string_, str)


def test_operon_honours_the_time_budget(operon_fitted):
    reg, wall_s, _ = operon_fitted
    assert wall_s <= BUDGET_S + SLACK_S
    assert reg.n_generations_ > 0 and reg.n_evaluations_ > 0 and reg.n_local_evaluations_ > 0
    assert reg.stop_reason_ == "budget"
    assert reg.estimator_.get_params()["max_time"] == 2
    assert reg.estimator_.get_params()["n_threads"] == 1


def test_operon_rejects_settings_the_wrapper_owns():
    pytest.importorskip("pyoperon")
    with pytest.raises(ValueError, match="max_time"):
        OperonRegressor(peer_params={"max_time": 5})
    with pytest.raises(ValueError, match="random_state"):
        make_peer("operon", random_state=5)


_OPERON_NODES = [
    "Add", "Sub", "Mul", "Div", "Fmin", "Fmax", "Aq", "Pow", "Powabs",
    "Abs", "Acos", "Asin", "Atan", "Cbrt", "Ceil", "Cos", "Cosh", "Exp", "Floor", "Log",
    "Logabs", "Log1p", "Sin", "Sinh", "Sqrt", "Sqrtabs", "Tan", "Tanh", "Square",
]  # fmt: skip


@pytest.mark.parametrize("node_type", _OPERON_NODES)
def test_operon_parser_matches_operon_on_each_node_type(node_type):
    op = pytest.importorskip("pyoperon")
    X = np.random.default_rng(0).uniform(0.1, 0.9, (50, 2))
    ds = op.Dataset(np.asfortranarray(X))
    variables = sorted(ds.Variables, key=lambda v: v.Index)

    def var(v, weight):
        node = op.Node(op.NodeType.Variable)
        node.HashValue = node.CalculatedHashValue = v.Hash
        node.Value = weight
        return node

    node = op.Node(getattr(op.NodeType, node_type))
    args = [var(variables[1], -0.8), var(variables[0], 1.25)] if node.Arity == 2 else [var(variables[0], 0.7)]
    tree = op.Tree([*args, node]).UpdateNodes()
    text = op.InfixFormatter.Format(tree, {v.Hash: f"v{v.Index}" for v in variables}, 40)
    expr = parse_operon_model(text, {"v0": SYMS[0], "v1": SYMS[1]})
    expected = op.Evaluate(op.DispatchTable(), tree, ds, op.Range(0, len(X))).astype(float)
    np.testing.assert_allclose(_evaluate(expr, X, NAMES[:2]), expected, rtol=1e-5, atol=1e-6, err_msg=text)


def test_operon_parser_builds_sympy_from_structure():
    a, b = SYMS[:2]
    syms = {"v0": a, "v1": b}
    assert parse_operon_model("((1.5 * v0) ^ 2)", syms) == (sympy.Float(1.5) * a) ** 2
    assert parse_operon_model("(v0 / (sqrt(1 + v1 ^ 2)))", syms) == a / sympy.sqrt(1 + b**2)
    assert parse_operon_model("(max(v0, v1) - (-2))", syms) == sympy.Max(a, b) + 2
    assert parse_operon_model("(min(v0, v1) + 0.25)", syms) == sympy.Min(a, b) + sympy.Float(0.25)
    assert parse_operon_model("cbrt((-8))", syms) == -2
    assert parse_operon_model("log((2 * v0)+1)", syms) == sympy.log(2 * a + 1)
    assert set(OPERON_FUNCTIONS) >= {"sqrt", "exp", "log", "sin", "cos", "abs", "max", "min"}


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "v0.real",
        "v0[0]",
        "lambda: 1",
        "x9 + 1",
        "open('f')",
        "sqrt(v0, v1)",
        "max(v0)",
        "v0 if v1 else 1",
        "'v0'",
        "(v0",
    ],
)
def test_operon_parser_rejects_anything_else(text):
    with pytest.raises(FormulaError):
        parse_operon_model(text, {"v0": SYMS[0], "v1": SYMS[1]})
