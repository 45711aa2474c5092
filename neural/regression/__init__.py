"""Neural regression: the MLP deep baseline and the MLP oracle of the AI-Feynman solver."""

from hybrid.neural.regression.mlp import MLPRegressor, StackedMLP
from hybrid.neural.regression.oracle import MLPOracle

__all__ = ["MLPOracle", "MLPRegressor", "StackedMLP"]
