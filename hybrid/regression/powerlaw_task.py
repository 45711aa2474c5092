"""The power-law physics task: FSReD formulas that are products of powers of their variables."""

from __future__ import annotations

from collections.abc import Sequence

from hybrid.regression.feynman_task import FeynmanTask, FeynmanTestSet, r2_score
from hybrid.tasks.feynman import is_power_law, power_law_equations

#: A spread of the power laws: 1 to 5 variables, half-integer exponents, constants with
#: pi, a negative sign. The ``powerlaw`` task uses these; ``powerlaw-all`` uses all 38.
REPRESENTATIVE = (
    "I.12.2",  # Coulomb: q1 q2 / (4 pi eps r^2)
    "I.14.3",  # m g z
    "I.32.5",  # Larmor: q^2 a^2 / (6 pi eps c^3)
    "I.39.22",  # ideal gas: n kb T / V
    "I.47.23",  # speed of sound: sqrt(gamma p / rho)
    "II.11.20",  # n p^2 E / (3 kb T)
    "II.13.17",  # 2 I / (4 pi eps c^2 r)
    "II.34.2",  # q v r / 2
    "III.15.14",  # (h / 2 pi)^2 / (2 E d^2)
    "III.19.51",  # -m q^4 / (2 (4 pi eps)^2 (h / 2 pi)^2 n^2)
)

PowerLawTestSet = FeynmanTestSet

__all__ = ["REPRESENTATIVE", "PowerLawTask", "PowerLawTestSet", "r2_score"]


class PowerLawTask(FeynmanTask):
    """Recover power laws of physics from samples.

    Args:
        equations: FSReD ids of power laws, ``"representative"`` (:data:`REPRESENTATIVE`)
            or ``"all"`` (every power law in the table).
        noise: relative noise on training outputs (``noise * rms(y)``).
        n_test: test points per equation, in range and outside it.

    Raises:
        ValueError: if an id is not a power law of the table.
    """

    name = "powerlaw"

    def __init__(
        self,
        equations: str | Sequence[str] = "representative",
        noise: float = 0.0,
        n_test: int = 500,
        name: str = "powerlaw",
    ):
        super().__init__(equations, noise=noise, n_test=n_test, name=name, units=False)
        not_power = [eq.id for eq in self.equations if not is_power_law(eq)]
        if not_power:
            raise ValueError(f"equations: {not_power} are not power laws")

    @staticmethod
    def _resolve(equations: str | Sequence[str]) -> list[str]:
        if isinstance(equations, str) and equations == "representative":
            return list(REPRESENTATIVE)
        if isinstance(equations, str) and equations == "all":
            return [eq.id for eq in power_law_equations()]
        if isinstance(equations, str):
            raise ValueError(f"equations must be 'representative', 'all' or a list of ids, got {equations!r}")
        return list(equations)

    def params(self):
        """The task's configuration."""
        params = super().params()
        params.pop("units")
        return params
