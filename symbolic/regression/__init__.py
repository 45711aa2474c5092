"""Symbolic regression machinery (numpy + sympy): power-law fits, snapping, exact recovery."""

from symbolic.regression.powerlaw import PowerLawFit, check_xy, fit_power_law  # check_xy: tasks.arrays
from symbolic.regression.recovery import is_exact_recovery
from symbolic.regression.snapping import snap_constant, snap_rational

__all__ = [
    "PowerLawFit",
    "check_xy",
    "fit_power_law",
    "is_exact_recovery",
    "snap_constant",
    "snap_rational",
]
