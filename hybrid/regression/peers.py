"""Peer symbolic-regression systems behind the toolkit's regressor interface.

The AI-Feynman-style solver is compared side by side with two published systems, each
run through its own API on the same samples, wall-clock budget and exact-recovery check:

* **gplearn** (``gplearn.genetic.SymbolicRegressor``): Koza-style genetic programming.
* **Operon** (``pyoperon.sklearn.SymbolicRegressor``): genetic programming with
  local optimisation of the coefficients (Levenberg-Marquardt).

Both wrappers have the interface of the toolkit's own regressors: ``fit(X, y,
variable_names=None)``, ``predict(X)``, ``sympy()``, ``latex()`` and ``family``, and are
scikit-learn estimators (``clone``, ``get_params``, pickling; the peer's own further
settings travel in one ``peer_params`` dict). The
peers are optional dependencies (``pip install "hybrid-toolkit[peers]"``); they are
imported when a wrapper is built, so importing this module never fails.

Formulas are turned into sympy from parsed structure, never by evaluating a string:
gplearn's fitted program is a prefix list that is converted node by node
(:func:`gplearn_program_to_sympy`), and Operon's infix model string is parsed with
Python's :mod:`ast` against a whitelist (:func:`parse_operon_model`).
"""

from __future__ import annotations

import copy
import importlib
import math
import numbers
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from hybrid.evaluate.meter import record_ops
from hybrid.tasks.arrays import check_X, check_xy
from hybrid.tasks.feynman.table import formula_to_sympy

__all__ = [
    "GPLEARN_FUNCTIONS",
    "OPERON_DEFAULTS",
    "OPERON_FUNCTIONS",
    "PEERS",
    "GPLearnRegressor",
    "OperonRegressor",
    "gplearn_program_to_sympy",
    "make_peer",
    "parse_operon_model",
]

_INSTALL_HINT = 'pip install "hybrid-toolkit[peers]"'


def _import_peer(module: str, system: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"the {system} peer needs the {module.split('.')[0]!r} package: {_INSTALL_HINT}") from exc


def _symbols(variable_names: Sequence[str] | None, n_features: int) -> tuple[sympy.Symbol, ...]:
    """Real sympy symbols named ``variable_names`` (default ``x0, x1, ...``)."""
    if variable_names is None:
        names = [f"x{i}" for i in range(n_features)]
    else:
        names = list(variable_names)
        if len(names) != n_features:
            raise ValueError(f"variable_names has {len(names)} names for {n_features} columns of X")
        if not all(isinstance(n, str) and n for n in names):
            raise ValueError("variable_names must be non-empty strings")
        if len(set(names)) != len(names):
            raise ValueError(f"variable_names must be distinct, got {names}")
    return tuple(sympy.Symbol(name, real=True) for name in names)


class _PeerRegressor(RegressorMixin, BaseEstimator):
    """What both wrappers share: budget and seed checks, fitted-state checks, formula access."""

    family = "peer"
    #: The peer's name in :data:`PEERS`.
    peer = ""

    def _check_common(self) -> None:
        budget = self.time_budget_s
        if isinstance(budget, bool) or not isinstance(budget, numbers.Real) or not math.isfinite(budget) or budget <= 0:
            raise ValueError(f"time_budget_s must be a finite number > 0, got {budget!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be an int in [0, 2**32), got {self.seed!r}")

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimator_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(X, y) first")

    def predict(self, X) -> np.ndarray:
        """The fitted peer's own predictions on ``X`` ``(n, d)``, as float64."""
        self._check_fitted()
        X = check_X(X, n_features=self.n_features_in_)
        return np.asarray(self.estimator_.predict(X), dtype=float).reshape(-1)

    def sympy(self) -> sympy.Expr:
        """The fitted model as a sympy expression over real symbols named by ``variable_names``."""
        self._check_fitted()
        return self.expression_

    def latex(self) -> str:
        """The fitted model in LaTeX."""
        return sympy.latex(self.sympy())


# ------------------------------------------------------------------------------- gplearn


#: gplearn's built-in functions as plain mathematical operations: name -> (arity, builder).
GPLEARN_FUNCTIONS: dict[str, tuple[int, Callable[..., sympy.Expr]]] = {
    "add": (2, lambda a, b: a + b),
    "sub": (2, lambda a, b: a - b),
    "mul": (2, lambda a, b: a * b),
    "div": (2, lambda a, b: a / b),
    "sqrt": (1, lambda a: sympy.sqrt(sympy.Abs(a))),
    "log": (1, lambda a: sympy.log(sympy.Abs(a))),
    "abs": (1, sympy.Abs),
    "neg": (1, lambda a: -a),
    "inv": (1, lambda a: 1 / a),
    "max": (2, sympy.Max),
    "min": (2, sympy.Min),
    "sin": (1, sympy.sin),
    "cos": (1, sympy.cos),
    "tan": (1, sympy.tan),
    "sig": (1, lambda a: 1 / (1 + sympy.exp(-a))),
}


