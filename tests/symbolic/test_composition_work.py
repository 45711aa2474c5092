"""fit_inner counts the expressions it evaluates, as plain data for the caller's meter."""

import numpy as np
from hybrid.symbolic.regression.composition import fit_inner


def test_fit_inner_adds_its_evaluations_to_work():
    X = np.random.default_rng(0).uniform(1, 2, (200, 3))

    def oracle(Q: np.ndarray) -> np.ndarray:  # f = exp(x0 * x1) + x2: g = x0 * x1
        return np.exp(Q[:, 0] * Q[:, 1]) + Q[:, 2]

    work = {"candidates": 5}
    found = fit_inner(oracle, X, (0, 1), ["a", "b", "c"], time_budget_s=5.0,
                      rng=np.random.default_rng(0), work=work)
    assert found is not None
    assert work["candidates"] > 5
    again = fit_inner(oracle, X, (0, 1), ["a", "b", "c"], time_budget_s=5.0, rng=np.random.default_rng(0))
    assert str(again[0]) == str(found[0])  # without work: the same search
