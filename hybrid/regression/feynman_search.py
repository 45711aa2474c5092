"""The AI-Feynman solver's driver: formulations (with and without units), stages, the recursion.

:class:`SolverSearch` runs one search over ``(X, y)``: it builds the formulations
(dimensionless groups when units are given, the raw variables always), runs the stages
(linear fits, a short brute force, the oracle's decompositions, a long brute force) on
each, and leaves the chosen formula, the Pareto front and the work counted on the
estimator. The steps themselves are in :mod:`hybrid.regression.feynman_steps`.
"""

from __future__ import annotations

import math
import time

import numpy as np
import sympy

from hybrid.regression.feynman_steps import (
    LONG_FORMULA_BITS,
    MAX_REFIT_CONSTANTS,
    NOISY,
    ROUNDOFF,
    STRUCTURE_THRESHOLD,
    TRANSFORMS,
    SolverSteps,
    _Context,
    _Found,
    _mdl,
    _rel_error,
    _tidy,
)
from hybrid.symbolic.regression.bruteforce import evaluate, snap_number
from hybrid.symbolic.regression.constants import free_coefficients, polish_constants, snap_within_uncertainty
from hybrid.symbolic.regression.dimensional import dimensional_reduction
from hybrid.symbolic.regression.noise import estimate_noise, residual_structure, structured_share
from hybrid.symbolic.regression.pareto import ParetoFront, description_length
from hybrid.symbolic.regression.transforms import OUTPUT_TRANSFORMS
from hybrid.tasks.arrays import check_variable_names