def gplearn_program_to_sympy(program: Sequence[Any], symbols: Sequence[sympy.Symbol]) -> sympy.Expr:
    """Convert a gplearn program (``est._program.program``) to sympy, node by node.

    A program is a prefix list of functions (objects with ``.name`` and ``.arity``,
    gplearn's ``_Function``), ints (the index of a feature) and floats (constants).

    gplearn's closures are protected; they become the plain mathematical operations,
    the formula gplearn means and the one the exact-recovery check compares:

    ============  ==========================================  ==================
    gplearn       evaluates                                   sympy
    ============  ==========================================  ==================
    ``div(a,b)``  ``a/b`` if ``|b| > 0.001`` else ``1``       ``a/b``
    ``sqrt(a)``   ``sqrt(|a|)``                               ``sqrt(Abs(a))``
    ``log(a)``    ``log(|a|)`` if ``|a| > 0.001`` else ``0``  ``log(Abs(a))``
    ``inv(a)``    ``1/a`` if ``|a| > 0.001`` else ``0``       ``1/a``
    ============  ==========================================  ==================

    So the expression evaluates as gplearn does wherever no ``div``/``log``/``inv``
    argument falls within 0.001 of zero. The other functions (``add sub mul neg abs max
    min sin cos tan sig``) are exact.

    Raises:
        ValueError: on an unknown function name, a feature index outside ``symbols``,
            or a malformed program.
    """
    stack: list[sympy.Expr] = []
    for node in reversed(list(program)):
        if hasattr(node, "arity") and hasattr(node, "name"):
            if node.name not in GPLEARN_FUNCTIONS:
                raise ValueError(
                    f"gplearn function {node.name!r} has no sympy translation; known: {sorted(GPLEARN_FUNCTIONS)}"
                )
            arity, build = GPLEARN_FUNCTIONS[node.name]
            if node.arity != arity or len(stack) < arity:
                raise ValueError(f"malformed gplearn program: {node.name!r} (arity {node.arity}) lacks arguments")
            args = [stack.pop() for _ in range(arity)]
            stack.append(build(*args))
        elif isinstance(node, numbers.Integral) and not isinstance(node, bool):
            if not 0 <= node < len(symbols):
                raise ValueError(f"gplearn program uses feature {node}, but there are {len(symbols)} symbols")
            stack.append(symbols[int(node)])
        elif isinstance(node, numbers.Real) and not isinstance(node, bool):
            stack.append(sympy.Float(float(node)))
        else:
            raise ValueError(f"malformed gplearn program: unexpected node {node!r}")
    if len(stack) != 1:
        raise ValueError(f"malformed gplearn program: {len(stack)} expressions left over, expected 1")
    return stack[0]


