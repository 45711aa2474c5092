"""Sparse regression over a library of basis functions with exact coefficients (FFX / SINDy style).

``y ~ c0 + sum_k c_k * B_k(x)`` where every basis function ``B_k`` is a product of up to
``max_factors`` unary functions (see :data:`UNARY`), each of a *different* input variable:
``x0**2``, ``sqrt(x1)*cos(x2)``, ``x0*cos(x1)**2``, ``x0**2/x1**2``, ``log(x1)``, ...

The library is built on (a subsample of) the data, with a unary function entering only
where it is finite on every sample. Columns are then chosen by a small beam search of
orthogonal forward selection (pure greedy selection is easily misled by correlated columns
such as ``a*cos(b)`` and ``a*cos(b)**2``) and by backward elimination from larger sets;
every support that fits to the tolerance is sparsified, snapped and checked on all the data
by :func:`~hybrid.symbolic.regression.polyfit.fit_linear_combination` (the polynomial fit's
machinery). A coefficient left as a float is finally tried as ``r * log(b)`` for a few
small bases ``b`` (constants such as ``log(2*pi)/2`` of a log-density). numpy and sympy only.

Large matrix-vector products use ``numpy.einsum`` rather than BLAS: on a machine whose
cores are busy, a multithreaded BLAS can be a hundred times slower on products of this
size, and this function is meant to be called many times inside a solver.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from math import comb
from typing import NamedTuple

import numpy as np
import sympy
from hybrid.symbolic.regression.library_search import (
    BEAM_WIDTH,
    ELIMINATION_PRODUCTS,
    FIRST_BEAM_WIDTH,
    FIRST_PER_GROUP,
    FORWARD_COLUMNS,
    MAX_ELIMINATION_COLUMNS,
    _candidate_supports,
    _t_matvec,
)
from hybrid.symbolic.regression.polyfit import fit_linear_combination
from hybrid.symbolic.regression.snapping import snap_constant_with_e
from hybrid.tasks._checks import check_int, is_real
from hybrid.tasks.arrays import check_variable_names, check_X, check_xy

__all__ = [
    "BEAM_WIDTH",
    "DEFAULT_UNARY",
    "ELIMINATION_PRODUCTS",
    "FIRST_BEAM_WIDTH",
    "FIRST_PER_GROUP",
    "FORWARD_COLUMNS",
    "MAX_ELIMINATION_COLUMNS",
    "MAX_SELECTION_SAMPLES",
    "MAX_SNAPS",
    "SNAPS_PER_STEP",
    "UNARY",
    "LibraryFit",
    "Unary",
    "fit_library",
]


class Unary(NamedTuple):
    """One unary function of the library: how to evaluate it, write it, and where it applies.

    Attributes:
        numpy: vectorised evaluation on a float array.
        sympy: the same function on a sympy expression.
        domain: ``domain(x)`` is ``True`` if the function may be applied to every value of
            the array ``x`` (the values it produces are checked for finiteness as well).
        cost: a rough complexity; of numerically identical library columns the one with the
            smallest total cost is kept.
    """

    numpy: Callable[[np.ndarray], np.ndarray]
    sympy: Callable[[sympy.Expr], sympy.Expr]
    domain: Callable[[np.ndarray], bool]
    cost: int


def _anywhere(x: np.ndarray) -> bool:
    return True


def _positive(x: np.ndarray) -> bool:
    return bool(np.all(x > 0))


def _nonzero(x: np.ndarray) -> bool:
    return bool(np.all(x != 0))


def _exp_safe(x: np.ndarray) -> bool:
    return bool(np.all(x < 700.0))


#: The unary functions a basis function is built from: ``name -> Unary(numpy fn, sympy fn,
#: domain check, cost)``.
UNARY: dict[str, Unary] = {
    "id": Unary(lambda x: x, lambda s: s, _anywhere, 1),
    "square": Unary(np.square, lambda s: s**2, _anywhere, 2),
    "cube": Unary(lambda x: x**3, lambda s: s**3, _anywhere, 3),
    "sqrt": Unary(np.sqrt, sympy.sqrt, _positive, 2),
    "inv": Unary(lambda x: 1.0 / x, lambda s: 1 / s, _nonzero, 2),
    "inv_square": Unary(lambda x: 1.0 / x**2, lambda s: s**-2, _nonzero, 3),
    "log": Unary(np.log, sympy.log, _positive, 3),
    "exp": Unary(np.exp, sympy.exp, _exp_safe, 3),
    "sin": Unary(np.sin, sympy.sin, _anywhere, 3),
    "cos": Unary(np.cos, sympy.cos, _anywhere, 3),
    "sin_square": Unary(lambda x: np.sin(x) ** 2, lambda s: sympy.sin(s) ** 2, _anywhere, 4),
    "cos_square": Unary(lambda x: np.cos(x) ** 2, lambda s: sympy.cos(s) ** 2, _anywhere, 4),
}

#: Every function of :data:`UNARY`, the default library.
DEFAULT_UNARY: tuple[str, ...] = tuple(UNARY)

# Samples used to select columns (the rest only check the snapped fit); for a large library
# fewer (down to _MIN_SELECTION_SAMPLES), to keep the selection matrix (samples * columns,
# float64) to about 16 MB: the search is linear in its size.
MAX_SELECTION_SAMPLES = 1000
_MIN_SELECTION_SAMPLES = 200
_MAX_SELECTION_CELLS = 2_000_000
# Snapping a support costs milliseconds (tens when it fails): at most this many of the
# supports that fit are snapped per number of terms, and this many in all.
SNAPS_PER_STEP = 3
MAX_SNAPS = 6
# A coefficient left as a float is tried as r * log(b) for these bases (simplest first);
# the snapped constant must be this many bits shorter than the precision it is matched to.
_LOG_BASES = (2, 3, 5, 7, 10, sympy.pi, 2 * sympy.pi, 4 * sympy.pi)
_LOG_MARGIN_BITS = 6.0 + float(np.log2(len(_LOG_BASES)))

Factor = tuple[int, str]  # (input column, unary name)
# Unary functions equal to each other up to sign and a constant (the library keeps one).
_TWINS = {"sin_square": "cos_square", "cos_square": "sin_square"}


@dataclass(frozen=True)
class LibraryFit:
    """The result of :func:`fit_library`.

    Attributes:
        expression: ``sum(c * t for c, t in zip(coefficients, terms))`` as a sympy expression.
        symbols: one real sympy symbol per input column.
        terms: the kept basis functions (``1`` for the constant), as sympy expressions.
        coefficients: their coefficients, exact where snapped, else ``sympy.Float``.
        relative_error: ``rms(fit - y) / rms(y)`` on all the data (0 if ``y`` is all zero).
        exact: ``True`` if every coefficient snapped to an exact constant.
        factors: for each term, its ``(input column, unary name)`` factors (empty for the
            constant); used by :meth:`predict`.
    """

    expression: sympy.Expr
    symbols: tuple[sympy.Symbol, ...]
    terms: tuple[sympy.Expr, ...]
    coefficients: tuple[sympy.Expr, ...]
    relative_error: float
    exact: bool
    factors: tuple[tuple[Factor, ...], ...] = field(default=(), repr=False)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Evaluate the fitted expression.

        Args:
            X: inputs, shape ``(n, len(symbols))``. Values outside a term's domain (a
                ``log`` of a negative number, say) give NaN or inf.

        Returns:
            Array ``(n,)``.
        """
        X = check_X(X, n_features=len(self.symbols))
        out = np.zeros(X.shape[0])
        with np.errstate(all="ignore"):
            for coefficient, factors in zip(self.coefficients, self.factors, strict=True):
                out += float(coefficient) * _column(X, factors)
        return out


