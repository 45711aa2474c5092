"""The ``compressed-deep`` methods: the deep baselines trained, compressed and measured by the evaluator.

Each registered compressed method builds, fits on a tiny training set, predicts with the
compressed network, and reports what the compression bought (checked exactly where the
recipe fixes it: the pruned MLP keeps ``weights - round(amount * weights)`` of its weights).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from hybrid.neural.regression import MLPRegressor
from sklearn.base import clone

from hybrid.compression import RECIPES
from hybrid.evaluate import compare
from hybrid.evaluate.footprint import model_footprint
from hybrid.evaluate.registry import methods_for, tasks
from hybrid.regression.compressed import CompressedRegressor

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_POWERLAW = {"equations": ["I.14.3", "I.12.1"], "n_test": 20}
_TEACHER = {"widths": [32], "learning_rates": [0.01], "max_epochs": 200, "patience": 20}
#: regression method -> (its settings for the tiny run, what its compression_ must show)
_REGRESSION = {
    "mlp-pruned": {"amount": 0.8},
    "mlp-pruned-structured": {"amount": 0.5},
    "mlp-int8": {},
    "mlp-pruned-int8": {"amount": 0.8},
    "mlp-low-rank": {"energy": 0.5},
    "mlp-distilled": {"factor": 4.0},
    "mlp-lottery": {"amount": 0.5, "rounds": 2},
}


def _data(n: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(1, 5, (n, 2))
    return X, X[:, 0] ** 2 / X[:, 1]


def _weights(net: torch.nn.Module) -> int:
    return sum(m.weight.numel() for m in net.modules() if isinstance(m, torch.nn.Linear))


def _params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_every_compressed_mlp_is_registered_for_the_mlps_tasks():
    compressed = {name for task in tasks() for name, m in methods_for(task).items() if m.family == "compressed-deep"}
    assert set(_REGRESSION) <= compressed
    for task in ("powerlaw", "powerlaw-all", "feynman", "feynman-all"):
        assert set(_REGRESSION) <= set(methods_for(task))
    assert set(RECIPES) == {"prune", "prune-structured", "int8", "prune+int8", "low-rank", "distill", "lottery"}


@pytest.mark.parametrize("name", sorted(_REGRESSION))
def test_registered_compressed_mlp_fits_predicts_and_reports(name):
    entry = methods_for("powerlaw")[name]
    assert entry.family == "compressed-deep"
    task = tasks()["powerlaw"].factory(**_POWERLAW)
    params = {**entry.defaults, **_TEACHER, **_REGRESSION[name], "fine_tune_epochs": 30}
    method = entry.factory(task, seed=0, device="cpu", **params)
    assert method.family == "compressed-deep"
    method.fit(task.train_set(32, 0))
    test = task.test_set(0)
    for pid, problem in test.in_range.items():
        model = method.models_[pid]
        pred = method.predict(pid, problem.X)
        assert pred.shape == (len(problem.X),) and np.isfinite(pred).all()
        # predict runs the compressed network, not the teacher's
        np.testing.assert_array_equal(pred, model.model_.predict(problem.X))
        report = model.compression_
        assert report.method == model.recipe
        d = problem.X.shape[1]
        assert report.parameters_before == d * 32 + 32 + 32 * 32 + 32 + 32 + 1
        assert method.info(pid)["compression"] == report.as_dict()  # stored with the run's per-equation details
    footprint = model_footprint(method)
    assert footprint["nonzero_params"] == sum(m.compression_.nonzero_after for m in method.models_.values())
    assert footprint["params"] == sum(m.compression_.parameters_after for m in method.models_.values())


def test_pruned_mlp_keeps_exactly_the_unpruned_weights_and_stores_them_sparse():
    X, y = _data()
    model = CompressedRegressor(MLPRegressor(**_TEACHER), recipe="prune", amount=0.8, fine_tune_epochs=30).fit(X, y)
    net = model.model_.network_
    weights, params = _weights(net), _params(net)
    report = model.compression_
    assert report.parameters_after == params == report.parameters_before
    assert report.nonzero_after == params - round(0.8 * weights)  # biases are kept
    assert report.bytes_after < report.bytes_before  # sparse storage
    assert model_footprint(model)["model_bytes"] < model_footprint(clone(model.teacher).fit(X, y))["model_bytes"]


def test_structured_pruning_and_distillation_shrink_the_network():
    X, y = _data()
    pruned = CompressedRegressor(MLPRegressor(**_TEACHER), recipe="prune-structured", amount=0.5,
                                 fine_tune_epochs=30).fit(X, y)
    widths = [m.out_features for m in pruned.model_.network_ if isinstance(m, torch.nn.Linear)]
    assert widths == [16, 16, 1]
    assert pruned.compression_.parameters_after == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1
    student = CompressedRegressor(MLPRegressor(**_TEACHER), recipe="distill", factor=4.0,
                                  fine_tune_epochs=30).fit(X, y)
    assert student.compression_.parameters_after <= student.compression_.parameters_before / 4
    assert student.score(X, y) > 0.5


def test_int8_and_lottery_report_what_they_claim():
    X, y = _data()
    int8 = CompressedRegressor(MLPRegressor(**_TEACHER), recipe="int8").fit(X, y)
    linears = [m for m in int8.model_.network_ if "Linear" in type(m).__name__]
    assert linears and all(type(m).__module__.startswith("torch.ao.nn.quantized") for m in linears)
    assert int8.model_.device_.type == "cpu"
    assert int8.compression_.parameters_after == int8.compression_.parameters_before
    assert int8.compression_.bytes_after < int8.compression_.bytes_before
    assert int8.score(X, y) > 0.5
    ticket = CompressedRegressor(MLPRegressor(**_TEACHER), recipe="lottery", amount=0.5, rounds=2,
                                 fine_tune_epochs=50).fit(X, y)
    weights = _weights(ticket.model_.network_)
    kept = weights - round(0.5 * weights)
    kept -= round(0.5 * kept)  # the second round prunes half of what is left
    biases = _params(ticket.model_.network_) - weights
    assert ticket.compression_.nonzero_after == kept + biases


def test_clone_get_params_and_pickle():
    X, y = _data()
    model = CompressedRegressor(MLPRegressor(**_TEACHER), recipe="prune", amount=0.5, fine_tune_epochs=5)
    params = model.get_params()
    assert params["teacher__widths"] == [32] and params["recipe"] == "prune" and params["amount"] == 0.5
    copy = clone(model)
    assert copy.get_params()["teacher__widths"] == [32] and not hasattr(copy, "model_")
    model.fit(X, y)
    assert not hasattr(model.teacher, "network_")  # the teacher passed in stays unfitted
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X[:5]), model.predict(X[:5]))
    assert restored.compression_ == model.compression_


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"recipe": "prune-everything"}, "recipe must be one of"),
        ({"recipe": "prune", "amount": 1.5}, "amount must be a fraction in (0, 1)"),
        ({"recipe": "prune", "amount": 0.0}, "amount must be a fraction in (0, 1)"),
        ({"recipe": "low-rank", "energy": 1.2}, "energy must be a fraction in (0, 1]"),
        ({"recipe": "distill", "factor": 1.0}, "factor must be a number > 1"),
        ({"recipe": "lottery", "rounds": 0}, "rounds must be an integer >= 1"),
        ({"recipe": "prune", "fine_tune_epochs": -1}, "fine_tune_epochs must be an integer >= 0"),
    ],
)
def test_bad_settings_raise_naming_them(setting, message):
    X, y = _data(8)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        CompressedRegressor(MLPRegressor(**_TEACHER), **setting).fit(X, y)


def test_the_evaluator_measures_the_mlp_beside_its_compressions(tmp_path):
    tiny = {**_TEACHER, "fine_tune_epochs": 20}
    records = compare("powerlaw", ["mlp", "mlp-pruned", "mlp-int8"], sizes=[16], seeds=1, jobs=1,
                      out=tmp_path, task_params={"powerlaw": {"equations": ["I.14.3"], "n_test": 20}},
                      method_params={"mlp": _TEACHER, "mlp-pruned": tiny, "mlp-int8": tiny},
                      track_energy=False, progress=False)
    by = {r.config.method: r for r in records}
    assert {m: r.status for m, r in by.items()} == {"mlp": "ok", "mlp-pruned": "ok", "mlp-int8": "ok"}
    assert [by[m].config.family for m in ("mlp", "mlp-pruned", "mlp-int8")] == ["deep", "compressed-deep",
                                                                                "compressed-deep"]
    dense, pruned, int8 = (by[m].inference for m in ("mlp", "mlp-pruned", "mlp-int8"))
    assert pruned["params"] == dense["params"] == int8["params"]
    assert pruned["nonzero_params"] < 0.35 * dense["params"]
    assert pruned["model_bytes"] < dense["model_bytes"] and int8["model_bytes"] < dense["model_bytes"]
    # the teacher's training is charged: the same MLP training (same seed) is inside the compressed runs' fit
    assert by["mlp-int8"].train["flops_torch"] >= by["mlp"].train["flops_torch"] > 0
    # int8 inference is counted (integer multiply-adds, by the float convention), not free
    assert int8["flops_by_op"] == {"quantized.linear_dynamic": dense["flops_torch"]}
    assert by["mlp-pruned"].train["flops_torch"] > by["mlp"].train["flops_torch"]
    assert "mlp-pruned" in (tmp_path / "report.md").read_text()


# ---------------------------------------------------------------------------------------- visual QA

_VQA_TEACHER = {"epochs": 2, "patience": 1, "batch_size": 8, "input_size": 32, "channels": 8, "embed_dim": 8,
                "hidden": 16, "mlp_hidden": 32}
_VQA = ("pruned", "int8", "pruned-int8", "low-rank")


@pytest.fixture(scope="module")
def clevr():
    task = tasks()["clevr"].factory(n_test=10, image_size=64)
    return task, task.train_set(30, 0), task.test_set(0)


def test_every_compressed_vqa_baseline_is_registered():
    for task in ("clevr", "clevr-cogent"):
        found = methods_for(task)
        for name in [f"{base}-{suffix}" for base in ("cnn-lstm", "film") for suffix in _VQA]:
            assert found[name].family == "compressed-deep", name


@pytest.mark.parametrize("name", [f"cnn-lstm-{s}" for s in _VQA] + ["film-pruned", "film-int8"])
def test_compressed_vqa_baseline_fits_answers_and_reports(name, clevr):
    task, train, test = clevr
    entry = methods_for("clevr")[name]
    extra = {"n_blocks": 1, "classifier_channels": 8} if name.startswith("film") else {}
    energy = {"energy": 0.5} if name.endswith("low-rank") else {}
    method = entry.factory(task, seed=0, device="cpu", **{**entry.defaults, **_VQA_TEACHER, **extra, **energy,
                                                          "fine_tune_epochs": 1})
    method.fit(train)
    answers = method.answer(test.images, test.texts()[:5], np.asarray(test.image_index)[:5])
    assert len(answers) == 5 and set(answers) <= set(method.model_.answers_)
    report, net = method.compression_, method.model_.net_
    footprint = model_footprint(method)
    assert footprint["params"] == report.parameters_after and footprint["nonzero_params"] == report.nonzero_after
    if "pruned" in name:  # 80% of the weights of Linear / Conv / recurrent / Embedding layers are zero
        teacher = clone(method.teacher).fit(train.images, train.texts(), train.answers(), train.image_index)
        weights = sum(p.numel() for m in teacher.net_.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d,
                      torch.nn.LSTM, torch.nn.GRU, torch.nn.Embedding))
                      for k, p in m.named_parameters(recurse=False) if k.startswith("weight"))
        expected = report.parameters_before - round(0.8 * weights)
        assert expected - 8 <= report.nonzero_after <= expected  # the Embedding's padding row was already zero
    if "int8" in name:
        assert method.model_.device_.type == "cpu"
        assert any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in net.modules())
        assert report.parameters_after == report.parameters_before
    if name.endswith("low-rank"):
        assert report.parameters_after < report.parameters_before
    assert report.bytes_after < report.bytes_before
    restored = pickle.loads(pickle.dumps(method))
    assert restored.answer(test.images, test.texts()[:5], np.asarray(test.image_index)[:5]) == answers


def test_vqa_recipes_that_do_not_apply_are_refused(clevr):
    from hybrid.neural.vqa.baselines import CNNLSTM

    from hybrid.vqa.compressed import CompressedVQA

    _, train, _ = clevr
    for recipe in ("prune-structured", "distill", "lottery"):
        with pytest.raises(ValueError, match=f"recipe '{recipe}' is not available"):
            CompressedVQA(CNNLSTM(**_VQA_TEACHER), recipe=recipe).fit(train)
    with pytest.raises(ValueError, match="amount must be a fraction"):
        CompressedVQA(CNNLSTM(**_VQA_TEACHER), recipe="prune", amount=1).fit(train)


# ---------------------------------------------------------------------------------------- planning

_POLICIES = [f"{algo}-{suffix}" for algo in ("ppo", "dqn") for suffix in ("pruned", "int8", "pruned-int8")]


@pytest.fixture(scope="module")
def lights_out():
    pytest.importorskip("stable_baselines3")
    task = tasks()["lights-out"].factory(n_test=1, max_steps=5)
    return task, task.train_set(16, 0), task.test_set(0)


def _first_frame(test):
    import gymnasium as gym
    import hybrid.tasks.envs  # noqa: F401  (registers the hybrid/* ids)

    env = gym.make(test.env_id, **test.env_kwargs)
    try:
        ep = test.episodes[0]
        return env.reset(seed=int(ep["seed"]), options=ep.get("options"))[0]
    finally:
        env.close()


@pytest.mark.parametrize("name", ["dqn-pruned", "ppo-int8", "dqn-pruned-int8"])
def test_compressed_policy_acts_and_reports(name, lights_out):
    task, train, test = lights_out
    entry = methods_for("lights-out")[name]
    assert entry.family == "compressed-deep"
    method = entry.factory(task, seed=0, device="cpu", **entry.defaults).fit(train)
    policy = method.model_.model_.policy
    report = method.compression_
    assert isinstance(method.act(_first_frame(test)), int)
    if "pruned" in name:  # half of the Conv / Linear weights (online and target nets together) are zero
        weights = sum(m.weight.numel() for m in method._dense_policy.modules()
                      if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)))
        assert report.nonzero_before - report.nonzero_after == round(0.5 * weights)
    if "int8" in name:
        assert any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in policy.modules())
        assert report.parameters_after == report.parameters_before
        assert report.bytes_after < report.bytes_before
    if name.startswith("dqn"):  # the algorithm's aliases point at the compressed networks
        assert method.model_.model_.q_net is policy.q_net
    footprint = model_footprint(method)
    assert (footprint["params"], footprint["nonzero_params"]) == (report.parameters_after, report.nonzero_after)
    assert footprint["networks"] == ["model_.model_.policy"]


def test_policy_recipes_that_need_more_environment_steps_are_refused(lights_out):
    from hybrid.planning.compressed import CompressedPolicy
    from hybrid.planning.task import DeepRLPolicy

    _, train, _ = lights_out
    with pytest.raises(ValueError, match="recipe 'lottery' is not available"):
        CompressedPolicy(DeepRLPolicy("dqn"), recipe="lottery", fine_tune_epochs=0).fit(train)
    with pytest.raises(ValueError, match="fine_tune_epochs must be 0"):
        CompressedPolicy(DeepRLPolicy("dqn"), recipe="prune", fine_tune_epochs=5).fit(train)


# ---------------------------------------------------------------------------------------- the meter


@pytest.mark.parametrize("layer", ["linear", "lstm", "gru"])
def test_int8_kernels_are_counted_like_the_float_layers_they_replace(layer):
    from hybrid.neural.compress import quantize_dynamic_int8

    from hybrid.evaluate.flops import TorchFlopCounter

    torch.manual_seed(0)
    module = {
        "linear": torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)),
        "lstm": torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True),
        "gru": torch.nn.GRU(4, 6, batch_first=True),
    }[layer]
    x = torch.randn(2, 7, 4) if layer != "linear" else torch.randn(5, 3)
    counted = []
    for model in (module, quantize_dynamic_int8(module)):
        counter = TorchFlopCounter()
        with torch.no_grad(), counter:
            model(x)
        counted.append(counter)
    assert counted[1].total == counted[0].total > 0
    assert set(counted[1].by_op) == {"linear": {"quantized.linear_dynamic"}, "lstm": {"quantized_lstm"},
                                     "gru": {"quantized_gru"}}[layer]


def test_static_int8_kernels_of_quantisation_aware_training_are_counted_like_the_float_layers():
    from hybrid.neural.compress import quantization_aware_training

    from hybrid.evaluate.flops import TorchFlopCounter

    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1, bias=False), torch.nn.BatchNorm2d(4),
                               torch.nn.ReLU())
    model = torch.nn.Sequential(conv, torch.nn.Conv2d(4, 6, 3, groups=2), torch.nn.Flatten(),
                                torch.nn.Linear(6 * 4 * 4, 5))
    x = torch.randn(8, 3, 6, 6)

    def train(net):  # a few steps, so the observers have seen data
        opt = torch.optim.SGD(net.parameters(), lr=1e-3)
        for _ in range(3):
            opt.zero_grad()
            net(x).square().mean().backward()
            opt.step()

    int8 = quantization_aware_training(model, train, fuse=[["0.0", "0.1", "0.2"]])
    counted = []
    for net in (model.eval(), int8):
        counter = TorchFlopCounter()
        with torch.no_grad(), counter:
            net(x)
        counted.append(counter)
    # 8 x (2*4*36*27 + 2*6*16*18 + 2*5*96) by hand: the grouped convolution sees 2 of 4 input channels
    assert counted[1].total == counted[0].total == 8 * (2 * 4 * 36 * 27 + 2 * 6 * 16 * 18 + 2 * 5 * 96)
    assert {"quantized.conv2d_relu", "quantized.conv2d", "quantized.linear"} <= set(counted[1].by_op)


def test_quick_path_runs_the_quick_compressions_only():
    from hybrid.evaluate.registry import methods_for, quick_methods
    from hybrid.regression.register import QUICK_COMPRESSED_MLPS

    quick = set(quick_methods("powerlaw"))
    compressed = {name for name, m in methods_for("powerlaw").items() if m.family == "compressed-deep"}
    assert {"powerlaw-lstsq", "mlp"} <= quick
    assert quick & compressed == set(QUICK_COMPRESSED_MLPS)