class SolverSearch(SolverSteps):
    """The search of :class:`~hybrid.regression.feynman.FeynmanRegressor` (a mixin: the estimator's
    parameters are read from ``self``, its fitted attributes are written to ``self``).
    """

    def _search(self, X, y, input_units, output_units, operators, warm: list[_Found] | None = None) -> None:
        """Search ``y = f(X)`` over ``self.symbols_``; sets ``expression_``, ``error_``, ``steps_``,
        ``solved_``, ``tolerance_``, ``noise_``, ``operations_``, ``seconds_`` and ``pareto_front_``.

        ``warm`` (warm start) are formulas of an earlier fit over the same variables: they
        are re-scored on this data and seed the Pareto front; if the first of them is
        accepted on this data (exact constants, within tolerance, a residual like noise),
        the stages are skipped.
        """
        n = X.shape[0]
        start = time.perf_counter()
        ctx = _Context(
            deadline=start + float(self.time_budget_s),
            tolerance=0.0,
            operators=operators,
            rng=np.random.default_rng(self.seed),
            device=self.device,
            seed=self.seed,
            use_oracle=self.use_oracle,
            max_depth=self.max_depth,
        )
        self.pareto_front_ = ParetoFront()
        found = None
        reduction = None
        if input_units is not None:
            reduction = dimensional_reduction(input_units, output_units)
            with np.errstate(all="ignore"):
                Z = reduction.groups(X) if reduction.n_groups else np.zeros((n, 0))
                t = reduction.reduce_target(X, y)
            if not (np.all(np.isfinite(Z)) and np.all(np.isfinite(t))):
                reduction = None  # e.g. fractional powers of negative inputs: work without units
        # Each formulation: [data, targets, symbols, tolerance, restore-to-original-variables,
        # scale]. On noisy data the tolerance of every formulation is ``y_tol * scale``:
        # one noise level, that of the measured y, read in the formulation's own target.
        formulations = []
        raw_noise = estimate_noise(X, y)
        y_noise = raw_noise
        if reduction is not None:
            gsyms = tuple(ctx.fresh() for _ in range(reduction.n_groups))
            noise = estimate_noise(Z, t) if Z.shape[1] else self._constant_noise(t)
            # |prefactor| weighs t back into y's units, where the noise is the same everywhere.
            weight = np.abs(y / t) if np.all(t != 0) else np.abs(reduction.prefactor(X))
            y_noise = min(raw_noise, self._weighted_noise(Z, t, weight))
            t_scale = self._target_scale(t, weight)

            def restore(sub: _Found, reduction=reduction, gsyms=gsyms) -> _Found | None:
                expr = reduction.restore(sub.expression, list(gsyms), list(self.symbols_))
                return self._verified(expr, X, y, ctx, ("dimensional", *sub.steps), polish=not sub.exact)

            formulations.append([Z, t, gsyms, self._tolerance(noise), restore, t_scale])
            self.noise_ = noise
        formulations.append([X, y, self.symbols_, self._tolerance(raw_noise), lambda sub: sub, 1.0])
        if reduction is None:
            self.noise_ = raw_noise
        y_tol = self._tolerance(y_noise)
        noisy = y_tol > NOISY
        if noisy:
            self.noise_ = y_noise
            for f in formulations:
                f[3] = y_tol * f[5]

        verdicts: dict[tuple[str, float], bool] = {}

        def weights_of(target: np.ndarray) -> np.ndarray:
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.abs(y / target)
            return w if np.all(np.isfinite(w)) and np.all(w > 0) else np.ones_like(y)

        def accepted(f: _Found | None) -> bool:
            if f is None or not (f.exact and f.error <= (y_tol if noisy else ctx.tolerance)):
                return False
            key = (sympy.srepr(f.expression), f.error)
            if key not in verdicts:
                verdicts[key] = self._noise_like(f.expression, self.symbols_, X, y, f.error)
            return verdicts[key]

        def done() -> bool:
            return accepted(found)

        # Cheap steps on every formulation first, then the oracle, then long searches:
        # a problem that polyfit solves raw is not held up by an oracle on its groups.
        # On noisy data every formulation's stage runs, and of the formulas accepted (each
        # refitted on y with its constants snapped within their error bars) the one of least
        # description length, counting the residual's bits, wins.
        solutions: list[_Found] = []
        reused = False
        for k, previous in enumerate(warm or ()):
            error = _rel_error(evaluate(previous.expression, self.symbols_, X), y)
            if not math.isfinite(error):
                continue
            again = _Found(previous.expression, error, previous.steps, previous.exact)
            self.pareto_front_.add(again.expression, error, source="+".join(again.steps))
            if k == 0:
                ctx.tolerance = y_tol if noisy else formulations[0][3]
                found, reused = again, accepted(again)
                if reused and noisy:
                    solutions.append(again)
        for stage in ("fits", "brute", "decompose", "long") if not reused else ():
            for formulation in formulations:
                Zf, tf, syms, tol, back, scale = formulation
                if (done() and not noisy) or ctx.left() <= 0:
                    break
                ctx.tolerance = tol
                ctx.pool = [] if noisy else None
                ctx.weights = weights_of(tf) if noisy else None
                if Zf.shape[1] == 0:
                    sub = self._constant(tf, ctx) if stage == "fits" else None
                else:
                    sub = self._solve(Zf, tf, syms, ctx, depth=0, oracle=None, stage=stage)
                # A candidate whose residual had structure showed the noise to be lower.
                if ctx.tolerance < tol:
                    if noisy:
                        y_tol = min(y_tol, ctx.tolerance / scale)
                        for f in formulations:
                            f[3] = min(f[3], y_tol * f[5])
                    else:
                        for f in formulations:
                            f[3] = min(f[3], ctx.tolerance)
                subs = [sub] if sub is not None else []
                subs += [c for c in ctx.pool or () if c is not sub]
                for each in subs:
                    candidate = back(each)
                    if candidate is not None and noisy:
                        candidate = self._refined(candidate, X, y)
                    if candidate is not None and (found is None or self._better(candidate, found)) \
                            and not (noisy and accepted(found)):
                        found = candidate
                    if noisy and accepted(candidate):
                        solutions.append(candidate)
            if solutions:
                found = min(solutions, key=lambda f: _mdl(f.expression, f.error, len(y)))
                if description_length(found.expression) <= LONG_FORMULA_BITS:
                    break
        ctx.pool = None
        ctx.tolerance = y_tol if noisy else formulations[0][3]
        inputs = set(self.symbols_)
        for point in self.pareto_front_.points if found is None else ():
            # A point over a sub-problem's own variables (u0, u1, ... of a split) is not a
            # formula of X: predicting with it evaluated sympy objects (III.9.52 crashed).
            if point.expression.free_symbols <= inputs:
                found = _Found(point.expression, point.error, (point.source,), False)
        if found is None or not found.expression.free_symbols <= inputs:
            # Nothing over the user's variables could be evaluated: the mean is the best formula.
            c = float(np.mean(y))
            found = _Found(sympy.Float(c, 15), _rel_error(np.full_like(y, c), y), ("constant",), False)
        best = self._select(found, X, y, solved=accepted(found))
        best = _Found(_tidy(best.expression, self.symbols_, X), best.error, best.steps, best.exact)
        self.expression_ = best.expression
        self.error_ = best.error
        self.steps_ = best.steps
        self.solved_ = accepted(best)
        self.tolerance_ = ctx.tolerance
        self.operations_ = dict(ctx.work)
        self.seconds_ = time.perf_counter() - start
        self.warm_started_ = reused
    # --- input handling -------------------------------------------------------------
    @staticmethod
    def _names(variable_names, d: int) -> tuple[str, ...]:
        names = check_variable_names(variable_names, d)
        for nm in names:
            if not nm.isidentifier():
                raise ValueError(f"variable name {nm!r} is not an identifier")
        return names

    @staticmethod
    def _units(units, d: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        if units is None:
            return None, None
        if hasattr(units, "inputs") and hasattr(units, "output"):
            inputs, output = np.asarray(units.inputs, dtype=float), np.asarray(units.output, dtype=float)
        else:
            arr = np.asarray(units, dtype=float)
            if arr.ndim != 2 or arr.shape[0] != d + 1:
                raise ValueError(
                    f"units must have shape ({d + 1}, n_base_units): one row per variable and a last row for "
                    f"the output; got shape {arr.shape}"
                )
            inputs, output = arr[:-1], arr[-1]
        if inputs.ndim != 2 or inputs.shape[0] != d or output.shape != (inputs.shape[1],):
            raise ValueError(f"units must give ({d}, k) input exponents and (k,) output exponents")
        if not (np.all(np.isfinite(inputs)) and np.all(np.isfinite(output))):
            raise ValueError("units contain NaN or inf")
        return inputs, output

    def _tolerance(self, noise: float) -> float:
        if self.tolerance is not None:
            return float(self.tolerance)
        return float(min(max(1e-6, 1.5 * noise), 0.05))

    @staticmethod
    def _constant_noise(t: np.ndarray) -> float:
        return float(np.std(t) / (np.sqrt(np.mean(t**2)) or 1.0))

    @staticmethod
    def _weighted_noise(Z: np.ndarray, t: np.ndarray, weight: np.ndarray) -> float:
        """Relative noise of ``y = weight * t`` read from the dimensionless problem ``t(Z)``."""
        if Z.shape[1]:
            return estimate_noise(Z, t, weights=weight)
        c = float(weight**2 @ t) / (float(weight @ weight) or 1.0)  # least squares on y
        y = weight * t
        return float(np.sqrt(np.mean((y - weight * c) ** 2)) / (np.sqrt(np.mean(y**2)) or 1.0))

    @staticmethod
    def _target_scale(t: np.ndarray, weight: np.ndarray) -> float:
        """Relative RMS of ``t``'s noise over that of ``y = weight * t``'s (noise even on y)."""
        rms = lambda a: float(np.sqrt(np.mean(a**2)))  # noqa: E731
        with np.errstate(divide="ignore"):
            inv = 1.0 / weight
        if not (np.all(np.isfinite(inv)) and rms(t) > 0):
            return 1.0
        return max(rms(weight * t) * rms(inv) / rms(t), 1.0)

    def _refined(self, candidate: _Found, X, y) -> _Found:
        """``candidate`` with its constants refitted on ``y`` and snapped within their error bars.

        Of the two (when exact) the one of least description length, residual included,
        is returned: a constant snapped within the tolerance but outside its error bar
        (``1/21`` for ``3/(20*pi)``) costs more bits of residual than it saves.
        """
        free = free_coefficients(candidate.expression)
        n_free = len(free.atoms(sympy.Float))
        if n_free == 0 or n_free > MAX_REFIT_CONSTANTS:
            return candidate
        expr, err, exact = snap_within_uncertainty(free, self.symbols_, X, y)
        if not np.isfinite(err):
            return candidate
        refined = _Found(expr, err, candidate.steps, exact)
        self.pareto_front_.add(expr, err, source="+".join(candidate.steps))
        options = [c for c in (candidate, refined) if c.exact]
        if not options:
            return refined if err < candidate.error else candidate
        return min(options, key=lambda c: _mdl(c.expression, c.error, len(y)))

    # --- the recursive loop ---------------------------------------------------------
    def _constant(self, t: np.ndarray, ctx: _Context) -> _Found | None:
        c = float(np.mean(t))
        s = snap_number(c, max(1e-6, ctx.tolerance / 10))
        expr = s if s is not None else sympy.Float(c, 15)
        err = _rel_error(np.full_like(t, float(expr)), t)
        self.pareto_front_.add(expr, err, source="dimensional")
        return _Found(expr, err, ("constant",), s is not None)

    def _verified(self, expr, X, y, ctx, steps, polish=True) -> _Found | None:
        """Check ``expr`` on the real data (refitting and snapping its floats if asked)."""
        syms = self.symbols_
        if polish and expr.atoms(sympy.Float):
            expr, err, exact = polish_constants(expr, syms, X, y, snap_tolerance=max(1e-6, ctx.tolerance / 10))
        else:
            err = _rel_error(evaluate(expr, syms, X), y)
            exact = not expr.atoms(sympy.Float)
        if not np.isfinite(err):
            return None
        self.pareto_front_.add(expr, err, source="+".join(steps))
        return _Found(expr, err, steps, exact)

    @staticmethod
    def _better(a: _Found, b: _Found) -> bool:
        ok_a, ok_b = a.exact, b.exact
        if ok_a != ok_b:
            return ok_a
        return a.error < b.error

    def _select(self, found: _Found, X, y, solved: bool) -> _Found:
        """The formula to return: the solution if ``solved``, else the Pareto point of least MDL."""
        if solved:
            return found
        n = min(len(y), 1000)
        inputs = set(self.symbols_)
        best = (_mdl(found.expression, found.error, n), found)
        for p in self.pareto_front_.points:
            if not p.expression.free_symbols <= inputs:  # a sub-problem's formula (over u0, u1, ...)
                continue
            score = _mdl(p.expression, p.error, n)
            if score < best[0]:
                best = (score, _Found(p.expression, p.error, (p.source,), not p.expression.atoms(sympy.Float)))
        return best[1]

    def _solve(
        self, X, y, syms, ctx: _Context, depth: int, oracle, tolerance: float | None = None, stage: str = "all",
        real: bool = True,
    ) -> _Found | None:
        """Solve ``y = f(X)`` over ``syms``; returns the best formula found (or None).

        ``stage`` runs one part of the loop: ``"fits"`` (polynomial and other linear
        fits), ``"brute"`` (a short brute force), ``"decompose"`` (oracle, symmetries,
        separability), ``"long"`` (brute force for the time left), or ``"all"`` of them in
        that order (sub-problems).
        ``tolerance=None`` uses ``ctx.tolerance``, which a rejected candidate tightens.
        ``real`` says ``y`` is measured data (not the oracle's), so a candidate's
        residual must look like noise to be accepted.
        """
        def tol() -> float:
            return ctx.tolerance if tolerance is None else tolerance

        best: _Found | None = None

        def consider(candidate: _Found | None) -> bool:
            nonlocal best
            if candidate is None:
                return False
            if best is None or self._better(candidate, best):
                best = candidate
            if not (candidate.exact and candidate.error <= tol()):
                return False
            structure = self._structure(candidate.expression, syms, X, y, candidate.error) if real else 0.0
            if structure >= STRUCTURE_THRESHOLD:
                if tolerance is None:
                    # error^2 = noise^2 + structured^2: the noise is below error * sqrt(1 - share).
                    # On noisy data the new tolerance keeps the usual 1.5x headroom over it.
                    share = min(structured_share(structure), 0.75)
                    headroom = 1.5 if tol() > NOISY else 1.0
                    ctx.tolerance = min(ctx.tolerance, headroom * candidate.error * math.sqrt(1 - share))
                return False
            return True

        names = [s.name for s in syms]
        transforms = [OUTPUT_TRANSFORMS[t] for t in TRANSFORMS if t in OUTPUT_TRANSFORMS]
        if stage in ("fits", "all"):
            pool = ctx.pool if depth == 0 else None
            weights = ctx.weights if depth == 0 and real else None
            chosen = self._fits(X, y, syms, names, ctx, tol, transforms, consider, pool, weights)
            if chosen is not None:
                return chosen
        if stage in ("brute", "all") and self._short_brute(X, y, syms, names, ctx, depth, tol, transforms, consider):
            return best
        # 3. the oracle: symmetries and separability
        if stage in ("decompose", "all") and X.shape[1] >= 2 and ctx.use_oracle and depth < ctx.max_depth \
                and ctx.left() > 5:
            if consider(self._decompose(X, y, syms, ctx, depth, oracle, tolerance, real)):
                return best
        # 4. whatever time is left: a longer brute force
        if stage in ("long", "all") and ctx.left() > 2 and depth == 0:
            consider(self._brute(X, y, syms, names, ctx, tol(), ctx.left() - 1))
        return best

    def _noise_like(self, expr, syms, X, y, error: float) -> bool:
        """True if what ``expr`` leaves of ``y`` is round-off or noise, not a function of ``X``."""
        return self._structure(expr, syms, X, y, error) < STRUCTURE_THRESHOLD

    @staticmethod
    def _structure(expr, syms, X, y, error: float) -> float:
        """:func:`residual_structure` of ``y - expr(X)``: 0 for round-off, 1 if not finite."""
        if error <= ROUNDOFF:
            return 0.0
        pred = evaluate(expr, syms, X)
        if pred is None:
            return 1.0
        return residual_structure(X, y - pred)

