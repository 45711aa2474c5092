"""Random formulas with the structure of physics laws, for as many test cases as one wants.

:func:`generate_equation` draws one formula tree of a given depth from a grammar of the
shapes physics laws take: a monomial with a simple constant (``q1*q2/(4*pi*r**2)``) at
the leaves, and above them products and ratios, sums, roots of sums, powers of ratios,
trigonometric functions of differences (``cos(theta1 - theta2)``), decaying exponentials
of ratios (``exp(-E/(k*T))``) and logarithms of ratios. Depth is the number of grammar
levels above the leaves, each with at least one child a level lower; sympy's own
arithmetic may fold a level away (a product of two monomials is one monomial), so the
nesting of a formula is at most its depth, and grows with it.

The draw is a function of ``(depth, seed, index)`` only, and so is the id
(``gen.d3.s0.7``): :func:`equation_from_id` rebuilds the equation from its id in any
process. Variables are ``x1, x2, ...`` (in order of first appearance), each sampled in
``[1, 5]`` as most of FSReD's are; a draw whose formula is not finite, not real, constant
or spans more than eight orders of magnitude on that box is replaced by the next one.
Generated formulas carry no units.
"""

from __future__ import annotations

import re

import numpy as np
import sympy
from hybrid.tasks._checks import check_int
from hybrid.tasks.feynman.table import FeynmanEquation

#: The sampling range of every generated variable.
RANGE = (1.0, 5.0)
#: Most variables a formula draws from.
MAX_VARIABLES = 6
_ID = re.compile(r"^gen\.d(\d+)\.s(\d+)\.(\d+)$")
_POOL = [sympy.Symbol(f"v{i}", positive=True) for i in range(1, MAX_VARIABLES + 1)]
_CONSTANTS = (sympy.Integer(1), sympy.Integer(2), sympy.Rational(1, 2), sympy.Rational(3, 2), sympy.pi,
              1 / (4 * sympy.pi), sympy.Rational(1, 3))
_EXPONENTS = (1, 1, 2, -1, -2, sympy.Rational(1, 2), 3)
_POWERS = (2, 3, sympy.Rational(1, 2), sympy.Rational(3, 2), sympy.Rational(-1, 2), -2)
_SHAPES = ("product", "ratio", "sum", "root_of_sum", "power_of_ratio", "trig_of_difference", "decay", "log_ratio")
_ATTEMPTS = 200


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _variables(rng: np.random.Generator, k: int) -> list[sympy.Symbol]:
    return [_POOL[i] for i in rng.choice(MAX_VARIABLES, size=k, replace=False)]


def _leaf(rng: np.random.Generator) -> sympy.Expr:
    """A monomial: a simple constant times one or two variables to small powers."""
    term = _pick(rng, _CONSTANTS) if rng.random() < 0.4 else sympy.Integer(1)
    for v in _variables(rng, 1 + int(rng.random() < 0.6)):
        term *= v ** _pick(rng, _EXPONENTS)
    return term


def _tree(rng: np.random.Generator, depth: int) -> sympy.Expr:
    """A formula whose operators nest exactly ``depth`` levels above the leaves."""
    if depth == 0:
        return _leaf(rng)
    lower = _tree(rng, depth - 1)
    other = _tree(rng, int(rng.integers(depth))) if rng.random() < 0.5 else _leaf(rng)
    shape = _pick(rng, _SHAPES)
    if shape == "product":
        return lower * other
    if shape == "ratio":
        return lower / other if rng.random() < 0.5 else other / lower
    if shape == "sum":
        return lower + other
    if shape == "root_of_sum":
        return sympy.sqrt(lower + other)
    if shape == "power_of_ratio":
        return (lower / _leaf(rng)) ** _pick(rng, _POWERS)
    if shape == "trig_of_difference":
        a, b = _variables(rng, 2)
        trig = _pick(rng, (sympy.sin, sympy.cos))(a - b)
        return lower * (trig if rng.random() < 0.5 else 1 - trig)
    if shape == "decay":
        return lower * sympy.exp(-_leaf(rng) / _leaf(rng))
    return lower * sympy.log(1 + other)  # log_ratio: the log of a ratio of positives, shifted to stay positive


def _acceptable(expr: sympy.Expr, symbols: list[sympy.Symbol], rng: np.random.Generator) -> bool:
    if len(symbols) < 1 or not expr.free_symbols:
        return False
    X = RANGE[0] + (RANGE[1] - RANGE[0]) * rng.random((500, len(symbols)))
    with np.errstate(all="ignore"):
        y = np.asarray(sympy.lambdify(symbols, expr, modules="numpy")(*X.T), dtype=complex)
    if not np.all(np.isfinite(y)) or np.max(np.abs(y.imag)) > 0:
        return False
    y = y.real
    if np.ptp(y) <= 1e-9 * np.max(np.abs(y)):
        return False
    magnitude = np.abs(y[y != 0])
    return magnitude.size == y.size and magnitude.max() / magnitude.min() < 1e8


def generate_equation(depth: int, seed: int, index: int) -> FeynmanEquation:
    """The ``index``-th formula of ``depth`` for ``seed``: a deterministic draw, id ``gen.d{depth}.s{seed}.{index}``.

    Args:
        depth: operator levels above the leaves (0 to 6).
        seed: the draw's seed (>= 0).
        index: which formula of the stream (>= 0).

    Returns:
        A :class:`~hybrid.tasks.feynman.table.FeynmanEquation` over ``x1, x2, ...``, each in [1, 5].

    Raises:
        ValueError: on an argument out of range, or no acceptable draw in 200 tries.
    """
    for name, value, hi in (("depth", depth, 6), ("seed", seed, None), ("index", index, None)):
        check_int(name, value, 0, hi)
    rng = np.random.default_rng([int(seed), int(depth), int(index)])
    for _ in range(_ATTEMPTS):
        expr = _tree(rng, int(depth))
        used = sorted(expr.free_symbols, key=lambda s: int(s.name[1:]))
        names = {s: sympy.Symbol(f"x{k}", positive=True) for k, s in enumerate(used, start=1)}
        expr = expr.xreplace(names)
        symbols = list(names.values())
        if _acceptable(expr, symbols, rng):
            return FeynmanEquation(
                id=f"gen.d{depth}.s{seed}.{index}", number=int(index), output="y", formula=sympy.sstr(expr),
                variables=tuple(s.name for s in symbols), ranges=tuple(RANGE for _ in symbols),
                declared_n_variables=len(symbols))
    raise ValueError(f"no acceptable formula of depth {depth} for seed {seed}, index {index} in {_ATTEMPTS} draws")


def generated_equations(count: int, depth: int, seed: int = 0) -> dict[str, FeynmanEquation]:
    """``count`` generated formulas of ``depth`` (indices ``0..count-1``), keyed by id."""
    check_int("count", count, 1)
    equations = (generate_equation(depth, seed, k) for k in range(int(count)))
    return {eq.id: eq for eq in equations}


def equation_from_id(equation_id: str) -> FeynmanEquation:
    """Rebuild a generated equation from its id (``gen.d3.s0.7``).

    Raises:
        KeyError: if the id is not a generated one.
    """
    match = _ID.match(equation_id)
    if not match:
        raise KeyError(f"{equation_id!r} is not the id of a generated equation (gen.d<depth>.s<seed>.<index>)")
    depth, seed, index = (int(g) for g in match.groups())
    return generate_equation(depth, seed, index)
