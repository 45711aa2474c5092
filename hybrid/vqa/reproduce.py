"""``hybrid reproduce ns-vqa``: NS-VQA's table on CLEVR-style scenes, deep baselines beside it.

Stages, each stored in ``OUT/stages/<name>.json`` as soon as it finishes (rerun the same
command and finished stages are read back, not redone):

1. ``executor``: the executor on ground-truth scenes against the generator's answers
   (agreement, and questions per second from CLEVR JSON programs on one core);
2. ``scene_parser``: the CNN scene parser trained on the annotated training scenes,
   scored on held-out scenes (objects with all four attributes right);
3. ``nsvqa_K`` for each number of annotated programs ``K``: the question parser trained
   on ``K`` programs then by REINFORCE on the training QA pairs, the whole pipeline
   scored on the held-out questions (accuracy by question type, exact programs);
4. ``cogent``: everything trained on CoGenT condition A, tested on A and on B;
5. ``deep_<model>_<n>``: CNN+LSTM and FiLM trained end to end on ``n`` QA pairs, each
   to convergence: early stopping on a validation split ends it, with an epoch cap far
   above what that takes and no wall-clock cap (a run the cap ends is flagged).

Every training stage and every scoring is metered (:class:`~hybrid.evaluate.meter.Meter`):
FLOPs (recurrent layers included), seconds, energy; the summary compares the hybrid's
training FLOPs with each baseline's, and also gives those FLOPs without the recurrent
kernels' formulas, i.e. what was counted before the fused LSTM had one.

It writes ``ns_vqa.md`` (the tables), ``summary.json`` and the trained pipeline
(largest ``K``) in ``OUT/model/``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from hybrid.evaluate.footprint import model_footprint
from hybrid.evaluate.meter import Meter
from hybrid.evaluate.stages import StageStore, dumps_strict
from hybrid.neural.vqa.baselines import CNNLSTM, FiLM
from hybrid.neural.vqa.scene_parser import SceneParser, object_accuracy
from hybrid.symbolic.programs import answer_text, execute
from hybrid.vqa.data import VQAData, blender_vqa_data, make_vqa_data
from hybrid.vqa.nsvqa import NSVQA, program_tokens
from hybrid.vqa.task import QUESTIONS_PER_SCENE, accuracy_by_template, accuracy_by_type

DEEP_MODELS: dict[str, Callable[..., Any]] = {"cnn-lstm": CNNLSTM, "film": FiLM}
#: Stage key of the metered stages: stages stored before FLOPs were counted (or counted
#: without the recurrent kernels) are run again, not read back.
METERED = {"metered": "flops-with-rnn-kernels"}
#: Stage key of the NS-VQA stages: pipelines stored before typed decoding was the default are run again.
PIPELINE = {"question_parser": "typed"}


def _settings(quick: bool, renderer: str = "numpy") -> dict[str, Any]:
    cfg = _numpy_settings(quick)
    if renderer == "blender":
        # Each picture is a Cycles render (~1 s on 2 cores): CoGenT gets fewer scenes, and
        # the baselines train on the rendered training pool only.
        # Small objects are ~6 pixels wide at 128 (shape errors on small cubes and spheres
        # dominated a first run there): the scene parser reads them at 192.
        cfg.update({"programs": [max(cfg["programs"])], "cogent_scenes": 100 if quick else 500,
                    "cogent_test_questions": 500 if quick else 2000, "image_size": 192,
                    "scene_parser": {**cfg["scene_parser"], **({} if quick else {"presentations": 24_000})},
                    "deep_budgets": [b for b in cfg["deep_budgets"] if b <= cfg["train_scenes"] * QUESTIONS_PER_SCENE]})
    return cfg


def _numpy_settings(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "train_scenes": 300,
            "test_questions": 2000,
            "executor_questions": 10000,
            "programs": [90, 270],
            "reinforce_steps": 200,
            "cogent_scenes": 300,
            "deep_budgets": [300, 3000],
            "deep_epochs": 10,
            "deep_patience": 3,
            "scene_parser": {"epochs": 20},
            "question_parser": {"epochs": 80},
            "cogent_test_questions": 2000,
        }
    return {
        "train_scenes": 1000,
        "test_questions": 10000,
        "executor_questions": 100000,
        "programs": [90, 270],
        "reinforce_steps": 1000,
        "cogent_scenes": 1000,
        "deep_budgets": [1000, 10000, 100000],
        "deep_epochs": 300,
        "deep_patience": 5,
        "scene_parser": {},
        "question_parser": {},
        "cogent_test_questions": 5000,
    }


def executor_benchmark(n_questions: int, seed: int) -> dict[str, Any]:
    """Run generated questions' JSON programs on their ground-truth scenes.

    Returns:
        ``questions``, ``agreement`` (share whose answer equals the generator's),
        ``invalid`` (programs that did not run), ``questions_per_s`` (parse, validate and
        run from CLEVR's JSON node lists, one thread, wall clock) and ``questions_per_cpu_s``
        (the same per CPU second of the process).
    """
    from hybrid.tasks.clevr import generate_dataset

    scenes, questions = generate_dataset(math.ceil(n_questions / QUESTIONS_PER_SCENE), QUESTIONS_PER_SCENE,
                                         np.random.default_rng([seed, 7]))
    questions = questions[:n_questions]
    programs = [json.loads(json.dumps(list(q.program))) for q in questions]  # as read from a file
    start, cpu_start = time.perf_counter(), time.process_time()
    results = [execute(p, scenes[q.image_index]) for p, q in zip(programs, questions, strict=True)]
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    agree = sum(r.valid and answer_text(r) == str(q.answer) for r, q in zip(results, questions, strict=True))
    return {
        "questions": len(questions),
        "agreement": agree / len(questions),
        "invalid": sum(not r.valid for r in results),
        "questions_per_s": len(questions) / seconds,
        # per second of this process's CPU time: what one core does when others share it
        "questions_per_cpu_s": len(questions) / cpu_seconds,
    }


#: FLOPs of these ops were not counted before the project had formulas for the fused recurrent kernels.
RNN_KERNELS = ("mkldnn_rnn_layer", "mkldnn_rnn_layer_backward", "_cudnn_rnn", "_cudnn_rnn_backward",
               "miopen_rnn", "miopen_rnn_backward")


def metered(fn: Callable[[], Any], device: str) -> tuple[Any, dict[str, Any]]:
    """``fn()`` under a :class:`~hybrid.evaluate.meter.Meter` phase; returns its result and the phase's measures.

    The measures are the phase's ``to_dict()`` plus ``flops_without_rnn_kernels``: the
    FLOPs less those of the fused recurrent kernels (:data:`RNN_KERNELS`).
    """
    meter = Meter(device)
    with meter.phase("work"):
        result = fn()
    measures = meter.phases["work"].to_dict()
    measures["flops_without_rnn_kernels"] = measures["flops"] - sum(
        v for k, v in measures["flops_by_op"].items() if k in RNN_KERNELS)
    return result, measures


def _cost(measures: dict[str, Any]) -> dict[str, Any]:
    """The figures of a phase the stage files keep."""
    keys = ("wall_s", "cpu_s", "flops", "flops_without_rnn_kernels", "flops_by_op", "energy_kwh", "co2e_kg",
            "energy_source", "peak_rss_bytes", "gpu_peak_bytes")
    return {k: measures[k] for k in keys if k in measures}


def _score_pipeline(model: NSVQA, test: VQAData, device: str = "cpu") -> dict[str, Any]:
    answered, cost = metered(lambda: model.run(test.images, test.texts(), test.image_index), device)
    seconds = cost["wall_s"]
    acc, by_type = accuracy_by_type(test, [a.answer for a in answered])
    by_template = accuracy_by_template(test, [a.answer for a in answered])
    worst = min(by_template, key=by_template.get)
    return {
        "inference": _cost(cost),
        "accuracy": acc,
        "accuracy_by_type": by_type,
        "accuracy_by_template": by_template,
        "min_template": [worst, by_template[worst]],
        "program_accuracy": float(
            np.mean([list(a.program) == program_tokens(q) for a, q in zip(answered, test.questions, strict=True)])
        ),
        "invalid_programs": sum(not a.valid for a in answered),
        "inference_seconds": seconds,
    }


class Pictures:
    """The pictures a run uses: the numpy renders its data come with, or Blender renders
    of the same scenes (``renderer="blender"``, cached under ``folder/<name>``).

    Args:
        renderer: ``"numpy"`` or ``"blender"``.
        folder: where Blender renders go (``OUT/renders``).
        settings: a :class:`~hybrid.tasks.clevr.blender.BlenderSettings` for Blender.
        progress: tqdm bars over renders.

    Attributes:
        stats: per data set name, what :func:`~hybrid.vqa.data.blender_vqa_data` reported
            (render time and images per second as measured when the renders were made).
    """

    def __init__(self, renderer: str, folder: Path, settings=None, progress: bool = True,
                 image_size: int = 128) -> None:
        if renderer not in ("numpy", "blender"):
            raise ValueError(f"renderer must be 'numpy' or 'blender', got {renderer!r}")
        self.renderer, self.folder, self.settings, self.progress = renderer, Path(folder), settings, progress
        self.image_size = image_size
        self.stats: dict[str, dict[str, Any]] = {}

    @property
    def blender(self) -> bool:
        """Whether pictures are Blender renders."""
        return self.renderer == "blender"

    def __call__(self, data: VQAData, name: str) -> VQAData:
        """``data`` as this run pictures it (Blender: scenes CLEVR would re-draw dropped)."""
        if not self.blender:
            return data
        pictured, stats = blender_vqa_data(data, self.folder / name, self.settings, progress=self.progress,
                                           image_size=self.image_size)
        record = self.folder / name / "render_stats.json"
        if stats["rendered"] == 0 and record.is_file():  # all from the cache: the figures of when they were made
            stats = {**json.loads(record.read_text()), "dropped": stats["dropped"], "scenes": stats["scenes"]}
        elif stats["rendered"]:
            record.write_text(json.dumps(stats))
        self.stats[name] = stats
        return pictured

    def scene_parser_args(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """The scene parser's arguments: what it needs to read these pictures (their positions
        and size), then ``given`` (the run's settings, which win)."""
        needed = {"positions": "recorded", "image_size": self.image_size} if self.blender else {}
        return {**needed, **(given or {})}

    @property
    def match_on(self) -> str:
        """How parsed objects are matched to the truth (:func:`~hybrid.neural.vqa.scene_parser.object_accuracy`)."""
        return "pixels" if self.blender else "coords"

    def test_scenes(self, n_questions: int) -> int:
        """Scenes to generate for ``n_questions`` test questions (Blender drops some: 9% of
        500 CoGenT scenes had an object under CLEVR's pixel floor)."""
        n = math.ceil(n_questions / QUESTIONS_PER_SCENE) + 1
        return math.ceil(n * 1.15) if self.blender else n


def reproduce_data(cfg: dict[str, Any], seed: int, pictures: Pictures) -> tuple[VQAData, VQAData]:
    """The run's training and test data: ``cfg["train_scenes"]`` scenes of 10 questions,
    and ``cfg["test_questions"]`` questions about fresh scenes, pictured by ``pictures``."""
    train = pictures(make_vqa_data(cfg["train_scenes"], QUESTIONS_PER_SCENE, np.random.default_rng([seed, 0]),
                                   split="train"), "train")
    test = pictures(make_vqa_data(pictures.test_scenes(cfg["test_questions"]), QUESTIONS_PER_SCENE,
                                  np.random.default_rng([seed, 1]), split="val"), "val").subset(cfg["test_questions"])
    return train, test


def reproduce_ns_vqa(
    out: Path,
    *,
    quick: bool = False,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    deep: bool = True,
    hybrid: bool = True,
    renderer: str = "numpy",
    render_samples: int = 16,
    render_device: str = "cpu",
    training_seeds: int = 1,
    cogent: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every stage (see the module docstring) and write the report.

    Args:
        out: output folder (stages, ``ns_vqa.md``, ``summary.json``, ``model/``).
        quick: the small settings (minutes on 2 cores) instead of the full ones.
        seed: data and model seed.
        device: where the networks train.
        progress: tqdm bars.
        deep: also train the end-to-end baselines.
        hybrid: run the executor and NS-VQA stages; ``False`` runs only the baselines'
            stages (to split the work over two processes; a later full call reads every
            stored stage and writes the summary).
        renderer: ``"numpy"`` (this package's renderer) or ``"blender"`` (Cycles renders of
            the same scenes with CLEVR's assets: the ``render`` extra; renders are cached in
            ``OUT/renders``, so a rerun does not render again).
        render_samples: Cycles samples per pixel for Blender renders.
        render_device: ``"cpu"``, ``"cuda"`` or ``"optix"``: where Cycles renders.
        training_seeds: when > 1, also train and score the 270-program pipeline (scene
            parser and question parser) with training seeds ``0 .. training_seeds - 1`` on
            the same data (stages ``seed_<s>``): the seed table of mean, worst seed and
            worst template.
        cogent: run the CoGenT stage (with Blender it renders ~1,000 more pictures and
            trains a second pipeline); ``False`` leaves it out of the summary.
        log: where one-line progress messages go.

    Returns:
        The summary written to ``summary.json``.
    """
    cfg = _settings(quick, renderer)
    out = Path(out)
    stages = StageStore(out / "stages")
    settings = None
    if renderer == "blender":
        from hybrid.tasks.clevr.blender import BlenderSettings

        settings = BlenderSettings(samples=render_samples, device=render_device)
    pictures = Pictures(renderer, out / "renders", settings, progress, image_size=cfg.get("image_size", 128))
    log(f"generating data ({renderer} renders) ...")
    train, test = reproduce_data(cfg, seed, pictures)
    log(f"train: {len(train.scenes)} scenes, {len(train)} QA pairs; test: {len(test.scenes)} scenes, {len(test)} QA")
    picture_key = ({"renderer": renderer, "samples": render_samples, "image_size": pictures.image_size,
                    "camera": "dlt+reprojection"} if pictures.blender else {})

    if not hybrid:
        return _deep_only(stages, cfg, train, test, seed, device, progress, log) if deep else {}

    executor = stages.run("executor", lambda: executor_benchmark(cfg["executor_questions"], seed))
    log(f"executor: {executor['agreement']:.4%} agreement on {executor['questions']} questions, "
        f"{executor['questions_per_s']:.0f} questions/s")

    scene_parser: SceneParser | None = None

    def fit_scene_parser() -> dict[str, Any]:
        nonlocal scene_parser
        scene_parser, cost = metered(lambda: SceneParser(seed=seed, device=device, progress=progress,
                                                         **pictures.scene_parser_args(cfg["scene_parser"])
                                                         ).fit(train.images, train.scenes),
                                     device)
        scene_parser.save(out / "stages" / "scene_parser.pt")
        score = object_accuracy(scene_parser.parse(test.images), test.scenes, match_on=pictures.match_on)
        return {"train_scenes": len(train.scenes), "train_seconds": cost["wall_s"], "train": _cost(cost),
                "params": model_footprint(scene_parser)["params"], **score}

    sp = stages.run("scene_parser", fit_scene_parser, key={**METERED, **picture_key})
    if scene_parser is None:
        scene_parser = SceneParser.load(out / "stages" / "scene_parser.pt", device=device)
    log(f"scene parser: {sp['object_accuracy']:.4%} of objects right ({sp['train_seconds']:.0f} s)")

    pipelines: dict[str, dict[str, Any]] = {}
    for k in cfg["programs"]:

        def fit_pipeline(k: int = k) -> dict[str, Any]:
            model, cost = metered(
                lambda: NSVQA(n_programs=k, reinforce_steps=cfg["reinforce_steps"],
                              question_parser=cfg["question_parser"], seed=seed, device=device,
                              progress=progress).fit(train, scene_parser=scene_parser), device)
            seconds = cost["wall_s"]
            if k == max(cfg["programs"]):
                model.save(out / "model")
            # The pipeline's training is the scene parser's plus the question parser's.
            flops = {key: sp["train"][key] + cost[key] for key in ("flops", "flops_without_rnn_kernels")}
            return {"programs": model.n_programs_used_, "scenes": model.n_scenes_used_, "qa_pairs": model.n_qa_used_,
                    "question_parser_seconds": seconds, "train_seconds": seconds + sp["train_seconds"],
                    "question_parser_train": _cost(cost), "train_flops": flops["flops"],
                    "train_flops_without_rnn_kernels": flops["flops_without_rnn_kernels"],
                    "params": model_footprint(model)["params"], **_score_pipeline(model, test, device)}

        pipelines[str(k)] = stages.run(f"nsvqa_{k}", fit_pipeline, key={**METERED, **picture_key, **PIPELINE})
        row = pipelines[str(k)]
        log(f"NS-VQA, {k} programs: accuracy {row['accuracy']:.4%}, programs exact {row['program_accuracy']:.4%}")

    seed_rows = {}
    if training_seeds > 1:
        for s in range(training_seeds):

            def fit_seed(s: int = s) -> dict[str, Any]:
                if s == seed:  # the run's own seed: the pipeline just trained, scored again
                    best = pipelines[str(max(cfg["programs"]))]
                    return seed_stage(cfg, s, train, test, pictures, device, progress,
                                      trained=(NSVQA.load(out / "model", device=device), best["train_seconds"]))
                return seed_stage(cfg, s, train, test, pictures, device, progress, save_to=out / "seeds" / f"seed_{s}")

            seed_rows[str(s)] = stages.run(f"seed_{s}", fit_seed, key={**METERED, **picture_key, **PIPELINE})
            row = seed_rows[str(s)]
            log(f"training seed {s}: accuracy {row['accuracy']:.4%} (guided {row['guided']['accuracy']:.4%}), "
                f"worst template {row['min_template'][0]} {row['min_template'][1]:.2%}, "
                f"objects right {row['object_accuracy']:.4%}")

    cog = None
    if cogent:
        cog = stages.run("cogent", lambda: cogent_stage(cfg, seed, device, progress, pictures),
                         key={**picture_key, **PIPELINE})
        log(f"CoGenT: A {cog['A']['accuracy']:.4%}, B {cog['B']['accuracy']:.4%} "
            f"(drop {cog['drop_points']:.2f} points)")

    deep_rows = _deep_stages(stages, cfg, train, test, seed, device, progress, log) if deep else {}
    summary = _summary(cfg, quick, executor, sp, pipelines, cog, deep_rows, len(train))
    summary["renderer"] = renderer
    summary["settings"]["render_samples"] = render_samples if pictures.blender else None
    summary["renders"] = pictures.stats
    if seed_rows:
        summary["seeds"] = _seed_summary(seed_rows)
    (out / "summary.json").write_text(dumps_strict(summary, indent=2))
    _write_table(out / "ns_vqa.md", summary)
    return summary


def cogent_stage(cfg: dict[str, Any], seed: int, device: str, progress: bool,
                 pictures: Pictures | None = None) -> dict[str, Any]:
    """Train the pipeline on CoGenT condition A; score it on fresh A and B scenes."""
    pictures = pictures or Pictures("numpy", Path("."))
    train_a, tests = cogent_data(cfg, seed, pictures)
    model = NSVQA(n_programs=max(cfg["programs"]), reinforce_steps=cfg["reinforce_steps"], seed=seed,
                  device=device, scene_parser=pictures.scene_parser_args(cfg["scene_parser"]),
                  question_parser=cfg["question_parser"], progress=progress).fit(train_a)
    result: dict[str, Any] = {"train_scenes": len(train_a.scenes)}  # Blender drops a few
    for c, data in tests.items():
        result[c] = {**_score_pipeline(model, data, device),
                     "object_accuracy": object_accuracy(model.parse_scenes(data.images), data.scenes,
                                                        match_on=pictures.match_on)["object_accuracy"]}
    result["drop_points"] = 100 * (result["A"]["accuracy"] - result["B"]["accuracy"])
    return result


def cogent_data(cfg: dict[str, Any], seed: int, pictures: Pictures) -> tuple[VQAData, dict[str, VQAData]]:
    """CoGenT's data: training scenes of condition A, and test questions on fresh A and B scenes."""
    train_a = pictures(make_vqa_data(cfg["cogent_scenes"], QUESTIONS_PER_SCENE, np.random.default_rng([seed, 10]),
                                     condition="A", split="cogentA"), "cogent_train_A")
    n_test = min(cfg["test_questions"], cfg.get("cogent_test_questions", 5000))
    tests = {c: pictures(make_vqa_data(pictures.test_scenes(n_test), QUESTIONS_PER_SCENE,
                                       np.random.default_rng([seed, 11 if c == "A" else 12]), condition=c,
                                       split=f"cogent{c}val"), f"cogent_test_{c}").subset(n_test)
             for c in ("A", "B")}
    return train_a, tests


def seed_stage(cfg: dict[str, Any], seed: int, train: VQAData, test: VQAData, pictures: Pictures, device: str,
               progress: bool, trained: tuple[NSVQA, float] | None = None,
               save_to: Path | None = None) -> dict[str, Any]:
    """The 270-program pipeline trained with training seed ``seed`` on the run's data, scored
    on its test questions (accuracy, per type and per template, objects right).

    ``trained``: ``(pipeline, its training seconds)`` already trained with this seed (the
    run's own), scored without training it again. ``save_to``: a folder to save a newly
    trained pipeline in (``NSVQA.load`` reads it back)."""
    k = max(cfg["programs"])
    if trained is not None:
        model, cost = trained[0], {"wall_s": trained[1]}
    else:
        model, cost = metered(
            lambda: NSVQA(n_programs=k, reinforce_steps=cfg["reinforce_steps"], seed=seed, device=device,
                          scene_parser=pictures.scene_parser_args(cfg["scene_parser"]),
                          question_parser=cfg["question_parser"], progress=progress).fit(train), device)
        if save_to is not None:
            model.save(save_to)
    objects = object_accuracy(model.parse_scenes(test.images), test.scenes,
                              match_on=pictures.match_on)["object_accuracy"]
    row = {"seed": seed, "train_seconds": cost["wall_s"], "object_accuracy": objects,
           **_score_pipeline(model, test, device)}
    # the same networks answering with the other decoding (decoding only: no retraining)
    default = model.guided_decoding
    model.guided_decoding = not default
    other = _score_pipeline(model, test, device)
    model.guided_decoding = default
    keys = ("accuracy", "accuracy_by_type", "accuracy_by_template", "min_template", "invalid_programs")
    row["unguided" if default else "guided"] = {k: other[k] for k in keys}
    return row


def _seed_summary(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Mean and worst over training seeds, and the worst template of any seed (also for the
    other decoding, ``guided``, when the rows carry it)."""

    def over(rs: dict[str, dict[str, Any]]) -> dict[str, Any]:
        accs = [r["accuracy"] for r in rs.values()]
        worst = min((r["min_template"][1], r["min_template"][0], s) for s, r in rs.items())
        return {"accuracy_mean": float(np.mean(accs)), "accuracy_min": float(np.min(accs)),
                "min_template": {"accuracy": worst[0], "template": worst[1], "seed": worst[2]}}

    out = {"seeds": len(rows), **over(rows),
           "object_accuracy_min": float(min(r["object_accuracy"] for r in rows.values())), "by_seed": rows}
    if all("guided" in r for r in rows.values()):
        out["guided"] = over({s: r["guided"] for s, r in rows.items()})
    return out


def _deep_stages(stages: StageStore, cfg, train: VQAData, test: VQAData, seed: int, device: str, progress: bool,
                 log: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Train and score each end-to-end baseline at each QA budget (stored stage by stage)."""
    deep_rows: dict[str, dict[str, Any]] = {}
    for n in cfg["deep_budgets"]:
        data = None
        for name, cls in DEEP_MODELS.items():

            def fit_deep(n: int = n, name: str = name, cls=cls) -> dict[str, Any]:
                nonlocal data
                if data is None:
                    data = _deep_train_set(train, n, seed)
                model = cls(seed=seed, device=device, progress=progress, epochs=cfg["deep_epochs"],
                            patience=cfg["deep_patience"])
                _, cost = metered(lambda: model.fit(data.images, data.texts(), data.answers(), data.image_index),
                                  device)
                predicted, inference = metered(
                    lambda: model.predict(test.images, test.texts(), test.image_index), device)
                acc, by_type = accuracy_by_type(test, predicted)
                return {"qa_pairs": len(data), "train_seconds": cost["wall_s"], "accuracy": acc,
                        "accuracy_by_type": by_type, "epochs": model.n_iter_, "best_epoch": model.best_epoch_,
                        "stopped_by": model.stopped_by_, "epoch_cap": cfg["deep_epochs"],
                        "train": _cost(cost), "train_flops": cost["flops"],
                        "train_flops_without_rnn_kernels": cost["flops_without_rnn_kernels"],
                        "inference": _cost(inference), "params": model_footprint(model)["params"]}

            row = stages.run(f"deep_{name}_{n}", fit_deep, key={**METERED, "epochs": cfg["deep_epochs"],
                                                                 "patience": cfg["deep_patience"]})
            deep_rows.setdefault(name, {})[str(n)] = row
            log(f"{name} on {n} QA pairs: accuracy {row['accuracy']:.4%} ({row['train_seconds']:.0f} s, "
                f"{row['epochs']} epochs, {row['stopped_by']})")

    return deep_rows


def _deep_only(stages, cfg, train, test, seed, device, progress, log) -> dict[str, Any]:
    rows = _deep_stages(stages, cfg, train, test, seed, device, progress, log)
    log("baselines stored; run again without --no-hybrid to write the summary")
    return {"deep": rows}


def _deep_train_set(pool: VQAData, n: int, seed: int) -> VQAData:
    """``n`` QA pairs: the hybrid's training pool first, then fresh scenes as needed."""
    if n <= len(pool):
        return pool.subset(n)
    extra = make_vqa_data(math.ceil((n - len(pool)) / QUESTIONS_PER_SCENE) + 1, QUESTIONS_PER_SCENE,
                          np.random.default_rng([seed, 20]), split="train")
    images = np.concatenate([pool.images, extra.images])
    offset = len(pool.images)
    moved = [replace(q, image_index=q.image_index + offset) for q in extra.questions]
    both = VQAData(images, pool.scenes + extra.scenes, pool.questions + tuple(moved))
    return both.subset(n)


def _to_reach(rows: dict[str, dict[str, Any]], target: float) -> int | None:
    for n in sorted(rows, key=int):
        if rows[n]["accuracy"] >= target:
            return int(n)
    return None


def _summary(cfg, quick, executor, sp, pipelines, cog, deep_rows, n_train_qa) -> dict[str, Any]:
    best = pipelines[str(max(cfg["programs"]))]
    hybrid_qa = best["qa_pairs"]
    deep_summary: dict[str, Any] = {}
    for name, rows in deep_rows.items():
        reach = _to_reach(rows, 0.9)
        largest = max(int(n) for n in rows)
        deep_summary[name] = {
            "accuracy": {n: r["accuracy"] for n, r in rows.items()},
            "accuracy_by_type": {n: r["accuracy_by_type"] for n, r in rows.items()},
            "train_seconds": {n: r["train_seconds"] for n, r in rows.items()},
            "epochs": {n: r.get("epochs") for n, r in rows.items()},
            "stopped_by": {n: r.get("stopped_by") for n, r in rows.items()},
            "train_flops": {n: r.get("train_flops") for n, r in rows.items()},
            "train_flops_without_rnn_kernels": {n: r.get("train_flops_without_rnn_kernels") for n, r in rows.items()},
            "qa_pairs_to_90": reach,
            "qa_ratio_to_90_vs_hybrid": (reach / hybrid_qa) if reach else f"> {largest / max(hybrid_qa, 1):g}",
            # Training FLOPs at each budget over the hybrid's, as counted now and as counted
            # before the fused recurrent kernels had a formula.
            "train_flops_ratio_vs_hybrid": {n: _ratio(r.get("train_flops"), best.get("train_flops"))
                                            for n, r in rows.items()},
            "train_flops_ratio_vs_hybrid_without_rnn_kernels": {
                n: _ratio(r.get("train_flops_without_rnn_kernels"), best.get("train_flops_without_rnn_kernels"))
                for n, r in rows.items()},
        }
    return {
        "settings": {"quick": quick, **cfg},
        "accuracy": best["accuracy"],
        "accuracy_by_type": best["accuracy_by_type"],
        "program_accuracy": best["program_accuracy"],
        "scene_parser_object_accuracy": sp["object_accuracy"],
        "executor_questions_per_s": executor["questions_per_s"],
        "executor_questions_per_cpu_s": executor.get("questions_per_cpu_s", float("nan")),
        "executor_agreement": executor["agreement"],
        "executor_questions": executor["questions"],
        "hybrid": {"programs": best["programs"], "scenes": best["scenes"], "qa_pairs": hybrid_qa,
                   "train_seconds": best["train_seconds"], "train_qa_pool": n_train_qa,
                   "train_flops": best.get("train_flops"),
                   "train_flops_without_rnn_kernels": best.get("train_flops_without_rnn_kernels")},
        "by_programs": pipelines,
        "scene_parser": sp,
        "cogent": cog,
        "deep": deep_summary,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or ``None`` when either is missing or ``b`` is 0."""
    return a / b if a is not None and b else None


def _sci(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%" if x == x else "—"


def _worst(row: dict[str, Any]) -> str:
    """A row's worst template and its accuracy (rows stored before templates were scored: a dash)."""
    worst = row.get("min_template")
    return f"{worst[0]} {_pct(worst[1])}" if worst else "—"


def _pictures_lines(s: dict[str, Any]) -> list[str]:
    if s.get("renderer", "numpy") == "numpy":
        return ["Pictures: this package's numpy renderer (flat shaded silhouettes, exact masks).", ""]
    cfg = s["settings"]
    lines = [f"Pictures: Blender (Cycles, {cfg.get('render_samples', '?')} samples per pixel, denoised, CLEVR's base "
             "scene, shapes and materials, camera and light jitter), 240 x 160, read back as a CLEVR image folder "
             f"and resized to {cfg.get('image_size', 128)} x {cfg.get('image_size', 128)}.", "",
             "| data | scenes | dropped (an object under CLEVR's pixel floor) | rendered now | images/s |",
             "|---|---|---|---|---|"]
    for name, st in s.get("renders", {}).items():
        rate = st.get("images_per_s")
        lines.append(f"| {name} | {st['scenes']} | {st['dropped']} | {st.get('rendered', 0)} | "
                     f"{'—' if rate is None else f'{rate:.2f}'} |")
    return lines + [""]


def _seed_lines(seeds: dict[str, Any] | None, types: Sequence[str]) -> list[str]:
    if not seeds:
        return []
    lines = ["", f"## Training seeds ({seeds['seeds']}; same data, the largest number of programs)", "",
             "| seed | objects right | accuracy | lowest type | worst template | guided: accuracy | "
             "guided: worst template | train s |", "|---|---|---|---|---|---|---|---|"]
    for seed, r in seeds["by_seed"].items():
        low = min(r["accuracy_by_type"], key=r["accuracy_by_type"].get)
        guided = r.get("guided")
        lines.append(f"| {seed} | {_pct(r['object_accuracy'])} | {_pct(r['accuracy'])} | "
                     f"{low} {_pct(r['accuracy_by_type'][low])} | {_worst(r)} | "
                     f"{_pct(guided['accuracy']) if guided else '—'} | {_worst(guided) if guided else '—'} | "
                     f"{r['train_seconds']:.0f} |")
    for name, block in (("", seeds), ("Guided decoding: ", seeds.get("guided"))):
        if block:
            worst = block["min_template"]
            lines += ["", f"{name}mean accuracy {_pct(block['accuracy_mean'])}, worst seed "
                      f"{_pct(block['accuracy_min'])}; worst template of any seed: {worst['template']} "
                      f"{_pct(worst['accuracy'])} (seed {worst['seed']})."]
    return lines


def _write_table(path: Path, s: dict[str, Any]) -> None:
    types = ("count", "exist", "compare_integer", "query_attribute", "compare_attribute")
    lines = ["# NS-VQA on CLEVR-style scenes", ""]
    lines += _pictures_lines(s)
    lines += [f"Executor on ground-truth scenes: {_pct(s['executor_agreement'])} agreement with the generator on "
              f"{s['executor_questions']} questions, {s['executor_questions_per_s']:.0f} questions/s (one thread, "
              f"from CLEVR JSON; {s.get('executor_questions_per_cpu_s', float('nan')):.0f} per CPU second).", ""]
    sp = s["scene_parser"]
    lines += [f"Scene parser ({sp['train_scenes']} annotated scenes, {sp['train_seconds']:.0f} s): "
              f"{_pct(sp['object_accuracy'])} of held-out objects with all four attributes right.", ""]
    lines += ["## NS-VQA by annotated programs", "",
              "| programs | QA pairs (REINFORCE) | accuracy | " + " | ".join(types)
              + " | worst template | programs exact | train s |",
              "|---" * (6 + len(types)) + "|"]
    for k, r in s["by_programs"].items():
        lines.append(f"| {k} | {r['qa_pairs']} | {_pct(r['accuracy'])} | "
                     + " | ".join(_pct(r["accuracy_by_type"].get(t, float("nan"))) for t in types)
                     + f" | {_worst(r)} | {_pct(r['program_accuracy'])} | {r['train_seconds']:.0f} |")
    cog = s["cogent"]
    lines += ["", "## CoGenT (train A)", ""]
    if cog is None:
        lines.append("Not run (`--no-cogent`).")
    else:
        lines += ["| test | accuracy | objects right |", "|---|---|---|"]
        for c in ("A", "B"):
            lines.append(f"| {c} | {_pct(cog[c]['accuracy'])} | {_pct(cog[c]['object_accuracy'])} |")
        lines.append(f"\nDrop from A to B: {cog['drop_points']:.2f} points.")
    lines += _seed_lines(s.get("seeds"), types)
    if s["deep"]:
        header = "| model | QA pairs | accuracy | " + " | ".join(types) + " | epochs (stopped by) | train s |"
        lines += ["", "## End-to-end baselines", "", header, "|---" * (5 + len(types)) + "|"]
        for name, d in s["deep"].items():
            for n, acc in d["accuracy"].items():
                by = d["accuracy_by_type"][n]
                cells = " | ".join(_pct(by.get(t, float("nan"))) for t in types)
                stop = d.get("stopped_by", {}).get(n)
                flag = " **(cap)**" if stop in ("epoch-cap", "time-cap") else ""
                trained = f"{d.get('epochs', {}).get(n)} ({stop}){flag}" if stop else "—"
                lines.append(f"| {name} | {n} | {_pct(acc)} | {cells} | {trained} | {d['train_seconds'][n]:.0f} |")
        lines.append("")
        h = s["hybrid"]
        lines += ["## Training compute", "",
                  "FLOPs of training (matrix products and convolutions, recurrent kernels included), and the "
                  "ratio to the hybrid's (scene parser + question parser). 'Before' counts no FLOPs for the "
                  "fused LSTM kernels, as the meter did before it had a formula for them.", "",
                  "| model | QA pairs | train FLOPs | / hybrid | before: train FLOPs | before: / hybrid |",
                  "|---|---|---|---|---|---|",
                  f"| NS-VQA | {h['qa_pairs']} | {_sci(h.get('train_flops'))} | 1 | "
                  f"{_sci(h.get('train_flops_without_rnn_kernels'))} | 1 |"]
        for name, d in s["deep"].items():
            for n in d["accuracy"]:
                before = d.get("train_flops_ratio_vs_hybrid_without_rnn_kernels", {}).get(n)
                lines.append(f"| {name} | {n} | {_sci(d.get('train_flops', {}).get(n))} | "
                             f"{_sci(d.get('train_flops_ratio_vs_hybrid', {}).get(n))} | "
                             f"{_sci(d.get('train_flops_without_rnn_kernels', {}).get(n))} | {_sci(before)} |")
        lines.append("")
        for name, d in s["deep"].items():
            reach = d["qa_pairs_to_90"]
            lines.append(f"- {name}: " + (f"reaches 90% at {reach} QA pairs ({d['qa_ratio_to_90_vs_hybrid']}x the "
                                          "hybrid's)" if reach else
                                          f"never reaches 90% within the largest budget tried "
                                          f"(ratio {d['qa_ratio_to_90_vs_hybrid']})"))
    path.write_text("\n".join(lines) + "\n")

