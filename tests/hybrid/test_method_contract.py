"""The scikit-learn contract of every registered method (DESIGN: methods are estimators).

For each method of the registry: it is a ``BaseEstimator`` whose class declares the family it
is registered under; ``clone`` gives the same parameters; and after a tiny fit on a tiny
training set of one of its tasks, a pickle round trip gives a method that predicts, answers
or acts exactly as the original on a few test inputs.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone

from hybrid.evaluate.protocols import FAMILIES
from hybrid.evaluate.registry import methods_for, tasks

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: method -> (task, task parameters, n_train, method parameters): the smallest run of each
#: built-in method. A new built-in method needs a line here (the test says so).
_TINY_MLP = {"widths": [4], "learning_rates": [0.01], "max_epochs": 3, "patience": 2}
_TINY_VQA_TASK = {"n_test": 10, "image_size": 64}
_TINY_BASELINE = {"epochs": 1, "patience": 1, "batch_size": 8, "input_size": 32, "channels": 4, "embed_dim": 4,
                  "hidden": 4, "mlp_hidden": 4}
_TINY_PLANNING_TASK = {"n_test": 1, "max_steps": 5}
TINY: dict[str, tuple[str, dict, int, dict]] = {
    "powerlaw-lstsq": ("powerlaw", {"equations": ["I.14.3"], "n_test": 10}, 8, {}),
    "mlp": ("powerlaw", {"equations": ["I.14.3"], "n_test": 10}, 8, _TINY_MLP),
    **{name: ("powerlaw", {"equations": ["I.14.3"], "n_test": 10}, 8, {**_TINY_MLP, "fine_tune_epochs": 2})
       for name in ("mlp-pruned", "mlp-pruned-structured", "mlp-int8", "mlp-pruned-int8", "mlp-low-rank",
                    "mlp-distilled", "mlp-lottery")},
    "mlp-low-rank": ("powerlaw", {"equations": ["I.14.3"], "n_test": 10}, 8,
                     {**_TINY_MLP, "widths": [16], "energy": 0.5, "fine_tune_epochs": 2}),
    "ai-feynman": ("feynman", {"equations": ["I.12.1"], "n_test": 10}, 20,
                   {"time_budget_s": 2.0, "use_oracle": False}),
    "gplearn": ("feynman", {"equations": ["I.12.1"], "n_test": 10}, 20,
                {"time_budget_s": 1.0, "population_size": 20, "generations": 1}),
    "operon": ("feynman", {"equations": ["I.12.1"], "n_test": 10}, 20,
               {"time_budget_s": 1.0, "population_size": 10, "generations": 1}),
    "ns-vqa": ("clevr", _TINY_VQA_TASK, 20, {
        "n_programs": 5, "n_scenes": 3, "reinforce_steps": 0, "active_share": 0.0,
        "scene_parser": {"image_size": 64, "epochs": 1, "channels": 4, "factored_colour": False},
        "question_parser": {"epochs": 1, "embed_dim": 4, "hidden_dim": 4},
    }),
    **{f"ns-vqa-{suffix}": ("clevr", _TINY_VQA_TASK, 20, {
        "n_programs": 5, "n_scenes": 3, "reinforce_steps": 0, "active_share": 0.0, "fine_tune_epochs": 1,
        "scene_parser": {"image_size": 64, "epochs": 1, "channels": 4, "factored_colour": False},
        "question_parser": {"epochs": 1, "embed_dim": 4, "hidden_dim": 4},
    }) for suffix in ("int8", "pruned", "pruned-int8")},
    "cnn-lstm": ("clevr", _TINY_VQA_TASK, 20, _TINY_BASELINE),
    "film": ("clevr", _TINY_VQA_TASK, 20, {**_TINY_BASELINE, "n_blocks": 1, "classifier_channels": 4}),
    **{f"{base}-{suffix}": ("clevr", _TINY_VQA_TASK, 20, {**_TINY_BASELINE, **extra, "fine_tune_epochs": 1,
                                                          **({"energy": 0.3} if suffix == "low-rank" else {})})
       for base, extra in (("cnn-lstm", {}), ("film", {"n_blocks": 1, "classifier_channels": 4}))
       for suffix in ("pruned", "int8", "pruned-int8", "low-rank")},
    "perceive-plan": ("lights-out", _TINY_PLANNING_TASK, 10, {"perception": {"epochs": 1}, "time_limit_s": 2.0}),
    **{f"perceive-plan-{suffix}": ("lights-out", _TINY_PLANNING_TASK, 10,
                                   {"perception": {"epochs": 1}, "time_limit_s": 2.0, "fine_tune_epochs": 1})
       for suffix in ("pruned", "int8")},
    "ppo": ("lights-out", _TINY_PLANNING_TASK, 16, {}),
    "dqn": ("lights-out", _TINY_PLANNING_TASK, 16, {}),
    **{f"{algo}-{suffix}": ("lights-out", _TINY_PLANNING_TASK, 16, {})
       for algo in ("ppo", "dqn") for suffix in ("pruned", "int8", "pruned-int8")},
}
#: methods whose peer package is optional (the ``peers`` extra): skipped when it is missing.
NEEDS = {"gplearn": "gplearn", "operon": "pyoperon", "ppo": "stable_baselines3", "dqn": "stable_baselines3",
         **{f"{algo}-{suffix}": "stable_baselines3" for algo in ("ppo", "dqn") for suffix in ("pruned", "int8",
                                                                                             "pruned-int8")}}


def _registered() -> list[tuple[str, str]]:
    """``(method, task)`` for every registered method, with the first task it applies to."""
    seen: dict[str, str] = {}
    for task in tasks():
        for method in methods_for(task):
            seen.setdefault(method, task)
    return sorted(seen.items())


REGISTERED = _registered()


def _same_params(a, b, path: str = "") -> None:
    """Assert two parameter values agree the way ``clone`` means: estimators by type and parameters."""
    if hasattr(a, "get_params") and not isinstance(a, type):
        assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
        _same_params(a.get_params(deep=False), b.get_params(deep=False), path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            _same_params(a[k], b[k], f"{path}.{k}" if path else str(k))
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: {a!r} != {b!r}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_params(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b or (a != a and b != b), f"{path}: {a!r} != {b!r}"


def _setting(method: str, task: str) -> tuple[str, dict, int, dict]:
    if method in TINY:
        return TINY[method]
    entry = methods_for(task)[method]
    if entry.factory.factory.__module__.startswith("hybrid."):
        pytest.fail(f"built-in method {method!r} has no tiny setting in TINY: add one")
    return task, {}, tasks()[task].quick_sizes[0], {}  # a plugin's method: its task's smallest quick size


def _build(method: str, task_name: str):
    task_name, task_params, n, params = _setting(method, task_name)
    if method in NEEDS:
        pytest.importorskip(NEEDS[method])
    entry = methods_for(task_name)[method]
    task = tasks()[task_name].factory(**task_params)
    built = entry.factory(task, seed=0, device="cpu", **{**entry.defaults, **params})
    return task, n, built, entry


def _outputs(task, method, test):
    """What the method computes on a few test inputs: predictions, answers or actions."""
    if hasattr(method, "answer"):
        return method.answer(test.images, test.texts()[:5], np.asarray(test.image_index)[:5])
    if hasattr(method, "act"):
        import gymnasium as gym
        import hybrid.tasks.envs  # noqa: F401  (registers the hybrid/* ids)

        env = gym.make(test.env_id, **test.env_kwargs)
        try:
            ep = test.episodes[0]
            obs, _ = env.reset(seed=int(ep["seed"]), options=ep.get("options"))
            method.reset()
            return [method.act(obs) for _ in range(3)]
        finally:
            env.close()
    if hasattr(method, "predict") and hasattr(test, "in_range"):
        return {pid: method.predict(pid, p.X[:5]) for pid, p in test.in_range.items()}
    scores = task.score(method, test)  # a plugin's method: its task's metrics
    return {k: v for k, v in scores.items() if k != "details"}


@pytest.mark.parametrize(("method", "task"), REGISTERED, ids=[m for m, _ in REGISTERED])
def test_method_is_an_estimator_that_clones(method, task):
    _, _, built, entry = _build(method, task)
    assert isinstance(built, BaseEstimator), f"{type(built).__name__} is not a sklearn BaseEstimator"
    assert built.family == entry.family and entry.family in FAMILIES
    params = built.get_params()
    copy = clone(built)
    assert type(copy) is type(built) and copy is not built
    _same_params(copy.get_params(), params)
    assert not [k for k in vars(built) if k.endswith("_") and not k.startswith("_")], "unfitted state set"


@pytest.mark.parametrize(("method", "task"), REGISTERED, ids=[m for m, _ in REGISTERED])
def test_fitted_method_survives_pickling(method, task):
    task_obj, n, built, _ = _build(method, task)
    fitted = built.fit(task_obj.train_set(n, 0))
    assert fitted is built
    test = task_obj.test_set(0)
    restored = pickle.loads(pickle.dumps(fitted))
    assert type(restored) is type(fitted)
    _same_params(restored.get_params(), fitted.get_params())
    expected, got = _outputs(task_obj, fitted, test), _outputs(task_obj, restored, test)
    if isinstance(expected, dict):
        assert set(got) == set(expected)
        for k in expected:
            np.testing.assert_array_equal(got[k], expected[k], err_msg=k)
    else:
        assert got == expected


def test_registry_checks_the_family_a_method_declares():
    from hybrid.evaluate.registry import _METHODS, get_method, register_method

    class Deep(BaseEstimator):
        family = "deep"

        def fit(self, train):
            return self

    register_method("contract-wrong-family", lambda task, seed, device: Deep(), family="hybrid",
                    tasks=("contract-none",), description="declares deep, registered hybrid")
    try:
        with pytest.raises(TypeError, match="registered as family 'hybrid'.*family is 'deep'"):
            get_method("contract-wrong-family").factory(None, seed=0, device="cpu")
        with pytest.raises(ValueError, match="family"):
            register_method("contract-bad", lambda task, seed, device: Deep(), family="shallow",
                            tasks=(), description="")
    finally:
        _METHODS.pop("contract-wrong-family", None)


def test_registry_reads_the_family_from_the_estimator_class():
    from hybrid.evaluate.registry import _METHODS, get_method, register_method

    class Peer(BaseEstimator):
        family = "peer"

        def fit(self, train):
            return self

    try:
        register_method("contract-by-class", lambda task, seed, device: Peer(), estimator=Peer,
                        tasks=("contract-none",), description="family from the class")
        register_method("contract-class-factory", Peer, tasks=("contract-none",), description="the class")
        assert get_method("contract-by-class").family == "peer"
        assert get_method("contract-class-factory").family == "peer"
        with pytest.raises(ValueError, match="Peer.family is 'peer'"):
            register_method("contract-contradiction", Peer, family="deep", tasks=(), description="")
        with pytest.raises(ValueError, match="estimator="):
            register_method("contract-no-family", lambda task, seed, device: Peer(), tasks=(), description="")
    finally:
        for name in ("contract-by-class", "contract-class-factory", "contract-contradiction", "contract-no-family"):
            _METHODS.pop(name, None)


def test_a_method_fits_inside_a_pipeline():
    from hybrid.neural.regression import MLPRegressor
    from sklearn.pipeline import Pipeline

    from hybrid.regression.per_problem import PerProblemRegressor

    task = tasks()["powerlaw"].factory(equations=["I.14.3"], n_test=10)
    method = PerProblemRegressor(MLPRegressor(widths=[4], learning_rates=[0.01], max_epochs=2, patience=1))
    pipe = Pipeline([("method", method)]).fit(task.train_set(8, 0))
    assert set(pipe.named_steps["method"].models_) == {"I.14.3"}
    assert pipe.get_params()["method__estimator__max_epochs"] == 2
