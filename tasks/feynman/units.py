"""SI units of every FSReD variable, and a dimensional-balance check of the formulas.

The published FSReD table carries no units. ``units.csv``, shipped next to it, gives
one row per (equation, variable), the output included::

    id,variable,role,m,s,kg,K,A
    I.12.1,F,output,1,-2,1,0,0
    I.12.1,mu,input,0,0,0,0,0
    I.12.1,Nn,input,1,-2,1,0,0

``role`` is ``input`` or ``output``; ``m, s, kg, K, A`` are the integer exponents of
metre, second, kilogram, kelvin and ampere (:data:`BASE_UNITS`). Physical constants
are variables of the table (``G``, ``c``, ``h``, ``kb``, ``epsilon``), so every
formula balances in SI units; the test suite checks all 100.

Provenance: the units were worked out by hand from each formula and the section of
the Feynman Lectures it is taken from, then checked with :func:`check_balance`. A
formula only fixes units up to what it constrains; where several choices balance,
the one the lecture means was taken:

* ``I.6.2a``, ``I.6.2``, ``I.6.2b`` (Gaussian densities): ``theta``, ``sigma`` and
  ``f`` dimensionless (a density over a dimensionless variable).
* ``I.11.19`` (dot product ``x1*y1 + ...``): components are lengths, ``A`` an area.
* ``I.29.16`` (adding two waves): amplitudes ``x1``, ``x2``, ``x`` are lengths.
* ``I.30.3``, ``I.37.4``: intensities in W m^-2.
* ``I.40.1``, ``II.11.17``, ``II.35.18``: ``n``, ``n_0`` are number densities (m^-3);
  ``I.39.22``, ``I.44.4``: ``n`` is a number of molecules (dimensionless).
* ``I.41.16``: ``L_rad`` is intensity per unit angular frequency (kg s^-2).
* ``I.43.16``, ``I.43.31``: mobilities are Feynman's drift velocity per force (s kg^-1).
* ``I.43.43``: ``A`` is a collision cross-section (m^2), ``v`` the mean speed.
* ``II.11.27``, ``II.11.28``: ``alpha`` is Feynman's polarizability (``p = epsilon
  alpha E``, m^3), ``n`` a number density; the output of ``II.11.28`` is named
  ``theta`` but is the (dimensionless) dielectric constant.
* ``II.34.29b``: ``Jz`` is an angular momentum (J s), so ``Jz/(h/2pi)`` is a number.
* ``II.36.38``: ``H`` is in tesla, Feynman's ``H = B - M/(epsilon c^2)``; in the
  A m^-1 convention the formula would not balance. ``M`` is a magnetisation (A m^-1),
  ``alpha`` (Feynman's lambda) dimensionless.
* ``III.17.37``: ``f``, ``beta``, ``alpha`` dimensionless (a relative angular
  distribution).

:func:`dimension_of` computes the dimension of a sympy expression with exact
rational exponents and returns it as a float array (exact for the integers and
halves that occur in practice); :func:`check_balance` compares exactly.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from os import PathLike
from pathlib import Path

import numpy as np
import sympy
from hybrid.tasks.feynman.table import FeynmanEquation, get_equation

#: The SI base units, in the order of every dimension vector here.
BASE_UNITS = ("m", "s", "kg", "K", "A")

_ROLES = ("input", "output")
_COLUMNS = ("id", "variable", "role", *BASE_UNITS)

Dimension = tuple[Fraction, ...]
_DIMENSIONLESS: Dimension = (Fraction(0),) * len(BASE_UNITS)

# Functions whose argument must be dimensionless and whose value is dimensionless.
_TRANSCENDENTAL = (
    sympy.exp,
    sympy.log,
    sympy.sin,
    sympy.cos,
    sympy.tan,
    sympy.cot,
    sympy.sec,
    sympy.csc,
    sympy.asin,
    sympy.acos,
    sympy.atan,
    sympy.acot,
    sympy.sinh,
    sympy.cosh,
    sympy.tanh,
    sympy.asinh,
    sympy.acosh,
    sympy.atanh,
    sympy.erf,
    sympy.erfc,
)
# Functions whose value has the dimension of their argument.
_DIMENSION_PRESERVING = (sympy.Abs, sympy.re, sympy.im, sympy.conjugate)


class DimensionError(ValueError):
    """An expression is dimensionally inconsistent, or does not balance its output."""


@dataclass(frozen=True)
class EquationUnits:
    """SI units of one FSReD equation's variables and output.

    Attributes:
        id: the FSReD id, e.g. ``"I.12.2"``.
        variables: input names, in the equation's order (the order of ``X``'s columns).
        output_name: the output variable's name.
        input_exponents: one tuple of exponents per input, each ordered as
            :data:`BASE_UNITS`.
        output_exponents: the output's exponents, ordered as :data:`BASE_UNITS`.

    Use :attr:`inputs` and :attr:`output` for numpy views of the exponents.
    """

    id: str
    variables: tuple[str, ...]
    output_name: str
    input_exponents: tuple[tuple[int, ...], ...]
    output_exponents: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.input_exponents) != len(self.variables):
            raise ValueError(
                f"{self.id}: {len(self.variables)} variables but {len(self.input_exponents)} exponent rows"
            )
        rows = (*zip(self.variables, self.input_exponents, strict=True), (self.output_name, self.output_exponents))
        for name, row in rows:
            if len(row) != len(BASE_UNITS):
                raise ValueError(f"{self.id}: {name!r} has {len(row)} exponents, expected {len(BASE_UNITS)}")

    @property
    def inputs(self) -> np.ndarray:
        """Exponents of the inputs: a read-only int array of shape ``(n_vars, 5)``."""
        arr = np.array(self.input_exponents, dtype=int).reshape(len(self.variables), len(BASE_UNITS))
        arr.flags.writeable = False
        return arr

    @property
    def output(self) -> np.ndarray:
        """Exponents of the output: a read-only int array of shape ``(5,)``."""
        arr = np.array(self.output_exponents, dtype=int)
        arr.flags.writeable = False
        return arr

    def as_dict(self) -> dict[str, np.ndarray]:
        """Map every name (inputs and output) to its exponent array of shape ``(5,)``."""
        units = {name: np.array(row, dtype=int) for name, row in zip(self.variables, self.input_exponents, strict=True)}
        units[self.output_name] = np.array(self.output_exponents, dtype=int)
        return units


RawUnits = dict[str, dict[str, tuple[tuple[int, ...], str]]]


def load_units(path: str | PathLike[str] | None = None) -> RawUnits:
    """Read a units table in the layout of the shipped ``units.csv``.

    Args:
        path: a CSV with columns ``id,variable,role,m,s,kg,K,A``; ``None`` reads the
            copy shipped with Hybrid.

    Returns:
        ``{id: {variable: (exponents, role)}}`` in file order, where ``exponents`` is a
        tuple of 5 ints ordered as :data:`BASE_UNITS` and ``role`` is ``"input"`` or
        ``"output"``. A fresh dict on every call.

    Raises:
        ValueError: naming file and line, if a column is missing, a role is not
            ``input``/``output``, an exponent is not an integer, an (id, variable)
            pair repeats, or an id has other than exactly one output.
    """
    if path is None:
        return {eid: dict(rows) for eid, rows in _shipped_units().items()}
    return _parse_units(Path(path).read_text(), str(path))


@functools.lru_cache(maxsize=1)
def _shipped_units() -> RawUnits:
    text = resources.files("hybrid.tasks.feynman").joinpath("units.csv").read_text()
    return _parse_units(text, "the shipped units.csv")


@functools.lru_cache(maxsize=1)
def _shipped_hard_units() -> RawUnits:
    text = resources.files("hybrid.tasks.feynman").joinpath("hard_units.csv").read_text()
    return _parse_units(text, "the shipped hard_units.csv")


def _parse_units(text: str, source: str) -> RawUnits:
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"{source}: not a units table (missing columns {missing})")
    units: RawUnits = {}
    for line, row in enumerate(reader, start=2):
        where = f"{source}, line {line}"
        eid, name, role = (row["id"] or "").strip(), (row["variable"] or "").strip(), (row["role"] or "").strip()
        if not eid or not name:
            raise ValueError(f"{where}: empty id or variable")
        if role not in _ROLES:
            raise ValueError(f"{where}: role {role!r} is not one of {_ROLES}")
        try:
            exponents = tuple(int((row[unit] or "").strip()) for unit in BASE_UNITS)
        except ValueError:
            raise ValueError(f"{where}: exponents of {eid} {name!r} must be integers") from None
        entry = units.setdefault(eid, {})
        if name in entry:
            raise ValueError(f"{where}: {eid} lists {name!r} twice")
        entry[name] = (exponents, role)
    for eid, entry in units.items():
        outputs = [name for name, (_, role) in entry.items() if role == "output"]
        if len(outputs) != 1:
            raise ValueError(f"{source}: {eid} has {len(outputs)} output rows, expected 1 ({outputs})")
    return units


def units_for(equation_or_id: FeynmanEquation | str, path: str | PathLike[str] | None = None) -> EquationUnits:
    """Return the SI units of an FSReD equation's inputs and output.

    Args:
        equation_or_id: a :class:`~hybrid.tasks.feynman.table.FeynmanEquation`, or the id of
            one of the shipped tables (FSReD's or the hard set's).
        path: a units CSV to read instead of the shipped ones (cached when ``None``).

    Returns:
        The equation's :class:`EquationUnits`, inputs in the equation's variable order.

    Raises:
        KeyError: naming the id, if it is not in the shipped table (for a str) or the
            units file has no rows for it.
        ValueError: if the units file lacks a variable or the output of the equation,
            lists names the equation does not have, or gives a name the wrong role.
    """
    if isinstance(equation_or_id, FeynmanEquation):
        equation = equation_or_id
    else:
        equation = get_equation(equation_or_id)
    raw = _shipped_units() if path is None else load_units(path)
    if path is None and equation.id not in raw:
        raw = _shipped_hard_units()
    if equation.id not in raw:
        raise KeyError(f"no units for equation {equation.id!r}")
    entry = raw[equation.id]
    expected = {name: "input" for name in equation.variables}
    expected[equation.output] = "output"
    lacking = [name for name in expected if name not in entry]
    if lacking:
        raise ValueError(f"{equation.id}: the units file lacks {lacking}")
    extra = [name for name in entry if name not in expected]
    if extra:
        raise ValueError(f"{equation.id}: the units file lists {extra}, which the equation does not have")
    for name, role in expected.items():
        if entry[name][1] != role:
            raise ValueError(f"{equation.id}: {name!r} is listed as {entry[name][1]}, the equation has it as {role}")
    return EquationUnits(
        id=equation.id,
        variables=equation.variables,
        output_name=equation.output,
        input_exponents=tuple(entry[name][0] for name in equation.variables),
        output_exponents=entry[equation.output][0],
    )


def dimension_of(expr: sympy.Expr, units: Mapping[sympy.Symbol | str, object]) -> np.ndarray:
    """Compute the dimension of a sympy expression from the dimensions of its symbols.

    Rules: numbers and number symbols (``pi``) are dimensionless; products add
    exponents; ``base**p`` multiplies them by ``p``, which must be a rational number
    unless the base is dimensionless (then any dimensionless exponent will do); the
    terms of a sum must share one dimension; the arguments of ``exp``, ``log``,
    ``sin``, ``cos``, ``tan``, ``asin``, ``acos``, ``atan``, ``tanh`` (and the other
    trigonometric and hyperbolic functions) must be dimensionless, and so are their
    values; ``Abs`` keeps its argument's dimension.

    Args:
        expr: the expression.
        units: each free symbol's exponents, 5 numbers ordered as :data:`BASE_UNITS`
            (ints, Fractions, sympy Rationals or floats). A symbol is looked up by
            itself first, then by its name, so symbols with other assumptions match.

    Returns:
        A float array of shape ``(5,)``. Exponents are computed exactly (as Fractions)
        and converted at the end, so integers and halves are exact.

    Raises:
        DimensionError: naming the offending terms, on a sum of unlike dimensions, a
            dimensional argument of a transcendental function, a non-numeric or
            irrational power of a dimensional base, or a function it does not know.
        KeyError: naming the symbol, if a free symbol has no units.
        ValueError: if a units entry does not have 5 numeric exponents.
        TypeError: if ``expr`` is not a sympy expression or a plain number (strings
            are refused, never parsed).
    """
    if isinstance(expr, (int, float, Fraction)) and not isinstance(expr, bool):
        return np.zeros(len(BASE_UNITS))  # a plain number
    if not isinstance(expr, sympy.Basic):
        raise TypeError(f"expr must be a sympy expression, got {type(expr).__name__}")
    return np.array([float(x) for x in _dimension(expr, units)], dtype=float)


def check_balance(equation: FeynmanEquation | str, units: EquationUnits | None = None) -> None:
    """Check that an equation's formula has the dimension of its output.

    Args:
        equation: a :class:`~hybrid.tasks.feynman.table.FeynmanEquation` or an id of the
            shipped table.
        units: the units to check against; ``None`` uses :func:`units_for`.

    Returns:
        ``None`` when the formula is dimensionally consistent and balances.

    Raises:
        DimensionError: with the id and the reason, if the formula is inconsistent
            inside (see :func:`dimension_of`) or its dimension differs from the output's.
        KeyError, ValueError: as :func:`units_for`, when ``units`` is ``None``.
    """
    if not isinstance(equation, FeynmanEquation):
        equation = get_equation(equation)
    if units is None:
        units = units_for(equation)
    if units.variables != equation.variables:
        raise ValueError(f"{equation.id}: units are for variables {units.variables}, not {equation.variables}")
    mapping = dict(zip(equation.symbols, units.input_exponents, strict=True))
    try:
        got = _dimension(equation.expression, mapping)
    except DimensionError as exc:
        raise DimensionError(f"{equation.id}: {exc}") from None
    want = tuple(Fraction(x) for x in units.output_exponents)
    if got != want:
        raise DimensionError(
            f"{equation.id}: the formula {equation.formula} has dimension {_format(got)}, "
            f"but the output {units.output_name} has {_format(want)}"
        )


# ------------------------------------------------------------------ internals


def _format(dim: Dimension) -> str:
    parts = [unit if p == 1 else f"{unit}^{p}" for unit, p in zip(BASE_UNITS, dim, strict=True) if p != 0]
    return "[" + (" ".join(parts) or "1") + "]"


def _to_fraction(value: object) -> Fraction:
    if isinstance(value, bool):
        raise ValueError(f"exponent {value!r} is not a number")
    if isinstance(value, (int, np.integer, Fraction)):
        return Fraction(int(value)) if isinstance(value, np.integer) else Fraction(value)
    if isinstance(value, sympy.Rational):
        return Fraction(int(value.p), int(value.q))
    if isinstance(value, (float, np.floating, sympy.Float)):
        f = float(value)
        if not np.isfinite(f):
            raise ValueError(f"exponent {value!r} is not finite")
        return Fraction(f).limit_denominator(10**6)
    raise ValueError(f"exponent {value!r} is not a number")


def _lookup(symbol: sympy.Symbol, units: Mapping[sympy.Symbol | str, object]) -> Dimension:
    if symbol in units:
        value = units[symbol]
    elif symbol.name in units:
        value = units[symbol.name]
    else:
        raise KeyError(f"no units for symbol {symbol.name!r}")
    row = np.asarray(value, dtype=object).ravel()
    if row.shape != (len(BASE_UNITS),):
        raise ValueError(f"units of {symbol.name!r} must have {len(BASE_UNITS)} exponents, got {row.shape[0]}")
    return tuple(_to_fraction(x) for x in row)


def _dimension(expr: sympy.Basic, units: Mapping[sympy.Symbol | str, object]) -> Dimension:
    if not expr.free_symbols:
        return _DIMENSIONLESS  # numbers, pi, sqrt(2*pi), ...
    if isinstance(expr, sympy.Symbol):
        return _lookup(expr, units)
    if isinstance(expr, sympy.Add):
        first, *rest = expr.args
        dim = _dimension(first, units)
        for term in rest:
            other = _dimension(term, units)
            if other != dim:
                raise DimensionError(f"cannot add {first} {_format(dim)} and {term} {_format(other)} in {expr}")
        return dim
    if isinstance(expr, sympy.Mul):
        total = [Fraction(0)] * len(BASE_UNITS)
        for factor in expr.args:
            for i, p in enumerate(_dimension(factor, units)):
                total[i] += p
        return tuple(total)
    if isinstance(expr, sympy.Pow):
        base, exponent = expr.args
        base_dim = _dimension(base, units)
        if base_dim == _DIMENSIONLESS:
            if exponent.free_symbols and _dimension(exponent, units) != _DIMENSIONLESS:
                raise DimensionError(f"the exponent of {expr} must be dimensionless")
            return _DIMENSIONLESS
        if exponent.free_symbols:
            raise DimensionError(f"{base} {_format(base_dim)} is raised to the non-numeric power {exponent}")
        if not (exponent.is_Rational or exponent.is_Float):
            raise DimensionError(f"{base} {_format(base_dim)} is raised to the irrational power {exponent}")
        p = _to_fraction(exponent)
        return tuple(d * p for d in base_dim)
    if isinstance(expr, _TRANSCENDENTAL):
        for arg in expr.args:
            arg_dim = _dimension(arg, units)
            if arg_dim != _DIMENSIONLESS:
                raise DimensionError(
                    f"the argument of {type(expr).__name__} must be dimensionless, but {arg} is {_format(arg_dim)}"
                )
        return _DIMENSIONLESS
    if isinstance(expr, _DIMENSION_PRESERVING):
        return _dimension(expr.args[0], units)
    if isinstance(expr, sympy.sign):
        _dimension(expr.args[0], units)
        return _DIMENSIONLESS
    raise DimensionError(f"cannot tell the dimension of {type(expr).__name__} in {expr}")
