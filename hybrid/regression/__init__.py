"""The regression pillar's composition: power-law regressor, task, and (next) the AI-Feynman solver."""

from hybrid.regression.per_problem import PerProblemRegressor
from hybrid.regression.powerlaw import PowerLawRegressor
from hybrid.regression.powerlaw_task import REPRESENTATIVE, PowerLawTask, r2_score

__all__ = ["REPRESENTATIVE", "PerProblemRegressor", "PowerLawRegressor", "PowerLawTask", "r2_score"]
