"""The Feynman Symbolic Regression Database (equation table, sampler, power-law subset, SI units), a hard set of
52 published formulas beyond it, and a generator of random physics-like formulas."""

from hybrid.tasks.feynman.generated import equation_from_id, generate_equation, generated_equations
from hybrid.tasks.feynman.hard import hard_equations
from hybrid.tasks.feynman.powerlaw import is_power_law, power_law_equations, power_law_exponents
from hybrid.tasks.feynman.sampler import (
    Samples,
    evaluate_equation,
    extrapolation_ranges,
    sample_equation,
)
from hybrid.tasks.feynman.table import (
    FeynmanEquation,
    FormulaError,
    feynman_equations,
    get_equation,
    load_table,
    parse_formula,
)
from hybrid.tasks.feynman.units import (
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
    "equation_from_id",
    "evaluate_equation",
    "extrapolation_ranges",
    "feynman_equations",
    "generate_equation",
    "generated_equations",
    "get_equation",
    "hard_equations",
    "is_power_law",
    "load_table",
    "parse_formula",
    "power_law_equations",
    "power_law_exponents",
    "sample_equation",
    "units_for",
]

from hybrid.tasks.feynman.problems import RegressionProblem  # noqa: E402

__all__ += ["RegressionProblem"]