def fit_library(
    X: np.ndarray,
    y: np.ndarray,
    *,
    variable_names: Sequence[str] | None = None,
    tolerance: float = 1e-6,
    unary: Iterable[str] = DEFAULT_UNARY,
    max_factors: int = 2,
    max_terms: int = 4,
    max_columns: int = 20000,
    rng: np.random.Generator | int | None = None,
) -> LibraryFit | None:
    """The sparsest combination of library basis functions, with exact coefficients, that fits ``y``.

    1. Library: a constant plus every product of up to ``max_factors`` functions of
       ``unary``, each of a different input column. A function enters only where it is
       valid and finite on the data (``sqrt``/``log`` need inputs > 0, ``inv`` non-zero
       ones); constant columns are skipped, and of columns that are numerically identical
       up to scale and an added constant (``sin(x)**2`` and ``cos(x)**2``) the simplest is
       kept. If there would be more than ``max_columns`` columns, ``max_factors`` is
       lowered (never below 1).
    2. Selection, on at most :data:`MAX_SELECTION_SAMPLES` samples (a subsample drawn with
       ``rng``; fewer for a large library), of supports of up to ``max_terms``
       non-constant columns (the constant is always in) whose least-squares relative
       error is within ``tolerance``. Candidates come from three searches, since each
       misses what another finds: a beam search of orthogonal forward selection (the
       :data:`BEAM_WIDTH` best partial supports kept at each step, more at the first; a
       support stops growing once it fits); greedy forward selection of
       :data:`FORWARD_COLUMNS` columns followed by backward elimination; and backward
       elimination from every single-factor column plus the products that best match
       ``y`` (additive models such as ``x0**2 + 3*x1``, whose terms correlate with ``y``
       less than many products do).
    3. By number of terms, fewest first, the supports that fit (negligible residual
       first, ties to the simplest) are passed to
       :func:`~hybrid.symbolic.regression.polyfit.fit_linear_combination`, which drops
       insignificant terms, snaps the coefficients and checks the fit on all the data; a
       coefficient left as a float is then tried as ``r * log(b)``, and ``sin(x)**2`` as
       ``cos(x)**2`` (the library keeps only one of the two). At most
       :data:`SNAPS_PER_STEP` supports per number of terms (one once an inexact fit has
       passed), :data:`MAX_SNAPS` in all, are snapped. The exact fit with fewest terms
       (then simplest) is returned; if there is none, the first inexact fit that passed
       (fewest terms, then smallest error), with ``sympy.Float`` coefficients.

    Args:
        X: inputs ``(n, d)``, finite, ``n >= 2``.
        y: targets ``(n,)``, finite.
        variable_names: names of the ``d`` columns (default ``x0, x1, ...``); symbols are
            ``sympy.Symbol(name, real=True)``.
        tolerance: largest accepted ``rms(fit - y) / rms(y)`` (> 0).
        unary: names of the unary functions to build basis functions from (keys of
            :data:`UNARY`).
        max_factors: most unary factors in one basis function (>= 1).
        max_terms: most non-constant basis functions in the fit (>= 1).
        max_columns: the largest library wanted (>= 1); see step 1.
        rng: generator (or seed) for the selection subsample; ``None`` means seed 0, so
            calls are reproducible.

    Returns:
        The fit, or ``None`` if no support found (of at most ``max_terms`` basis
        functions) fits to ``tolerance`` on all the data. The search is heuristic: a
        combination that fits may still be missed, most often one of four terms.

    Raises:
        ValueError: on bad shapes, NaN/inf, unknown ``unary`` names (the valid ones are
            listed), a non-positive ``tolerance``, ``max_factors``, ``max_terms`` or
            ``max_columns``, or wrong ``variable_names``.
    """
    X, y = check_xy(X, y, min_samples=2)
    n, d = X.shape
    if not (is_real(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be a positive number, got {tolerance!r}")
    for name, value in (("max_factors", max_factors), ("max_terms", max_terms), ("max_columns", max_columns)):
        check_int(name, value, 1)
    unary_names = _check_unary(unary)
    names = check_variable_names(variable_names, d)
    symbols = tuple(sympy.Symbol(name, real=True) for name in names)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)

    rms_y = float(np.sqrt(np.mean(y**2)))
    if rms_y == 0.0:
        return LibraryFit(sympy.Integer(0), symbols, (), (), 0.0, True, ())

    factors, Z, sel = _build_library(X, unary_names, int(max_factors), int(max_columns), gen)
    y_sel = y if sel is None else y[sel]
    # A support of k columns plus the constant must leave a spare sample (else it interpolates).
    depth = min(int(max_terms), len(factors), y_sel.shape[0] - 2, n - 2)

    costs = np.array([sum(UNARY[u].cost for _, u in f) for f in factors])
    n_factors = np.array([len(f) for f in factors])
    group_ids: dict[tuple[int, ...], int] = {}
    groups = np.array([group_ids.setdefault(tuple(i for i, _ in f), len(group_ids)) for f in factors])
    fallback: LibraryFit | None = None
    snaps_left = MAX_SNAPS
    passed: list[frozenset[int]] = []
    for _, supports in _candidate_supports(Z, y_sel, rms_y, tolerance, depth, costs, groups, n_factors):
        exact: list[LibraryFit] = []
        # A superset of a support that passed inexactly would only be pruned back to it.
        supports = [s for s in supports if not any(p <= s for p in passed)]
        # Once an inexact fit passed, larger supports seldom snap: try fewer of them.
        for support in supports[: min(SNAPS_PER_STEP if fallback is None else 1, snaps_left)]:
            snaps_left -= 1
            fit = _snap_support(X, y, [factors[j] for j in sorted(support)], symbols, rms_y, tolerance, max_terms)
            if fit is None:
                continue
            if not fit.exact:
                fit = _try_twins(fit, X, y, symbols, rms_y, tolerance, max_terms, unary_names)
            if fit.exact:
                exact.append(fit)
                continue
            passed.append(support)
            if fallback is None:
                fallback = fit
        if exact:
            return min(exact, key=lambda f: (len(f.terms), _fit_cost(f), f.relative_error))
        if snaps_left <= 0:
            break
    return fallback


def _try_twins(
    fit: LibraryFit,
    X: np.ndarray,
    y: np.ndarray,
    symbols: tuple[sympy.Symbol, ...],
    rms_y: float,
    tolerance: float,
    max_terms: int,
    unary_names: tuple[str, ...],
) -> LibraryFit:
    """An inexact ``fit`` with ``sin(x)**2`` terms written as ``cos(x)**2`` and vice versa.

    The library keeps only one of the two (they differ by a constant), so the other's
    intercept may be a sum such as ``4 + pi`` that does not snap. Returns the swapped fit
    if it is exact, else ``fit``.
    """
    swapped = [
        tuple((i, _TWINS.get(u, u)) for i, u in term) if len(term) == 1 else term for term in fit.factors if term
    ]
    changed = [t for t in swapped if t not in fit.factors]
    if not changed or any(u not in unary_names for t in changed for _, u in t):
        return fit
    other = _snap_support(X, y, swapped, symbols, rms_y, tolerance, max_terms)
    return other if other is not None and other.exact else fit


def _fit_cost(fit: LibraryFit) -> int:
    return sum(UNARY[u].cost for term in fit.factors for _, u in term)


def _check_unary(unary: Iterable[str]) -> tuple[str, ...]:
    """The distinct unary names, in order; ``ValueError`` on an unknown one or none."""
    names = (unary,) if isinstance(unary, str) else tuple(unary)
    unknown = [u for u in names if u not in UNARY]
    if unknown:
        raise ValueError(f"unknown unary function(s) {unknown}; valid ones are {sorted(UNARY)}")
    if not names:
        raise ValueError(f"unary must name at least one function of {sorted(UNARY)}")
    return tuple(dict.fromkeys(names))


def _column(X: np.ndarray, factors: tuple[Factor, ...]) -> np.ndarray:
    """``prod UNARY[u](X[:, i])`` over the factors (ones for none)."""
    out = np.ones(X.shape[0])
    for i, u in factors:
        out = out * UNARY[u].numpy(X[:, i])
    return out


def _library_size(d: int, n_unary: int, max_factors: int) -> int:
    return sum(comb(d, k) * n_unary**k for k in range(1, max_factors + 1))


def _build_library(
    X: np.ndarray, unary_names: tuple[str, ...], max_factors: int, max_columns: int, gen: np.random.Generator
) -> tuple[list[tuple[Factor, ...]], np.ndarray, np.ndarray | None]:
    """The non-constant basis functions and their selection columns, centred and of unit norm.

    Returns ``(factors per column, Z, selection rows)``: ``Z`` has shape ``(n_selection,
    n_columns)``, and the selection rows are ``None`` when all the samples are used (at most
    :data:`MAX_SELECTION_SAMPLES`, fewer for a large library, drawn with ``gen``). Only
    unary functions valid and finite on all of ``X`` are used, and only products whose
    magnitude cannot overflow on ``X``; constant columns are dropped and of columns equal up
    to sign (after centring and scaling) the cheapest is kept.
    """
    n, d = X.shape
    singles: dict[int, list[tuple[str, np.ndarray, float]]] = {i: [] for i in range(d)}
    with np.errstate(all="ignore"):
        for i in range(d):
            x = X[:, i]
            for u in unary_names:
                fn = UNARY[u]
                if not fn.domain(x):
                    continue
                values = fn.numpy(x)
                if np.all(np.isfinite(values)):
                    singles[i].append((u, values, float(np.max(np.abs(values)))))
    usable = [i for i in range(d) if singles[i]]
    n_unary = max((len(singles[i]) for i in usable), default=0)
    k_max = min(max_factors, len(usable))
    while k_max > 1 and _library_size(len(usable), n_unary, k_max) > max_columns:
        k_max -= 1
    size = max(_library_size(len(usable), n_unary, k_max), 1)
    n_sel = min(n, MAX_SELECTION_SAMPLES, max(_MIN_SELECTION_SAMPLES, _MAX_SELECTION_CELLS // size))
    sel = np.sort(gen.choice(n, size=n_sel, replace=False)) if n_sel < n else None
    if sel is not None:
        singles = {i: [(u, v[sel], peak) for u, v, peak in singles[i]] for i in singles}

    specs: list[tuple[Factor, ...]] = []
    costs: list[int] = []
    columns: list[np.ndarray] = []
    for k in range(1, k_max + 1):
        for variables in itertools.combinations(usable, k):
            for combo in itertools.product(*(singles[i] for i in variables)):
                peak = float(np.prod([c[2] for c in combo]))
                if not peak <= 1e300:  # (also NaN) could overflow somewhere on X
                    continue
                col = combo[0][1]
                for c in combo[1:]:
                    col = col * c[1]
                specs.append(tuple((i, c[0]) for i, c in zip(variables, combo, strict=True)))
                costs.append(sum(UNARY[c[0]].cost for c in combo))
                columns.append(col)
    if not columns:
        return [], np.zeros((n_sel, 0)), sel
    # Cheapest first (stable: fewer factors first among equals), so dedupe keeps the simplest.
    order = np.argsort(np.asarray(costs), kind="stable")
    specs = [specs[j] for j in order]
    Z = np.stack([columns[j] for j in order], axis=1)
    del columns
    raw_norms = np.linalg.norm(Z, axis=0)
    Z -= Z.mean(axis=0)
    norms = np.linalg.norm(Z, axis=0)
    ok = norms > 1e-9 * raw_norms  # not constant (up to rounding)
    Z = Z[:, ok] / norms[ok]
    specs = [s for s, keep in zip(specs, ok, strict=True) if keep]
    keep = _distinct_columns(Z)
    return [specs[j] for j in keep], Z[:, keep], sel


def _distinct_columns(Z: np.ndarray, atol: float = 1e-9) -> list[int]:
    """Indices of the columns of unit-norm ``Z`` that are not (up to sign) an earlier column.

    Candidates are found by sorting on ``|probe . z|`` for a fixed random ``probe`` (equal
    columns give equal values) and confirmed element by element.
    """
    m = Z.shape[1]
    if m < 2:
        return list(range(m))
    probe = np.random.default_rng(12345).standard_normal(Z.shape[0])
    key = np.abs(_t_matvec(Z, probe))
    order = np.argsort(key, kind="stable")
    close = np.diff(key[order]) <= 1e-7 * np.linalg.norm(probe)
    dropped = np.zeros(m, dtype=bool)
    # Runs of consecutive sorted columns with (nearly) equal keys.
    starts = np.flatnonzero(np.concatenate(([True], ~close)))
    stops = np.concatenate((starts[1:], [m]))
    for start, stop in zip(starts, stops, strict=True):
        if stop - start < 2:
            continue
        group = np.sort(order[start:stop])  # earlier (cheaper) first
        for pos, a in enumerate(group):
            if dropped[a]:
                continue
            for b in group[pos + 1 :]:
                if not dropped[b]:
                    za, zb = Z[:, a], Z[:, b]
                    dropped[b] = min(np.max(np.abs(za - zb)), np.max(np.abs(za + zb))) <= atol
    return [int(j) for j in np.flatnonzero(~dropped)]


def _snap_support(
    X: np.ndarray,
    y: np.ndarray,
    support: list[tuple[Factor, ...]],
    symbols: tuple[sympy.Symbol, ...],
    rms_y: float,
    tolerance: float,
    max_terms: int,
) -> LibraryFit | None:
    """Snap and check a support (plus the constant) on all the data; ``None`` if it fails."""
    specs: list[tuple[Factor, ...]] = [(), *support]
    with np.errstate(all="ignore"):
        design = np.column_stack([_column(X, s) for s in specs])
    if not np.all(np.isfinite(design)):
        return None
    result = fit_linear_combination(design, y, tolerance, max_terms=max_terms + 1)
    if result is None:
        return None
    keep, coefficients, rmse = result
    coefficients, rmse = _snap_logs(design[:, list(keep)], y, list(coefficients), rmse, tolerance * rms_y)
    kept = [specs[k] for k in keep]
    terms = tuple(_term_expr(symbols, s) for s in kept)
    expression = sympy.Add(*(c * t for c, t in zip(coefficients, terms, strict=True)))
    return LibraryFit(
        expression=expression,
        symbols=symbols,
        terms=terms,
        coefficients=tuple(coefficients),
        relative_error=rmse / rms_y,
        exact=not any(c.atoms(sympy.Float) for c in coefficients),
        factors=tuple(kept),
    )


def _snap_logs(
    design: np.ndarray, y: np.ndarray, coefficients: list[sympy.Expr], rmse: float, budget: float
) -> tuple[list[sympy.Expr], float]:
    """Try each ``sympy.Float`` coefficient as ``r * log(b)`` (``b`` in ``_LOG_BASES``).

    Guarded like polyfit's snapping: the tolerance is the coefficient's share of the error
    budget, and the rational ``r`` must be ``_LOG_MARGIN_BITS`` shorter than the precision it
    is matched to (the tolerance or the coefficient's standard error, whichever is coarser).
    The snapped coefficients are kept only if the fit still passes.
    """
    loose = [i for i, c in enumerate(coefficients) if c.atoms(sympy.Float)]
    if not loose:
        return coefficients, rmse
    n, m = design.shape
    values = np.array([float(c) for c in coefficients])
    col_rms = np.sqrt(np.mean(design**2, axis=0))
    scaled = design / col_rms
    resid = scaled @ (values * col_rms) - y
    sigma2 = float(resid @ resid) / max(n - m, 1)
    cov = np.clip(np.diag(np.linalg.pinv(scaled.T @ scaled)), 0.0, None)
    stderr = np.sqrt(sigma2 * cov) / col_rms
    share = budget / np.sqrt(m)
    snapped = list(coefficients)
    for i in loose:
        c = values[i]
        rel = min(1e-2, share / (abs(c) * col_rms[i]))
        precision = max(rel, float(stderr[i]) / abs(c), 1e-16)
        max_bits = float(np.log2(1.0 / precision)) - _LOG_MARGIN_BITS
        for base in _LOG_BASES:
            log_b = sympy.log(base)
            r = snap_constant_with_e(
                c / float(log_b), rel, pi_powers=(sympy.Integer(0),), e_powers=(0,), max_bits=max_bits
            )
            if r is not None:
                snapped[i] = r * log_b
                break
    if snapped == coefficients:
        return coefficients, rmse
    new_values = np.array([float(c) for c in snapped])
    new_rmse = float(np.sqrt(np.mean((design @ new_values - y) ** 2)))
    if new_rmse > budget:
        return coefficients, rmse
    return snapped, new_rmse


def _term_expr(symbols: tuple[sympy.Symbol, ...], factors: tuple[Factor, ...]) -> sympy.Expr:
    return sympy.Mul(*(UNARY[u].sympy(symbols[i]) for i, u in factors))
