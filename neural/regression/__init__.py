"""Learned regressors: the MLP deep baseline (and, later, the MLP oracle of AI Feynman)."""

from neural.regression.mlp import MLPRegressor, StackedMLP

__all__ = ["MLPRegressor", "StackedMLP"]