class GPLearnRegressor(_PeerRegressor):
    """gplearn's ``SymbolicRegressor`` under a wall-clock budget.

    gplearn has no time limit of its own, so :meth:`fit` grows the run one generation
    at a time with ``warm_start=True`` (gplearn replays its seed stream on a warm start,
    so the run is the one a single call with the same seed would make). Before each
    further generation it predicts that generation's cost as the wall time of the
    previous one and stops when that would overrun ``time_budget_s``; it also stops at
    ``generations`` or when gplearn's ``stopping_criteria`` is met. The first generation
    always runs, so a budget shorter than one generation is overrun by that generation.

    Args:
        time_budget_s: wall-clock seconds for :meth:`fit`, validation included.
        seed: gplearn's ``random_state``.
        population_size: programs per generation.
        generations: the most generations; large by default, so the budget binds.
        function_set: gplearn function names (see :data:`GPLEARN_FUNCTIONS`).
        peer_params: any other ``gplearn.genetic.SymbolicRegressor`` arguments, as a dict
            (not ``warm_start``, which the budget loop needs). Defaults here: ``n_jobs=1``
            (one core, as Operon gets one thread) and ``low_memory=True`` (keep only the
            last generation; the result is the same).

    Attributes:
        estimator_: the fitted ``gplearn.genetic.SymbolicRegressor``.
        expression_: the best program as sympy, protected ops made plain (see
            :func:`gplearn_program_to_sympy`).
        n_generations_: generations run.
        n_evaluations_: programs evaluated (``population_size`` per generation).
        stop_reason_: ``"budget"``, ``"generations"`` or ``"stopping_criteria"``.
        fit_time_s_: wall seconds :meth:`fit` took.
    """

    peer = "gplearn"

    def __init__(
        self,
        time_budget_s: float = 60.0,
        seed: int = 0,
        population_size: int = 1000,
        generations: int = 1000,
        function_set: Sequence[str] = ("add", "sub", "mul", "div", "sqrt", "log", "sin", "cos", "neg", "inv"),
        peer_params: dict[str, Any] | None = None,
    ):
        self.time_budget_s = time_budget_s
        self.seed = seed
        self.population_size = population_size
        self.generations = generations
        self.function_set = function_set
        self.peer_params = peer_params
        self._check_common()
        if "warm_start" in (peer_params or {}):
            raise ValueError("GPLearnRegressor sets warm_start itself (it runs the budget loop)")
        if isinstance(generations, bool) or not isinstance(generations, numbers.Integral) or generations < 1:
            raise ValueError(f"generations must be an int >= 1, got {generations!r}")
        unknown = [f for f in function_set if getattr(f, "name", f) not in GPLEARN_FUNCTIONS]
        if unknown:
            known = sorted(GPLEARN_FUNCTIONS)
            raise ValueError(f"function_set has {unknown!r} with no sympy translation; known: {known}")
        _import_peer("gplearn.genetic", "gplearn")

    def fit(self, X, y, variable_names: Sequence[str] | None = None) -> GPLearnRegressor:
        """Evolve programs on ``X`` ``(n, d)`` and ``y`` ``(n,)`` within the budget; returns self.

        Raises:
            ValueError: on NaN/inf or mismatched shapes, or bad ``variable_names``.
        """
        start = time.perf_counter()
        X, y = check_xy(X, y, min_samples=2)
        symbols = _symbols(variable_names, X.shape[1])
        genetic = _import_peer("gplearn.genetic", "gplearn")
        kwargs = {"n_jobs": 1, "low_memory": True, "verbose": 0, **(self.peer_params or {})}
        kwargs.update(
            population_size=self.population_size,
            function_set=tuple(self.function_set),
            random_state=int(self.seed),
            warm_start=True,
            generations=1,
        )
        est = genetic.SymbolicRegressor(**kwargs)
        done = 0
        stop_reason = "generations"
        while done < self.generations:
            call_start = time.perf_counter()
            est.set_params(generations=done + 1)
            est.fit(X, y)
            done = len(est._programs)
            now = time.perf_counter()
            if done >= self.generations:
                break
            if self._met_stopping_criteria(est):
                stop_reason = "stopping_criteria"
                break
            if (now - start) + (now - call_start) > self.time_budget_s:
                stop_reason = "budget"
                break
        self.estimator_ = est
        self.n_features_in_ = X.shape[1]
        self.variable_names_ = tuple(s.name for s in symbols)
        self.n_generations_ = done
        self.n_evaluations_ = done * self.population_size
        self.stop_reason_ = stop_reason
        self.expression_ = gplearn_program_to_sympy(est._program.program, symbols)
        self.fit_time_s_ = time.perf_counter() - start
        record_ops("candidates", self.n_evaluations_)
        record_ops("generations", done)
        return self

    @staticmethod
    def _met_stopping_criteria(est) -> bool:
        best = est.run_details_["best_fitness"][-1]
        if est._metric.greater_is_better:
            return best >= est.stopping_criteria
        return best <= est.stopping_criteria


# -------------------------------------------------------------------------------- Operon


def _real_cbrt(a: sympy.Expr) -> sympy.Expr:
    # Operon's cbrt is the real cube root (negative for a < 0), not sympy's principal root.
    return sympy.sign(a) * sympy.Abs(a) ** sympy.Rational(1, 3)


