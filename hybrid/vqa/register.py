"""Registers the visual-QA pillar's task and methods with the evaluator."""

from __future__ import annotations

from hybrid.evaluate.registry import register_method, register_task
from hybrid.neural.vqa.baselines import CNNLSTM, FiLM
from hybrid.vqa.compressed import CompressedNSVQA, CompressedVQA
from hybrid.vqa.deep import DeepVQA
from hybrid.vqa.nsvqa import NSVQA
from hybrid.vqa.task import CLEVRTask

CLEVR_TASKS = ("clevr", "clevr-cogent")
#: The end-to-end baselines train until early stopping ends them: an epoch cap far above
#: what that takes (the report flags a run the cap ends) and no wall-clock cap.
DEEP_DEFAULTS = {"epochs": 300, "patience": 5}


def _clevr(**params) -> CLEVRTask:
    return CLEVRTask(**{**params, "name": "clevr"})


def _clevr_cogent(**params) -> CLEVRTask:
    params.setdefault("condition", "AB")
    return CLEVRTask(**{**params, "name": "clevr-cogent"})


def _nsvqa(task, *, seed: int, device: str, **params) -> NSVQA:
    return NSVQA(seed=seed, device=device, **params)


def _deep(cls):
    def factory(task, *, seed: int, device: str, **params) -> DeepVQA:
        return DeepVQA(cls(seed=seed, device=device, **params))

    return factory


#: NS-VQA under ``compare --quick``: its scene parser sees 3,000 image presentations (15,000 in
#: the full run), its question parser 60 supervised epochs (250) and 100 REINFORCE steps (1,000).
QUICK_NSVQA = {"reinforce_steps": 100, "question_parser": {"epochs": 60}, "scene_parser": {"presentations": 3000}}
register_task(
    "clevr",
    _clevr,
    "CLEVR-style VQA on rendered scenes, 90 question templates: answer accuracy, overall and per "
    "question type; x = training QA pairs (--quick: 200 test questions, NS-VQA's training shortened)",
    quick_sizes=(100, 1000),
    quick_seeds=1,
    pillar="visual QA",
    quick_params={"n_test": 200},
    quick_methods={"ns-vqa": QUICK_NSVQA, "cnn-lstm": {}, "cnn-lstm-int8": {}},
)
register_task(
    "clevr-cogent",
    _clevr_cogent,
    "the same, trained on CoGenT condition A and tested on B (held-out colour/shape pairs; not in --quick)",
    quick_sizes=(1000,),
    quick_seeds=1,
    pillar="visual QA",
    in_quick=False,
)
register_method(
    "ns-vqa",
    _nsvqa,
    estimator=NSVQA,
    tasks=CLEVR_TASKS,
    description="NS-VQA: CNN scene parser + seq2seq question parser (<= 270 programs, REINFORCE) -> CLEVR executor",
    defaults={"n_programs": 270, "n_scenes": 1000},
)
register_method(
    "cnn-lstm",
    _deep(CNNLSTM),
    estimator=DeepVQA,
    tasks=CLEVR_TASKS,
    description="CNN+LSTM end to end on (image, question, answer); trained to convergence",
    defaults=DEEP_DEFAULTS,
)
register_method(
    "film",
    _deep(FiLM),
    estimator=DeepVQA,
    tasks=CLEVR_TASKS,
    description="FiLM (Perez et al. 2018) end to end on (image, question, answer); trained to convergence",
    defaults=DEEP_DEFAULTS,
)

#: suffix -> (recipe, settings, description): the compressions of each end-to-end baseline
#: (``compressed-deep``; the teacher's training runs inside their fit and is charged to them).
COMPRESSIONS: dict[str, tuple[str, dict, str]] = {
    "pruned": ("prune", {"amount": 0.8}, "80% of its weights magnitude-pruned (global), fine-tuned; stored sparse"),
    "int8": ("int8", {"fine_tune_epochs": 0},
             "dynamic int8 of its Linear and recurrent layers (CPU; convolutions stay float)"),
    "pruned-int8": ("prune+int8", {"amount": 0.8}, "80% pruned and fine-tuned, then dynamic int8"),
    "low-rank": ("low-rank", {"energy": 0.9}, "Linear and Conv2d weights factorised by truncated SVD "
                 "(90% energy), fine-tuned"),
}
#: Settings of :class:`CompressedVQA` (the rest of a method's parameters go to the teacher).
_COMPRESSION_PARAMS = ("amount", "energy", "factor", "rounds", "fine_tune_epochs")


def _compressed(cls, recipe: str):
    def factory(task, *, seed: int, device: str, **params) -> CompressedVQA:
        settings = {k: params.pop(k) for k in _COMPRESSION_PARAMS if k in params}
        return CompressedVQA(cls(seed=seed, device=device, **params), recipe=recipe, seed=seed, **settings)

    return factory


for _base, _cls, _label in (("cnn-lstm", CNNLSTM, "CNN+LSTM"), ("film", FiLM, "FiLM")):
    for _suffix, (_recipe, _settings, _description) in COMPRESSIONS.items():
        register_method(
            f"{_base}-{_suffix}",
            _compressed(_cls, _recipe),
            estimator=CompressedVQA,
            tasks=CLEVR_TASKS,
            description=f"{_label}, {_description} (its training is charged to it)",
            defaults={**DEEP_DEFAULTS, "fine_tune_epochs": 20, **_settings},
        )

#: suffix -> (recipe, settings, description): NS-VQA's own parsers compressed (family ``hybrid``:
#: the approaches combine; its training runs inside their fit and is charged to them).
HYBRID_COMPRESSIONS: dict[str, tuple[str, dict, str]] = {
    "int8": ("int8", {}, "its question parser's LSTM and Linear layers dynamic int8 (CPU)"),
    "pruned": ("prune", {"amount": 0.8}, "80% of each layer of its scene parser CNN magnitude-pruned, fine-tuned to "
               "match the dense CNN's outputs on its training images; stored sparse"),
    "pruned-int8": ("prune+int8", {"amount": 0.8}, "scene parser 80% pruned and fine-tuned, question parser int8"),
}
_HYBRID_COMPRESSION_PARAMS = ("amount", "fine_tune_epochs", "lr", "batch_size")


def _compressed_nsvqa(recipe: str):
    def factory(task, *, seed: int, device: str, **params) -> CompressedNSVQA:
        settings = {k: params.pop(k) for k in _HYBRID_COMPRESSION_PARAMS if k in params}
        return CompressedNSVQA(NSVQA(seed=seed, device=device, **params), recipe=recipe, seed=seed, **settings)

    return factory


for _suffix, (_recipe, _settings, _description) in HYBRID_COMPRESSIONS.items():
    register_method(
        f"ns-vqa-{_suffix}",
        _compressed_nsvqa(_recipe),
        estimator=CompressedNSVQA,
        tasks=CLEVR_TASKS,
        description=f"NS-VQA, {_description} (its training is charged to it)",
        defaults={"n_programs": 270, "n_scenes": 1000, "fine_tune_epochs": 10, **_settings},
    )
