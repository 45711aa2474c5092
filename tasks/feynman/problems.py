"""Plain-data regression problems: what the regression task hands to a method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RegressionProblem:
    """One data set of one equation.

    Attributes:
        id: the equation's id (``"I.12.2"``).
        X: inputs ``(n, d)``.
        y: outputs ``(n,)``.
        variables: the names of ``X``'s columns.
        units: the SI units of the variables and output
            (:class:`~hybrid.tasks.feynman.units.EquationUnits`), or ``None``.
    """

    id: str
    X: np.ndarray
    y: np.ndarray
    variables: tuple[str, ...]
    units: Any = None