#: Functions Operon's infix formatter writes: name -> (arity, sympy builder). ``aq``,
#: ``square``, ``log1p``, ``logabs``, ``sqrtabs`` and ``powabs`` are written out in these
#: terms (``a / (sqrt(1 + b ^ 2))``, ``a ^ 2``, ``log(a+1)``, ``log(abs(a))``, ...); ``pow``
#: is ``^``. Operon 0.6 prints ``fmin`` as ``max`` and ``fmax`` as ``min`` and evaluates
#: them that way too, so the names are taken as printed.
OPERON_FUNCTIONS: dict[str, tuple[int, Callable[..., sympy.Expr]]] = {
    "abs": (1, sympy.Abs),
    "acos": (1, sympy.acos),
    "asin": (1, sympy.asin),
    "atan": (1, sympy.atan),
    "cbrt": (1, _real_cbrt),
    "ceil": (1, sympy.ceiling),
    "cos": (1, sympy.cos),
    "cosh": (1, sympy.cosh),
    "exp": (1, sympy.exp),
    "floor": (1, sympy.floor),
    "log": (1, sympy.log),
    "sin": (1, sympy.sin),
    "sinh": (1, sympy.sinh),
    "sqrt": (1, sympy.sqrt),
    "tan": (1, sympy.tan),
    "tanh": (1, sympy.tanh),
    "max": (2, sympy.Max),
    "min": (2, sympy.Min),
}
_OPERON_CONSTANTS = {"inf": sympy.oo, "nan": sympy.nan}

