"""The regression pillar's composition: the power-law regressor, the AI-Feynman solver, their tasks.

Both regressors are scikit-learn estimators (``clone``, ``get_params``, pipelines,
``cross_val_score``, pickling); :class:`FeynmanRegressor` also has PySR's habits
(``equations_``, ``model_selection``, ``sympy(i)``, ``pytorch()``, ``save``/``load``).
"""

from hybrid.regression.feynman import FeynmanRegressor
from hybrid.regression.feynman_equations import Equation, EquationTable
from hybrid.regression.per_problem import PerProblemRegressor
from hybrid.regression.powerlaw import PowerLawRegressor
from hybrid.regression.powerlaw_task import REPRESENTATIVE, PowerLawTask, r2_score

__all__ = [
    "REPRESENTATIVE",
    "Equation",
    "EquationTable",
    "FeynmanRegressor",
    "PerProblemRegressor",
    "PowerLawRegressor",
    "PowerLawTask",
    "r2_score",
]
