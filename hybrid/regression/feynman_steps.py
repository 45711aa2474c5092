"""The AI-Feynman solver's steps: the shared records and the fits, searches and splits it tries.

:class:`SolverSteps` holds the steps one node of the recursion can take (linear fits of
``y`` and its transforms, brute force, the oracle's symmetries, compositions and
separability); :mod:`hybrid.regression.feynman_search` drives them;
:class:`~hybrid.regression.feynman.FeynmanRegressor` is the estimator around both.
Every step counts its symbolic work in ``_Context.work`` (plain numbers), which the
estimator reports to the meter.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np
import sympy

from hybrid.neural.regression.oracle import MLPOracle
from hybrid.symbolic.regression.bruteforce import brute_force, evaluate
from hybrid.symbolic.regression.composition import Composition, find_compositions, fit_inner
from hybrid.symbolic.regression.constants import polish_constants
from hybrid.symbolic.regression.library import fit_library
from hybrid.symbolic.regression.pareto import description_length
from hybrid.symbolic.regression.polyfit import fit_polynomial
from hybrid.symbolic.regression.rational import fit_rational
from hybrid.symbolic.regression.symmetry import find_scaling_symmetry, find_separability, find_translational_symmetry

#: A residual whose neighbour correlation (:func:`~hybrid.symbolic.regression.noise.residual_structure`)
#: is above this still depends on the inputs: the formula misses something.
STRUCTURE_THRESHOLD = 0.25
#: Errors below this are round-off: the formula is accepted without a structure test.
ROUNDOFF = 1e-9

#: Fits of a transformed target get this many times the tolerance (``1/y**2`` doubles
#: relative noise); what counts is the restored formula's error on ``y`` itself.
TRANSFORM_SLACK = 3.0

#: Constants longer than this (in bits) are refitted on ``y`` after an output transform is
#: undone: a fit of ``1/y**2`` weighs the points unlike ``y`` does, so its constants are
#: only approximately those of the law.
RESTORE_BITS = 6.0

#: A tolerance above this means noisy data: formulas are then chosen by description length.
NOISY = 1e-4

#: Formulas with more free constants than this are not refitted on noisy data.
MAX_REFIT_CONSTANTS = 8

#: On noisy data an accepted formula longer than this (in bits; the longest law of the
#: FSReD table takes 130) is a fit within the noise, not yet a law: the later stages
#: still run, and it competes with what they find.
LONG_FORMULA_BITS = 150.0

#: Highest numerator and denominator degree of the rational fit, by number of variables.
RATIONAL_DEGREES = {1: 4, 2: 4, 3: 3}

#: Most basis functions the library fit builds (columns of its design matrix).
LIBRARY_COLUMNS = 5000

#: Smallest sine tolerance of the compositionality test and of the inner search's match.
COMPOSITION_SINE = 0.005

#: Compositions tried per node, best first (each costs an inner search and a sub-problem).
COMPOSITIONS_TRIED = 3

#: Up to this many variables, y = F(g(all of them)) is tried too (the inner search's reach
#: shrinks fast with the number of variables).
FULL_COMPOSITION_VARIABLES = 5

#: Output transforms tried at every node, most useful first.
TRANSFORMS: tuple[str, ...] = ("square", "sqrt", "inverse", "log", "exp", "inverse_square", "arcsin", "sin", "cos")


#: Kinds of symbolic work a fit counts (``operations_``; reported to the meter):
#: ``candidates``: expressions evaluated on the data by the brute force and by the
#: composition's inner search (the unit the peers report); ``linear_fits``: polynomial,
#: rational and library fits tried (each a least-squares model selection); ``constant_fits``:
#: refits of a formula's constants on the data; ``oracle_calls``: points the neural oracle
#: evaluated; ``oracles_trained``: oracles trained.
WORK_KINDS: tuple[str, ...] = ("candidates", "linear_fits", "constant_fits", "oracle_calls", "oracles_trained")


@dataclass
class _Context:
    deadline: float
    tolerance: float
    operators: tuple[str, ...]
    rng: np.random.Generator
    device: str
    seed: int
    use_oracle: bool
    max_depth: int
    #: Where :meth:`FeynmanRegressor._fits` leaves every formula it accepted (noisy data only).
    pool: list | None = None
    #: ``|y / target|`` of the formulation being solved, on noisy data (else ``None``).
    weights: np.ndarray | None = None
    counter: itertools.count = field(default_factory=itertools.count)
    #: Symbolic work, by kind (see :data:`WORK_KINDS`).
    work: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WORK_KINDS, 0))

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def fresh(self) -> sympy.Symbol:
        return sympy.Symbol(f"u{next(self.counter)}", real=True)


@dataclass(frozen=True)
class _Found:
    expression: sympy.Expr
    error: float
    steps: tuple[str, ...]
    exact: bool


def _rel_error(pred: np.ndarray | None, y: np.ndarray) -> float:
    if pred is None:
        return math.inf
    return float(np.sqrt(np.mean((pred - y) ** 2)) / (np.sqrt(np.mean(y**2)) or 1.0))


def _mdl(expr: sympy.Expr, error: float, n: int) -> float:
    """Bits to send ``expr`` and then its residual on ``n`` points (at most 1000 counted)."""
    return description_length(expr) + min(n, 1000) / 2 * math.log2(max(error, 1e-15) ** 2)


def _transform_slack(tr, t: np.ndarray, ty: np.ndarray, weights: np.ndarray) -> float:
    """How many times ``t``'s tolerance a fit of ``ty = T(t)`` needs, by propagating the noise.

    The measured output is ``weights * t`` with noise of one size everywhere; ``T(t)``'s
    noise at each point is ``|T'(t)| / weights`` times it. The ratio of the two relative
    RMS noises (at least 1) is returned; :data:`TRANSFORM_SLACK` where ``T'`` is not finite.
    """
    rms = lambda a: float(np.sqrt(np.mean(a**2)))  # noqa: E731
    h = 1e-6 * np.maximum(np.abs(t), 1e-12)
    with np.errstate(all="ignore"):
        deriv = (tr.forward(t + h) - tr.forward(t - h)) / (2 * h)
        scale_t = rms(1.0 / weights) / rms(t)
        scale_ty = rms(deriv / weights) / rms(ty)
    ratio = scale_ty / scale_t
    return max(ratio, 1.0) if np.isfinite(ratio) else TRANSFORM_SLACK


def _transformed(y: np.ndarray, transforms):
    """Each transform that applies to ``y`` (sign-oriented), with ``T(y)`` when finite and not constant."""
    for tr in transforms:
        tr = tr.oriented(y)
        if not tr.applies(y):
            continue
        with np.errstate(all="ignore"):
            ty = tr.forward(y)
        if np.all(np.isfinite(ty)) and np.ptp(ty) > 0:
            yield tr, ty


def _free_long_constants(expr: sympy.Expr, max_bits: float = 12.0) -> sympy.Expr:
    """Replace numbers that take more than ``max_bits`` to write (e.g. ``2401/(31*e*pi**3)``) by floats."""
    def long(node) -> bool:
        return bool(node.is_number and not node.is_Integer and description_length(node) > max_bits)

    replacements = {}
    for node in sympy.preorder_traversal(expr):
        if node.is_number and long(node) and not any(node in r.args for r in replacements):
            replacements[node] = sympy.Float(float(node), 15)
    return expr.xreplace(replacements) if replacements else expr


#: The largest exponent (numerator or denominator) ``_tidy`` lets cancel and factor see.
MAX_TIDY_EXPONENT = 12
#: The largest integer (a rational's numerator or denominator) ``_tidy`` lets them see.
MAX_TIDY_INTEGER = 10**6


def _tidy_safe(expr: sympy.Expr) -> bool:
    """Whether ``cancel`` and ``factor`` of ``expr`` stay small: small exponents and small integers.

    Both build dense polynomials over every generator (``x**(p/q)`` becomes degree ``p`` in
    ``x**(1/q)``; ``pi`` and ``E`` are generators too) and multiply their coefficients out.
    On a generated formula, ``factor`` of ``exp((-11514154531*pi**2*x1/7 - ...)/(...))``, a
    fallback fit with 10-digit constants, took 23 GB before the kernel killed the process.
    """
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Pow) and node.exp.is_Rational:
            if abs(node.exp.p) > MAX_TIDY_EXPONENT or node.exp.q > MAX_TIDY_EXPONENT:
                return False
        elif node.is_Rational and (abs(node.p) > MAX_TIDY_INTEGER or node.q > MAX_TIDY_INTEGER):
            return False
    return True


def _tidy(expr: sympy.Expr, symbols, X: np.ndarray) -> sympy.Expr:
    """The shortest of ``expr`` and its cancelled and factored forms that agrees with it on ``X``.

    A ratio restored from dimensionless groups, ``r1*(m1*r1/(m2*r2) + 1)/(m1*r1/(m2*r2) + r1/r2)``,
    reads ``(m1*r1 + m2*r2)/(m1 + m2)`` after ``cancel``.
    """
    if sympy.count_ops(expr) > 80 or not _tidy_safe(expr):  # sympy's rewriting grows fast
        return expr
    best, best_len = expr, description_length(expr)
    reference = evaluate(expr, symbols, X[:50])
    for rewrite in (lambda e: sympy.cancel(sympy.together(e)), sympy.factor):
        try:
            form = rewrite(expr)
        except (sympy.PolynomialError, TypeError, ValueError):
            continue
        length = description_length(form)
        if length < best_len:
            values = evaluate(form, symbols, X[:50])
            if reference is not None and values is not None and np.allclose(values, reference, rtol=1e-9, atol=0):
                best, best_len = form, length
    return best


def _split_exp(expr: sympy.Expr) -> sympy.Expr:
    """``exp(a + c) -> exp(c) * exp(a)``, so a float inside an exponential becomes a factor."""
    return expr.replace(
        lambda e: isinstance(e, sympy.exp) and e.args[0].is_Add,
        lambda e: sympy.Mul(*[sympy.exp(t) for t in e.args[0].args]),
    )


class SolverSteps:
    """The steps of one node of the recursion (a mixin of the solver; it keeps no state of its own).

    It reads ``self.max_degree`` and writes candidates to ``self.pareto_front_``.
    """

    def _fits(self, X, y, syms, names, ctx, tol, transforms, consider, pool=None, weights=None) -> _Found | None:
        """Linear-in-the-coefficients fits of ``y`` and its transforms; the solution, or None.

        Polynomials first, then ratios of polynomials, then sparse sums over a library
        of basis functions (each a wider net, so a later fit only runs where the earlier
        ones failed). ``tol()`` is the current tolerance: a candidate rejected for a
        structured residual lowers it, and the fit that produced it is tried again.

        On exact data the first accepted formula is the answer. On noisy data (a
        tolerance above :data:`NOISY`) an approximation can fit as well as the law, so
        every fit runs and the accepted formula of least description length wins; all the
        accepted ones, and those within tolerance whose constants did not snap, go to
        ``pool`` (if given), for the caller to judge on the measured y.
        ``weights`` (noisy measured data only) map ``y`` to the measured output, whose noise
        is even: they give each transform the tolerance its propagated noise calls for.
        """
        noisy = tol() > NOISY
        accepted: list[_Found] = []

        def take(candidate: _Found | None) -> bool:
            if not consider(candidate):
                # Within tolerance but with float constants: refitted on y, they may snap there.
                if pool is not None and candidate is not None and not candidate.exact and candidate.error <= tol():
                    pool.append(candidate)
                return False
            accepted.append(candidate)
            return not noisy or candidate.error <= ROUNDOFF  # exact to round-off: nothing beats it

        for fitter in (self._polyfit, self._rational, self._library):
            for _ in range(3):
                before = tol()
                if take(fitter(X, y, syms, names, before, ctx)):
                    return accepted[-1]
                if tol() >= before or ctx.left() <= 0:
                    break
            for tr, ty in _transformed(y, transforms):
                if ctx.left() <= 0:
                    break
                # A transform changes the noise's size; the restored formula is judged on y.
                slack = TRANSFORM_SLACK if weights is None else _transform_slack(tr, y, ty, weights)
                fit = fitter(X, ty, syms, names, slack * tol(), ctx)
                if fit is not None and take(self._restored(tr, fit, X, y, syms, tol(), fit.steps, ctx)):
                    return accepted[-1]
        accepted = [c for c in accepted if c.error <= tol()]  # the tolerance may have dropped since
        if pool is not None:
            pool.extend(accepted)
        return min(accepted, key=lambda c: description_length(c.expression)) if accepted else None

    def _short_brute(self, X, y, syms, names, ctx, depth, tol, transforms, consider) -> bool:
        """A brute force with a short budget on ``y``, then on its transforms; True once solved."""
        # at least 2 s (a brute force needs that to reach useful lengths), but never past the deadline
        share = min(max(ctx.left() / 10, 2.0), 10.0 if depth == 0 else 5.0, max(ctx.left(), 0.1))
        if consider(self._brute(X, y, syms, names, ctx, tol(), share)):
            return True
        for tr, ty in _transformed(y, transforms):
            if ctx.left() <= 1:
                return False
            fit = self._brute(X, ty, syms, names, ctx, tol(), min(share / 3, 5.0))
            if fit is not None and fit.error <= tol():
                if consider(self._restored(tr, fit, X, y, syms, tol(), ("bruteforce",), ctx)):
                    return True
        return False

    def _polyfit(self, X, y, syms, names, tol, ctx) -> _Found | None:
        ctx.work["linear_fits"] += 1
        fit = fit_polynomial(X, y, max_degree=self.max_degree, variable_names=names, tolerance=tol)
        return self._linear_found(fit, names, syms, "polyfit")

    def _rational(self, X, y, syms, names, tol, ctx) -> _Found | None:
        ctx.work["linear_fits"] += 1
        # Few variables leave room for higher degrees at the same number of coefficients.
        degree = min(self.max_degree, RATIONAL_DEGREES.get(X.shape[1], 2))
        fit = fit_rational(X, y, max_degree=degree, max_denominator_degree=degree,
                           variable_names=names, tolerance=tol)
        return self._linear_found(fit, names, syms, "rational")

    def _library(self, X, y, syms, names, tol, ctx) -> _Found | None:
        ctx.work["linear_fits"] += 1
        fit = fit_library(X, y, variable_names=names, tolerance=tol, max_factors=3 if X.shape[1] <= 3 else 2,
                          max_columns=LIBRARY_COLUMNS, rng=ctx.rng)
        return self._linear_found(fit, names, syms, "library")

    @staticmethod
    def _linear_found(fit, names, syms, step: str) -> _Found | None:
        """A fit's expression (over ``names``) as a :class:`_Found` over ``syms``."""
        if fit is None:
            return None
        expr = fit.expression.xreplace({sympy.Symbol(n, real=True): s for n, s in zip(names, syms, strict=True)})
        return _Found(expr, float(fit.relative_error), (step,), not expr.atoms(sympy.Float))

    def _brute(self, X, y, syms, names, ctx, tol, budget) -> _Found | None:
        res = brute_force(
            X, y, variable_names=names, operators=ctx.operators, time_budget_s=max(budget, 0.1),
            tolerance=tol, rng=ctx.rng,
        )
        ctx.work["candidates"] += res.evaluated
        mapping = {sympy.Symbol(n, real=True): s for n, s in zip(names, syms, strict=True)}
        if res.best is not None:
            return _Found(res.best.expression.xreplace(mapping), res.best.error, ("bruteforce",), True)
        best = None
        for c in res.candidates:
            f = _Found(c.expression.xreplace(mapping), c.error, ("bruteforce",), c.exact_constants)
            if best is None or f.error < best.error:
                best = f
        return best

    def _restored(self, tr, fit: _Found, X, y, syms, tol, steps, ctx: _Context | None = None) -> _Found | None:
        """Undo the output transform and refit the constants on the untransformed data.

        A constant that was exact for ``T(y)`` need not be for ``y`` (``log y = -x**2/2 + c``
        means ``y = e**c * exp(-x**2/2)``): constants that are not short are freed as
        floats, ``exp`` of a sum is split, and the constants are refitted and snapped.
        """
        expr = _split_exp(tr.inverse(_free_long_constants(fit.expression, max_bits=RESTORE_BITS)))
        if ctx is not None:
            ctx.work["constant_fits"] += 1
        expr, err, exact = polish_constants(expr, syms, X, y, snap_tolerance=max(1e-6, tol / 10))
        return _Found(expr, err, (*steps, f"transform({tr.name})"), exact)

    def _oracle(self, X, y, ctx: _Context):
        oracle = MLPOracle(seed=ctx.seed, device=ctx.device, max_seconds=min(60.0, max(ctx.left() / 3, 5.0)))
        oracle.fit(X, y)
        ctx.work["oracles_trained"] += 1

        def call(Q: np.ndarray) -> np.ndarray:
            ctx.work["oracle_calls"] += len(Q)
            return oracle(Q)

        call.relative_error_ = oracle.relative_error_  # type: ignore[attr-defined]
        return call

    def _decompose(self, X, y, syms, ctx: _Context, depth: int, oracle, tolerance, real) -> _Found | None:
        """Symmetries (same data, one variable fewer), then separability (oracle data)."""
        tol = ctx.tolerance if tolerance is None else tolerance
        if oracle is None:
            oracle = self._oracle(X, y, ctx)
        o_tol = max(tol, 5 * getattr(oracle, "relative_error_", 1e-3), 1e-4)
        # symmetries: one variable fewer, same (real) data
        syms_found = []
        syms_found += find_translational_symmetry(oracle, X, tolerance=o_tol)
        syms_found += find_scaling_symmetry(oracle, X, tolerance=o_tol)
        syms_found.sort(key=lambda s: s.error)
        for sym in syms_found[:3]:
            if ctx.left() <= 2:
                return None
            Xr = sym.apply(X)
            new = ctx.fresh()
            rsyms = self._reduced_symbols(syms, sym, new)
            sub = self._solve(Xr, y, rsyms, ctx, depth + 1, sym.lift(oracle), tolerance, real=real)
            if sub is None:
                continue
            expr = sub.expression.xreplace({new: sym.combine(syms[sym.i], syms[sym.j])})
            err = _rel_error(evaluate(expr, syms, X), y)
            found = _Found(expr, err, (f"symmetry({sym.kind})", *sub.steps), sub.exact)
            if found.exact and err <= (ctx.tolerance if tolerance is None else tolerance):
                return found
        found = self._compose(X, y, syms, ctx, depth, oracle, tolerance, real)
        if found is not None:
            return found
        # separability: two smaller problems on oracle data
        seps = find_separability(oracle, X, tolerance=o_tol, rng=ctx.rng)
        for sep in seps[:2]:
            if ctx.left() <= 2:
                return None
            (XL, yL), (XR, yR) = sep.split(oracle, X)
            oL, oR = sep.sub_oracles(oracle)
            sub_tol = max(o_tol, tol)
            lsyms = tuple(syms[k] for k in sep.left)
            rsyms = tuple(syms[k] for k in sep.right)
            left = self._solve(XL, yL, lsyms, ctx, depth + 1, oL, sub_tol, real=False)
            if left is None or left.error > 10 * sub_tol:
                continue
            right = self._solve(XR, yR, rsyms, ctx, depth + 1, oR, sub_tol, real=False)
            if right is None or right.error > 10 * sub_tol:
                continue
            combined = self._with_free_constants(sep.combine(left.expression, right.expression), sep.kind)
            ctx.work["constant_fits"] += 1
            expr, err, exact = polish_constants(combined, syms, X, y, snap_tolerance=max(1e-6, tol / 10))
            found = _Found(expr, err, (f"separable({sep.kind})", *left.steps, *right.steps), exact)
            if np.isfinite(err) and depth == 0:
                self.pareto_front_.add(expr, err, source="+".join(found.steps))
            if exact and err <= tol:
                return found
        return None

    def _compose(self, X, y, syms, ctx: _Context, depth: int, oracle, tolerance, real) -> _Found | None:
        """Compositionality (AI Feynman 2.0): ``y = F(g(x_S), x_rest)``, ``g`` from the oracle's gradients.

        For the subsets the gradient test finds (best first), the inner ``g`` is searched by
        gradient direction, the subset's columns are replaced by ``u = g(x_S)`` on the same
        (real) data, and ``F`` is solved as a problem with ``|S| - 1`` fewer variables.
        """
        tol = ctx.tolerance if tolerance is None else tolerance
        noise = getattr(oracle, "relative_error_", 1e-3)
        # A composition's gradient directions agree to about a few times the oracle's error.
        comps = find_compositions(oracle, X, tolerance=max(COMPOSITION_SINE, 5 * noise), rng=ctx.rng)[
            :COMPOSITIONS_TRIED]
        if X.shape[1] <= FULL_COMPOSITION_VARIABLES:
            # Last, the whole set: y = F(g(x)) with g shorter than y's formula (the gravitational
            # redshift is F(G*M/(r*c**2))); the test is vacuous here, the inner search decides.
            comps.append(Composition(tuple(range(X.shape[1])), 0.0))
        names = [s.name for s in syms]
        by_name = {sympy.Symbol(s.name, real=True): s for s in syms}
        for comp in comps:
            if ctx.left() <= 5:
                return None
            inner = fit_inner(oracle, X, comp.subset, names, tolerance=max(COMPOSITION_SINE, 2 * comp.error),
                              time_budget_s=min(10.0, ctx.left() / 4), rng=ctx.rng, work=ctx.work)
            if inner is None:
                continue
            g = inner[0].xreplace(by_name)
            u = evaluate(g, syms, X)
            if u is None or np.ptp(u) <= 1e-12 * max(float(np.max(np.abs(u))), 1e-300):
                continue
            new = ctx.fresh()
            rsyms = tuple(new if k == comp.subset[0] else s for k, s in enumerate(syms) if k not in comp.subset[1:])
            sub = self._solve(comp.apply(X, u), y, rsyms, ctx, depth + 1, None, tolerance, real=real)
            if sub is None:
                continue
            expr = sub.expression.xreplace({new: g})
            err = _rel_error(evaluate(expr, syms, X), y)
            found = _Found(expr, err, ("composition", *sub.steps), sub.exact)
            if np.isfinite(err) and depth == 0:
                self.pareto_front_.add(expr, err, source="+".join(found.steps))
            if found.exact and err <= tol:
                return found
        return None

    @staticmethod
    def _reduced_symbols(syms, sym, new):
        """Symbols of ``sym.apply(X)``'s columns: column i becomes ``new``, column j is dropped."""
        out = list(syms)
        out[sym.i] = new
        del out[sym.j]
        return tuple(out)

    @staticmethod
    def _with_free_constants(expr: sympy.Expr, kind: str) -> sympy.Expr:
        """``a*expr + b`` (additive) or ``a*expr`` (multiplicative) with float seeds to refit."""
        if kind == "add":
            return sympy.Float(1.0) * expr + sympy.Float(0.0)
        return sympy.Float(1.0) * expr
