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
from hybrid.symbolic.regression.polyfit import fit_linear_combination
from hybrid.symbolic.regression.snapping import snap_constant_with_e
from hybrid.tasks.arrays import check_variable_names, check_X, check_xy


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
# Partial supports kept at each step of the beam search.
BEAM_WIDTH = 10
# Single columns kept after the first step: a wider first step is cheap, and the right first
# column is often far down the list (``x0**2 + 3*x1`` is best matched by ``x0*sqrt(x1)``).
FIRST_BEAM_WIDTH = 20
# ... and the best few of each group of columns using the same input variables.
FIRST_PER_GROUP = 2
# Snapping a support costs milliseconds (tens when it fails): at most this many of the
# supports that fit are snapped per number of terms, and this many in all.
SNAPS_PER_STEP = 3
MAX_SNAPS = 6
# Columns taken by greedy forward selection before backward elimination (at least; or
# 8 per allowed term).
FORWARD_COLUMNS = 48
# Backward elimination starts from at most this many columns (it costs a small QR per column);
# the pool for additive models is every single-factor column plus this many products.
MAX_ELIMINATION_COLUMNS = 64
ELIMINATION_PRODUCTS = 16
# A column whose part orthogonal to the current support is below this (unit-norm columns)
# is taken as already in its span.
_SPAN_EPS = 1e-6
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
    if not (isinstance(tolerance, (int, float, np.floating)) and tolerance > 0 and np.isfinite(tolerance)):
        raise ValueError(f"tolerance must be a positive number, got {tolerance!r}")
    for name, value in (("max_factors", max_factors), ("max_terms", max_terms), ("max_columns", max_columns)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
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


def _t_matvec(Z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Z.T @ v`` without BLAS: a multithreaded BLAS on a loaded machine can be 100x slower
    on these mid-sized products than this single-threaded loop."""
    return np.einsum("ij,i->j", Z, v)


class _State:
    """A partial support in forward selection: an orthonormal basis ``Q`` of its (centred,
    unit-norm) columns and the residual of the centred target. :meth:`proj` gives each
    library column's squared norm inside that span (``sum((Q.T @ Z)**2, axis=0)``),
    computed on first use (a pass over the library; leaves of the search never need it)."""

    __slots__ = ("support", "Q", "resid", "_parent", "_proj")

    def __init__(self, support: frozenset[int], Q: np.ndarray, resid: np.ndarray, parent: _State | None = None):
        self.support = support
        self.Q = Q
        self.resid = resid
        self._parent = parent
        self._proj: np.ndarray | None = None

    def proj(self, Z: np.ndarray) -> np.ndarray:
        if self._proj is None:
            if self._parent is None:
                self._proj = np.zeros(Z.shape[1])
            else:
                self._proj = self._parent.proj(Z) + _t_matvec(Z, self.Q[:, -1]) ** 2
                self._parent = None
        return self._proj


def _candidate_supports(
    Z: np.ndarray,
    y: np.ndarray,
    rms_y: float,
    tolerance: float,
    depth: int,
    costs: np.ndarray,
    groups: np.ndarray,
    n_factors: np.ndarray,
):
    """Yield ``(k, supports)`` for ``k = 0 .. depth``: the supports of ``k`` columns (plus the
    constant) found to fit, smallest residual first (possibly none).

    A support fits if the RMS of its least-squares residual on the selection samples is
    within ``tolerance * rms_y`` (``rms_y``: the target's RMS on all the data). Candidates
    come from a beam search (:func:`_beam_search`) and from forward selection of many
    columns followed by backward elimination (:func:`_forward_backward`); the two fail on
    different problems. Supports whose residual is negligible (a thousandth of the limit)
    are ordered by total cost (``costs``, per column), the rest by residual.
    """
    n_sel = Z.shape[0]
    limit = tolerance * rms_y * np.sqrt(n_sel)
    r0 = y - y.mean()
    backward = _forward_backward(Z, r0, limit, depth, max(FORWARD_COLUMNS, 8 * depth))
    # Additive models, with perhaps a few products: elimination from all single-factor
    # columns plus the products that best match the target alone (or, when that is too many,
    # from those of them chosen by forward selection).
    single = np.flatnonzero(n_factors == 1)
    products = np.flatnonzero(n_factors > 1)
    if products.size:
        products = products[np.argsort(-(_t_matvec(Z[:, products], r0) ** 2), kind="stable")[:ELIMINATION_PRODUCTS]]
    pool = np.concatenate([single, products])
    if pool.size <= min(MAX_ELIMINATION_COLUMNS, n_sel - 2):
        additive = _all_then_backward(Z, r0, pool, limit, depth)
    else:
        additive = {
            k: [(err, frozenset(int(pool[j]) for j in sup)) for err, sup in fits]
            for k, fits in _forward_backward(Z[:, pool], r0, limit, depth, MAX_ELIMINATION_COLUMNS).items()
        }
    for k, fits in additive.items():
        backward.setdefault(k, []).extend(fits)
    beam = _beam_search(Z, r0, limit, depth, groups)
    for k in range(depth + 1):
        found = next(beam, []) + backward.get(k, [])
        # Residuals far below the limit are rounding noise: there the cheaper support goes first.
        found.sort(key=lambda f: (max(f[0], 1e-3 * limit), int(costs[list(f[1])].sum()), sorted(f[1])))
        yield k, list(dict.fromkeys(support for _, support in found))


def _beam_search(Z: np.ndarray, r0: np.ndarray, limit: float, depth: int, groups: np.ndarray):
    """Beam search of orthogonal forward selection from the centred target ``r0``.

    Yields, for ``k = 0, 1, ...`` up to ``depth`` (stopping early when no branch is left),
    the ``(residual norm, support)`` of the ``k``-column supports whose residual norm is
    within ``limit``. Each step scores every column for every kept support by the residual
    it would leave, ``|r|^2 - (z.r)^2 / |z_perp|^2`` (order-recursive matching pursuit),
    keeps the :data:`BEAM_WIDTH` best new supports that do not fit yet, and sets aside (up
    to :data:`BEAM_WIDTH`) those that do. The first step keeps more: the
    :data:`FIRST_BEAM_WIDTH` best columns, and the :data:`FIRST_PER_GROUP` best of each
    group (``groups``: the set of input variables a column uses), up to twice
    :data:`FIRST_BEAM_WIDTH` in all, so that additive models (``x0 + x1``, whose terms
    correlate less with ``y`` than products such as ``x0*sqrt(x1)`` do) can start.
    """
    n_sel, m = Z.shape
    yield [(float(np.linalg.norm(r0)), frozenset())] if np.linalg.norm(r0) <= limit else []
    root = _State(frozenset(), np.zeros((n_sel, 0)), r0)
    if depth < 1:
        return
    children = [(root, j) for j in _first_columns(_gains(Z, root), groups)]
    for step in range(depth):
        seen: set[frozenset[int]] = set()
        fitting: list[tuple[float, frozenset[int]]] = []
        beam: list[_State] = []
        width = len(children) if step == 0 else BEAM_WIDTH
        for parent, j in children:
            if len(beam) >= width:  # (candidates that fit come first: smallest residual)
                break
            support = parent.support | {j}
            if support in seen:
                continue
            seen.add(support)
            child = _extend(parent, Z, j, support)
            err = float(np.linalg.norm(child.resid))
            if err <= limit:
                if len(fitting) < BEAM_WIDTH:
                    fitting.append((err, support))
            else:
                beam.append(child)
        fitting.sort(key=lambda f: f[0])
        yield fitting
        if not beam or step + 1 == depth:
            return
        # Score every (state, column) by the residual it would leave.
        candidates: list[tuple[float, int, int]] = []
        for s, state in enumerate(beam):
            rr = float(state.resid @ state.resid)
            gain = _gains(Z, state)
            top = np.argsort(-gain, kind="stable")[: 2 * BEAM_WIDTH]
            candidates.extend((max(rr - float(gain[j]), 0.0), s, int(j)) for j in top if gain[j] >= 0)
        candidates.sort(key=lambda c: (c[0], c[2]))
        children = [(beam[s], j) for _, s, j in candidates]


def _first_columns(gain: np.ndarray, groups: np.ndarray) -> list[int]:
    """The first step's columns: see :func:`_beam_search`. Best first."""
    order = [int(j) for j in np.argsort(-gain, kind="stable") if gain[j] >= 0]
    picked = order[:FIRST_BEAM_WIDTH]
    taken = set(picked)
    per_group: dict[int, int] = {}
    extra: list[tuple[int, int]] = []  # (rank within its group, position in order)
    for pos, j in enumerate(order):
        g = int(groups[j])
        rank = per_group.get(g, 0)
        if rank < FIRST_PER_GROUP:
            per_group[g] = rank + 1
            if j not in taken:
                extra.append((rank, pos))
    extra.sort()
    picked += [order[pos] for _, pos in extra[:FIRST_BEAM_WIDTH]]
    return sorted(picked, key=lambda j: -gain[j])


def _gains(Z: np.ndarray, state: _State) -> np.ndarray:
    """For each column, the drop in squared residual norm from adding it to ``state``'s
    support (``-1`` for columns in the support or in its span)."""
    perp2 = 1.0 - state.proj(Z)
    corr = _t_matvec(Z, state.resid)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = np.where(perp2 > _SPAN_EPS**2, corr**2 / perp2, -1.0)
    if state.support:
        gain[list(state.support)] = -1.0
    return gain


def _forward_backward(
    Z: np.ndarray, r0: np.ndarray, limit: float, depth: int, n_forward: int
) -> dict[int, list[tuple[float, frozenset[int]]]]:
    """Greedy forward selection of up to ``n_forward`` columns, then backward elimination.

    Forward: orthogonal matching pursuit from the centred target ``r0`` until the residual
    is negligible (a thousandth of ``limit``) or ``n_forward`` columns (at most
    ``n_samples - 2``) are in. Then :func:`_backward`. With exact data, once the forward set
    contains the true columns, dropping any other column costs nothing, so elimination
    keeps the truth even where greedy selection is misled by correlated columns.
    """
    n_sel, m = Z.shape
    state = _State(frozenset(), np.zeros((n_sel, 0)), r0)
    order: list[int] = []
    for _ in range(min(n_forward, m, n_sel - 2)):
        gain = _gains(Z, state)
        j = int(np.argmax(gain))
        if gain[j] < 0:
            break
        order.append(j)
        state = _extend(state, Z, j, frozenset(order))
        if np.linalg.norm(state.resid) <= 1e-3 * limit:
            break
    return _backward(Z, r0, order, state.Q, limit, depth)


def _all_then_backward(
    Z: np.ndarray, r0: np.ndarray, columns: np.ndarray, limit: float, depth: int
) -> dict[int, list[tuple[float, frozenset[int]]]]:
    """Backward elimination (:func:`_backward`) from all of ``columns`` (fewer than the samples).

    The columns are orthonormalised in turn (Gram-Schmidt, twice), skipping any whose part
    outside the earlier ones is at rounding level. Used on the single-factor columns: a
    function of one variable can match another one's to 1e-8 on the data (``x`` from
    ``sqrt(x)``, ``log(x)``, ``1/x``, ...), too close for forward selection to tell apart,
    but not for elimination from the full set.
    """
    n_sel = Z.shape[0]
    Q = np.zeros((n_sel, len(columns)))
    kept: list[int] = []
    for j in columns:
        q = Z[:, j].copy()
        for _ in range(2):
            q -= Q[:, : len(kept)] @ (Q[:, : len(kept)].T @ q)
        norm = float(np.linalg.norm(q))
        if norm > 1e-12:  # (unit-norm columns)
            Q[:, len(kept)] = q / norm
            kept.append(int(j))
    return _backward(Z, r0, kept, Q[:, : len(kept)], limit, depth)


def _backward(
    Z: np.ndarray, r0: np.ndarray, order: list[int], Q: np.ndarray, limit: float, depth: int
) -> dict[int, list[tuple[float, frozenset[int]]]]:
    """Backward elimination from the columns ``order`` of ``Z``, with orthonormal basis ``Q``.

    Repeatedly drops the column whose removal raises the residual least
    (``coef_i^2 / [(A^T A)^-1]_ii``), all computed in the basis ``Q`` (a small QR of the kept
    columns' coordinates in it). Returns ``{k: [(residual norm, support)]}`` for the sizes
    ``k <= depth`` whose support fits within ``limit``.
    """
    out: dict[int, list[tuple[float, frozenset[int]]]] = {}
    if not order:
        return out
    # Z[:, order] = Q @ R and r0 = Q @ b + (a part outside the span, of squared norm outside2).
    R = np.einsum("ij,ik->jk", Q, Z[:, order])
    b = np.einsum("ij,i->j", Q, r0)
    outside = r0 - Q @ b
    outside2 = float(outside @ outside)
    kept = list(range(len(order)))
    while kept:
        Rk = R[:, kept]
        Qk, Tk = np.linalg.qr(Rk)
        try:
            coef = np.linalg.solve(Tk, Qk.T @ b)
            T_inv = np.linalg.inv(Tk)
        except np.linalg.LinAlgError:
            break
        if len(kept) <= depth:
            err = float(np.sqrt(outside2 + np.sum((b - Rk @ coef) ** 2)))
            if err <= limit:
                out[len(kept)] = [(err, frozenset(order[i] for i in kept))]
        cost = coef**2 / np.sum(T_inv**2, axis=1)  # [(A^T A)^-1]_ii = |row i of T^-1|^2
        del kept[int(np.argmin(cost))]
    return out


def _extend(parent: _State, Z: np.ndarray, j: int, support: frozenset[int]) -> _State:
    """``parent`` with column ``j`` added (Gram-Schmidt, twice for stability)."""
    q = Z[:, j].copy()
    for _ in range(2):
        if parent.Q.shape[1]:
            q -= parent.Q @ (parent.Q.T @ q)
    q /= np.linalg.norm(q)
    resid = parent.resid - (q @ parent.resid) * q
    return _State(support, np.column_stack([parent.Q, q]), resid, parent)


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
