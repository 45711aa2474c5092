"""Symbolic regression machinery (numpy + sympy): power-law fits, snapping, exact recovery,
dimensional analysis, polynomial, rational and basis-library fits, noise and residual
tests, and a description-length Pareto front."""

from hybrid.symbolic.regression.dimensional import DimensionalReduction, dimensional_reduction
from hybrid.symbolic.regression.library import LibraryFit, fit_library
from hybrid.symbolic.regression.noise import estimate_noise, residual_structure
from hybrid.symbolic.regression.pareto import ParetoFront, ParetoPoint, description_length
from hybrid.symbolic.regression.polyfit import PolynomialFit, fit_polynomial
from hybrid.symbolic.regression.powerlaw import PowerLawFit, check_xy, fit_power_law  # check_xy: tasks.arrays
from hybrid.symbolic.regression.rational import RationalFit, fit_rational
from hybrid.symbolic.regression.recovery import is_exact_recovery, is_symbolic_solution, model_size
from hybrid.symbolic.regression.snapping import snap_constant, snap_constant_with_e, snap_rational
from hybrid.symbolic.regression.symmetry import (
    CountingOracle,
    Separation,
    SwapSymmetry,
    Symmetry,
    SymmetryReport,
    analyse_symmetries,
    find_equal_variables,
    find_scaling_symmetry,
    find_separability,
    find_translational_symmetry,
)
from hybrid.symbolic.regression.transforms import OUTPUT_TRANSFORMS, OutputTransform, output_transforms

__all__ = [
    "PowerLawFit",
    "check_xy",
    "fit_power_law",
    "is_exact_recovery",
    "is_symbolic_solution",
    "model_size",
    "snap_constant",
    "snap_rational",
    "DimensionalReduction",
    "dimensional_reduction",
    "PolynomialFit",
    "fit_polynomial",
    "RationalFit",
    "fit_rational",
    "LibraryFit",
    "fit_library",
    "estimate_noise",
    "residual_structure",
    "ParetoFront",
    "ParetoPoint",
    "description_length",
    "snap_constant_with_e",
    "CountingOracle",
    "Separation",
    "SwapSymmetry",
    "Symmetry",
    "SymmetryReport",
    "analyse_symmetries",
    "find_equal_variables",
    "find_scaling_symmetry",
    "find_separability",
    "find_translational_symmetry",
    "OUTPUT_TRANSFORMS",
    "OutputTransform",
    "output_transforms",
]