def parse_operon_model(text: str, symbols: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    """Parse an Operon infix model string into sympy without evaluating the string.

    Operon writes powers as ``^``; they are read as ``**`` (Operon parenthesises every
    operation, and ``a ^ 2`` in ``1 + a ^ 2`` means ``1 + a**2``, which ``**``'s
    precedence gives). The tree is then walked against a whitelist: numbers (ints become
    sympy Integers, floats sympy Floats with the value exactly), the names in ``symbols``,
    ``inf``/``nan``, ``+ - * / **``, unary ``-``/``+`` and :data:`OPERON_FUNCTIONS`.

    Raises:
        FormulaError: (a ValueError) on a syntax error, an unknown name or function, a
            wrong number of arguments, or any other construct.
    """
    if not isinstance(text, str):
        raise TypeError(f"model must be a str, got {type(text).__name__}")
    return formula_to_sympy(
        text.strip().replace("^", "**"),
        names={**_OPERON_CONSTANTS, **symbols},
        functions=OPERON_FUNCTIONS,
        read_float=sympy.Float,
        what=f"Operon model {text!r}",
        allow_non_finite=True,
    )


#: Operon settings after SRBench's Operon configuration (its primitives, 5 local
#: Levenberg-Marquardt iterations, max length 50, a 1e6 evaluation budget, generations
#: large enough not to bind); ``max_time`` and ``random_state`` come from the wrapper.
OPERON_DEFAULTS: dict[str, Any] = {
    "allowed_symbols": "add,sub,mul,div,constant,variable,sin,cos,exp,log,sqrt,square",
    "population_size": 1000,
    "generations": 100_000,
    "max_evaluations": 1_000_000,
    "optimizer_iterations": 5,
    "max_length": 50,
    "tournament_size": 5,
    "n_threads": 1,
}

# Decimals Operon prints coefficients with (fixed-point). Its coefficients are float32;
# 40 decimals keep each within 5e-41, i.e. to float32 precision for any above ~1e-33.
_OPERON_PRECISION = 40


class OperonRegressor(_PeerRegressor):
    """Operon's ``pyoperon.sklearn.SymbolicRegressor`` under a wall-clock budget.

    Operon enforces the budget itself: its ``max_time`` (whole seconds) is set to
    ``floor(time_budget_s)``, so a fractional budget is rounded down (``0`` runs the
    initial population only). Operon checks the clock inside the run and stops within
    milliseconds of it.

    Operon evaluates in float32, so :meth:`predict` (Operon's own) agrees with the
    float64 evaluation of :meth:`sympy` to about 1e-6 relative, not to the last bit.

    Args:
        time_budget_s: wall-clock seconds for the search.
        seed: Operon's ``random_state``.
        peer_params: any other ``pyoperon.sklearn.SymbolicRegressor`` arguments, as a dict
            (not ``max_time`` or ``random_state``); they override :data:`OPERON_DEFAULTS`.

    Attributes:
        estimator_: the fitted ``pyoperon.sklearn.SymbolicRegressor``.
        expression_: the selected model as sympy.
        model_string_: Operon's infix string of the model, with the variable names.
        n_generations_: generations run.
        n_evaluations_: candidates evaluated (Operon's ``evaluation_count``).
        n_local_evaluations_: residual and Jacobian evaluations of the coefficient
            optimiser. Operon's ``max_evaluations`` counts these too, so with the
            defaults on 1000 samples it can end the run before the time budget.
        stop_reason_: ``"budget"``, ``"evaluations"`` (``max_evaluations`` spent) or
            ``"generations"``.
        fit_time_s_: wall seconds :meth:`fit` took.
    """

    peer = "operon"

    def __init__(self, time_budget_s: float = 60.0, seed: int = 0, peer_params: dict[str, Any] | None = None):
        self.time_budget_s = time_budget_s
        self.seed = seed
        self.peer_params = peer_params
        self._check_common()
        clash = sorted({"max_time", "random_state"} & set(peer_params or {}))
        if clash:
            raise ValueError(f"OperonRegressor sets {clash} itself: use time_budget_s and seed")
        _import_peer("pyoperon.sklearn", "Operon")

    def fit(self, X, y, variable_names: Sequence[str] | None = None) -> OperonRegressor:
        """Run Operon on ``X`` ``(n, d)`` and ``y`` ``(n,)`` within the budget; returns self.

        Raises:
            ValueError: on NaN/inf or mismatched shapes, bad ``variable_names`` or an
                Operon setting it rejects.
        """
        start = time.perf_counter()
        X, y = check_xy(X, y, min_samples=2)
        symbols = _symbols(variable_names, X.shape[1])
        operon = _import_peer("pyoperon.sklearn", "Operon")
        kwargs = {**OPERON_DEFAULTS, **(self.peer_params or {})}
        kwargs.update(max_time=int(math.floor(self.time_budget_s)), random_state=int(self.seed))
        est = operon.SymbolicRegressor(**kwargs)
        est.fit(X, y)
        # Parse a string written with placeholder names (identifiers that no function
        # shares), so any variable name works; keep Operon's own string for display.
        placeholders = [f"v{i}" for i in range(X.shape[1])]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Model contains no variables")
            text = est.get_model_string(est.model_, _OPERON_PRECISION, placeholders)
            self.model_string_ = est.get_model_string(est.model_, 6, [s.name for s in symbols])
        self.expression_ = parse_operon_model(text, dict(zip(placeholders, symbols, strict=True)))
        self.estimator_ = est
        self.n_features_in_ = X.shape[1]
        self.variable_names_ = tuple(s.name for s in symbols)
        stats = est.stats_
        self.n_generations_ = int(stats["generations"])
        self.n_evaluations_ = int(stats["evaluation_count"])
        self.n_local_evaluations_ = int(stats["residual_evaluations"]) + int(stats["jacobian_evaluations"])
        if self.n_evaluations_ + self.n_local_evaluations_ >= kwargs["max_evaluations"]:
            self.stop_reason_ = "evaluations"
        elif self.n_generations_ >= kwargs["generations"]:
            self.stop_reason_ = "generations"
        else:
            self.stop_reason_ = "budget"
        self.fit_time_s_ = time.perf_counter() - start
        record_ops("candidates", self.n_evaluations_)
        record_ops("local_search_evaluations", self.n_local_evaluations_)
        record_ops("generations", self.n_generations_)
        return self

    def __getstate__(self) -> dict[str, Any]:
        """The state to pickle: Operon's final population (``individuals_``) is left out.

        pyoperon cannot pickle its individuals; :meth:`predict` needs only the selected
        model, which pickles.
        """
        state = dict(super().__getstate__())  # a copy: BaseEstimator may hand back __dict__ itself
        est = state.get("estimator_")
        if est is not None and hasattr(est, "individuals_"):
            est = copy.copy(est)
            del est.individuals_
            state["estimator_"] = est
        return state


# ----------------------------------------------------------------------------- registry

#: Peer systems by name.
PEERS: dict[str, type] = {"gplearn": GPLearnRegressor, "operon": OperonRegressor}


def make_peer(name: str, time_budget_s: float = 60.0, seed: int = 0, **params) -> GPLearnRegressor | OperonRegressor:
    """Build the peer regressor called ``name`` (see :data:`PEERS`).

    Args:
        name: a key of :data:`PEERS`.
        time_budget_s: wall-clock seconds for its fit.
        seed: its random seed.
        **params: the wrapper's own constructor arguments by name; any other keyword is
            the peer's own setting and goes into ``peer_params`` (with those of an
            explicit ``peer_params`` dict).

    Returns:
        The unfitted wrapper.

    Raises:
        ValueError: if ``name`` is not a peer.
        ImportError: if the peer's package is not installed.
    """
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; valid names: {sorted(PEERS)}")
    cls = PEERS[name]
    own = set(cls._get_param_names())
    peer_params = dict(params.pop("peer_params", None) or {})
    peer_params.update({k: params.pop(k) for k in list(params) if k not in own})
    return cls(time_budget_s=time_budget_s, seed=seed, peer_params=peer_params or None, **params)
