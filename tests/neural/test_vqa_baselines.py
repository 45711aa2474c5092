"""The end-to-end VQA baselines: they learn, answer with known strings, round-trip, and refuse bad input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hybrid.neural.vqa.baselines import CNNLSTM, FiLM  # noqa: E402
from hybrid.tasks.clevr import SceneObject, render_scene  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

COLORS = ("red", "blue", "green", "yellow")
SHAPES = ("cube", "sphere", "cylinder")
SMALL = {"input_size": 32, "channels": 16, "embed_dim": 16, "hidden": 32, "mlp_hidden": 64}
MODELS = {"CNNLSTM": (CNNLSTM, SMALL), "FiLM": (FiLM, {**SMALL, "n_blocks": 2, "classifier_channels": 16})}


@pytest.fixture(scope="module")
def data():
    """Single-object scenes (32x32) with a colour and a shape question each: answers read off the image."""
    rng = np.random.default_rng(0)
    images, questions, answers, index = [], [], [], []
    for i in range(64):
        color, shape = COLORS[rng.integers(len(COLORS))], SHAPES[rng.integers(len(SHAPES))]
        x, y = rng.uniform(-2, 2, size=2)
        obj = SceneObject(shape, color, "large", "rubber", (float(x), float(y), 0.7))
        images.append(render_scene([obj], 32).image)
        questions += ["What color is the object?", "What shape is the thing?"]
        answers += [color, shape]
        index += [i, i]
    return np.stack(images), questions, answers, np.array(index)


def _model(name, **kw):
    cls, sizes = MODELS[name]
    return cls(**{"epochs": 12, "batch_size": 32, "val_fraction": 0.0, "seed": 0, **sizes, **kw})


@pytest.fixture(scope="module")
def fitted(data):
    return {name: _model(name).fit(*data) for name in MODELS}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_learns_above_majority(fitted, data, name):
    images, questions, answers, index = data
    model = fitted[name]
    assert model.family == "deep"
    accuracy = model.score(images, questions, answers, index)
    majority = max(answers.count(a) for a in set(answers)) / len(answers)
    assert accuracy > majority + 0.25, (accuracy, majority)
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_predict_gives_known_answers_and_tolerates_unknown_words(fitted, data, name):
    images, _, answers, _ = data
    model = fitted[name]
    assert model.answers_ == sorted(set(answers))
    pred = model.predict(images[:3], ["What colour is the flibbertigibbet?", "", "What shape is the thing?"])
    assert len(pred) == 3 and all(isinstance(p, str) and p in model.answers_ for p in pred)
    # The colour question about each image is answered with a colour, the shape one with a shape.
    colours = model.predict(images, ["What color is the object?"] * len(images))
    shapes = model.predict(images, ["What shape is the thing?"] * len(images))
    assert np.mean([c in COLORS for c in colours]) > 0.9
    assert np.mean([s in SHAPES for s in shapes]) > 0.9


@pytest.mark.parametrize("name", sorted(MODELS))
def test_predict_resizes_other_image_sizes(fitted, name):
    obj = SceneObject("cube", "red", "large", "rubber", (0.0, 0.0, 0.7))
    image = render_scene([obj], 64).image[None]
    assert fitted[name].predict(image, ["What color is the object?"])[0] in fitted[name].answers_


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_load_round_trip(fitted, data, name, tmp_path):
    images, questions, _, index = data
    model = fitted[name]
    path = tmp_path / "model.pt"
    model.save(path)
    loaded = type(model).load(path)
    assert loaded.get_params() == model.get_params()
    assert loaded.predict(images, questions, index) == model.predict(images, questions, index)
    other = FiLM if type(model) is CNNLSTM else CNNLSTM
    with pytest.raises(ValueError, match="path"):
        other.load(path)


def test_same_seed_same_model_and_time_budget(data):
    images, questions, answers, index = data
    a = _model("CNNLSTM", epochs=2).fit(images, questions, answers, index)
    b = _model("CNNLSTM", epochs=2).fit(images, questions, answers, index)
    assert [h["loss"] for h in a.history_] == [h["loss"] for h in b.history_]
    assert a.predict(images, questions, index) == b.predict(images, questions, index)
    quick = _model("CNNLSTM", epochs=50, max_seconds=0).fit(images, questions, answers, index)
    assert len(quick.history_) == 1


def test_validation_keeps_best_epoch(data):
    model = _model("FiLM", epochs=6, val_fraction=0.25, patience=2).fit(*data)
    vals = [h["val_acc"] for h in model.history_]
    assert all(v is not None and 0 <= v <= 1 for v in vals)
    assert vals[model.best_epoch_ - 1] == max(vals)
    assert len(vals) - model.best_epoch_ <= 2


@pytest.mark.parametrize(
    "change, argument",
    [
        (lambda d: {**d, "images": d["images"].astype(np.float32)}, "images"),
        (lambda d: {**d, "images": d["images"][..., 0]}, "images"),
        (lambda d: {**d, "images": np.zeros((0, 32, 32, 3), np.uint8)}, "images"),
        (lambda d: {**d, "questions": []}, "questions"),
        (lambda d: {**d, "questions": "What color is it?"}, "questions"),
        (lambda d: {**d, "answers": d["answers"][:-1]}, "answers"),
        (lambda d: {**d, "answers": [1] * len(d["answers"])}, "answers"),
        (lambda d: {**d, "image_index": d["image_index"][:-1]}, "image_index"),
        (lambda d: {**d, "image_index": d["image_index"] + 1}, "image_index"),
        (lambda d: {**d, "image_index": None}, "image_index"),
    ],
)
def test_bad_input_raises_value_error_naming_it(data, change, argument):
    images, questions, answers, index = data
    kwargs = change({"images": images, "questions": questions, "answers": answers, "image_index": index})
    with pytest.raises(ValueError, match=argument):
        _model("CNNLSTM", epochs=1).fit(**kwargs)


def test_bad_settings_and_unfitted_use(fitted, data):
    images, questions, answers, index = data
    with pytest.raises(ValueError, match="epochs"):
        CNNLSTM(epochs=0).fit(images, questions, answers, index)
    with pytest.raises(ValueError, match="device"):
        FiLM(device="tpu").fit(images, questions, answers, index)
    with pytest.raises(TypeError, match="n_blocks"):  # a FiLM size: CNNLSTM has no such argument
        CNNLSTM(n_blocks=2)
    with pytest.raises(NotFittedError, match="fit"):
        FiLM().predict(images, questions, index)
    with pytest.raises(ValueError, match="image_index"):
        fitted["FiLM"].predict(images, questions, index + len(images))
    with pytest.raises(ValueError, match="batch_size"):
        fitted["FiLM"].predict(images, questions, index, batch_size=0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_constructor_arguments_are_the_parameters(name):
    cls, sizes = MODELS[name]
    model = cls(epochs=3, patience=2, clip_norm=None, **sizes)
    params = model.get_params()
    assert params["epochs"] == 3 and params["patience"] == 2 and params["clip_norm"] is None
    assert {k: params[k] for k in sizes} == sizes
    assert set(params) == {*cls._net_args, "epochs", "batch_size", "lr", "weight_decay", "val_fraction",
                           "patience", "clip_norm", "max_seconds", "seed", "device", "progress"}
    assert clone(model).get_params() == params
    assert model.set_params(hidden=8).hidden == 8
