"""Neural regression: the MLP deep baseline and the MLP oracle of the AI-Feynman solver."""

from neural.regression.mlp import MLPRegressor, StackedMLP
from neural.regression.oracle import MLPOracle

__all__ = ["MLPOracle", "MLPRegressor", "StackedMLP"]
