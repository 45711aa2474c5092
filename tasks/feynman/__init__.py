"""The Feynman Symbolic Regression Database: equation table, sampler, power-law subset and SI units."""

from tasks.feynman.powerlaw import is_power_law, power_law_equations, power_law_exponents
from tasks.feynman.sampler import (
    Samples,
    evaluate_equation,
    extrapolation_ranges,
    sample_equation,
)
from tasks.feynman.table import (
    FeynmanEquation,
    FormulaError,
    feynman_equations,
    get_equation,
    load_table,
    parse_formula,
)
from tasks.feynman.units import (
    BASE_UNITS,
    DimensionError,
    EquationUnits,
    check_balance,
    dimension_of,
    units_for,
)

__all__ = [
    "BASE_UNITS",
    "DimensionError",
    "EquationUnits",
    "FeynmanEquation",
    "FormulaError",
    "Samples",
    "check_balance",
    "dimension_of",
    "evaluate_equation",
    "extrapolation_ranges",
    "feynman_equations",
    "get_equation",
    "is_power_law",
    "load_table",
    "parse_formula",
    "power_law_equations",
    "power_law_exponents",
    "sample_equation",
    "units_for",
]

from tasks.feynman.problems import RegressionProblem  # noqa: E402

__all__ += ["RegressionProblem"]
