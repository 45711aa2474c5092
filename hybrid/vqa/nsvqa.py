"""NS-VQA (Yi et al., 2018): a neural scene parser and question parser feed a symbolic executor.

``image --SceneParser--> scene table --+
                                       +--> execute(program, scene) --> answer
question --QuestionParser--> program --+``

Training, as in the paper, in three parts:

1. the scene parser on rendered images with their ground-truth tables (at most
   ``n_scenes`` of them);
2. the question parser, supervised, on ``n_programs`` questions annotated with their
   programs, spread over the templates (round robin over CLEVR's
   ``(template_filename, question_family_index)`` when the questions carry it). With
   ``active_share > 0`` the budget is spent in two rounds, as an annotator working with
   the system would: the first ``1 - active_share`` of it spread over the templates,
   then a parser trained on those reads every training question, and the rest of the
   budget goes to questions whose parsed program, run on the parsed scene, gives the
   wrong answer (the templates with the most such failures first) -- only the training
   answers are used to find them, never a test set;
3. the question parser again, by REINFORCE on question-answer pairs alone: a sampled
   program is rewarded 1 when the executor, run on the *parsed* scene of the question's
   image, gives the right answer.

Nothing of the executor is learned: it is :func:`hybrid.symbolic.programs.execute`, and a
program it finds invalid on a scene (``unique`` of two objects, an ill-typed program)
gets the most common training answer *of the type its last function returns* (a count
for ``count``, yes/no for ``exist``; the most common answer overall when the program
names no answer type), and is counted in :attr:`NSVQA.last_invalid_`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from hybrid.evaluate.meter import record_ops
from hybrid.neural.vqa.grammar import TypeGrammar
from hybrid.neural.vqa.question_parser import QuestionParser
from hybrid.neural.vqa.scene_parser import SceneParser
from hybrid.symbolic.programs import Program, answer_text, answer_type, compile_scene, execute, functions, output_type
from hybrid.symbolic.programs.functions import is_answer_type
from hybrid.tasks.clevr import Question, Scene
from hybrid.vqa.data import VQAData


@dataclass(frozen=True)
class Answered:
    """One answered question, with what the pipeline went through to answer it.

    Attributes:
        answer: the answer given (a CLEVR string).
        program: the parsed program's tokens.
        valid: whether the program ran on the parsed scene (else ``answer`` is the fallback).
        error: the executor's message when it did not.
    """

    answer: str
    program: tuple[str, ...]
    valid: bool
    error: str | None


def clevr_grammar() -> TypeGrammar:
    """CLEVR's DSL as a :class:`~hybrid.neural.vqa.grammar.TypeGrammar`: every executable
    function's output and input types, any answer type at the root."""
    specs = [spec for spec in functions().values() if not spec.template_only]
    return TypeGrammar(
        {spec.name: (spec.output, spec.inputs) for spec in specs},
        tuple(sorted({spec.output for spec in specs if is_answer_type(spec.output)})),
    )


def fallbacks_by_type(answers: Sequence[str]) -> dict[str, str]:
    """The most common answer of each CLEVR answer type among ``answers`` (CLEVR strings).

    Returns:
        ``{type name: answer}``, e.g. ``{"Bool": "no", "Integer": "1", "Color": "gray"}``;
        answers of no CLEVR type are left out, ties go to the answer seen first.
    """
    counts: dict[str, Counter] = {}
    for answer in answers:
        kind = answer_type(answer)
        if kind is not None:
            counts.setdefault(kind, Counter())[answer] += 1
    return {kind: c.most_common(1)[0][0] for kind, c in counts.items()}


def program_tokens(question: Question) -> list[str]:
    """The prefix tokens of a question's annotated program (the question parser's target)."""
    return Program.from_clevr(list(question.program)).to_tokens()


def spread_over_templates(
    questions: Sequence[Question], k: int, among: Sequence[int] | None = None, busiest_first: bool = False
) -> list[int]:
    """Indices of ``k`` questions to annotate with programs: round robin over templates,
    the most specified questions of each template first.

    Within a template, questions are taken in order of decreasing program length (ties by
    position): a question that names every optional attribute teaches the parser the
    whole template, and the parser's augmentation can drop optional words from it, but
    cannot add words to a terse one. Measured on generated data (270 programs, 3 per
    template, 1,000 held-out questions, supervised only): 90.5% exact programs with this
    choice, against 55.8% for the first three of each template and 59.6% / 94.9% for two
    random draws. Questions that carry no template (a user's own data) form one group.

    Args:
        questions: the candidate questions (those without a program are skipped).
        k: how many to choose.
        among: only these indices may be chosen (default: all).
        busiest_first: visit the templates with the most candidates first in each round
            (so that, when ``k`` runs out mid-round, they are the ones served).

    Returns:
        The chosen indices into ``questions``, sorted.
    """
    groups: dict[Any, list[int]] = {}
    for i in range(len(questions)) if among is None else among:
        q = questions[i]
        if not q.program:
            continue
        groups.setdefault((q.template_filename, q.question_family_index), []).append(i)
    chosen: list[int] = []
    queues = [sorted(v, key=lambda i: (-len(questions[i].program), i)) for v in groups.values()]
    if busiest_first:
        queues.sort(key=len, reverse=True)
    depth = 0
    while len(chosen) < k and any(depth < len(qs) for qs in queues):
        for qs in queues:
            if depth < len(qs) and len(chosen) < k:
                chosen.append(qs[depth])
        depth += 1
    return sorted(chosen)


class NSVQA(BaseEstimator):
    """The neuro-symbolic VQA pipeline.

    A scikit-learn estimator: the constructor stores its arguments unchanged; querying it
    before :meth:`fit` (or :meth:`load`) raises :class:`sklearn.exceptions.NotFittedError`.

    Args:
        n_programs: annotated programs the question parser is trained on (NS-VQA: 270).
        n_scenes: most annotated scenes the scene parser is trained on (``None``: all in
            the training set).
        reinforce_steps: REINFORCE updates on the question-answer pairs (0: none).
        reinforce_batch: questions per REINFORCE update.
        reinforce_lr: REINFORCE's learning rate.
        beam_size: beam width when parsing questions (1: greedy).
        guided_decoding: decode each question within its value mentions and answer with
            the first of the parser's candidate programs that runs on the parsed scene (see
            :meth:`~hybrid.neural.vqa.question_parser.QuestionParser.parse_candidates`): CLEVR's
            generator only asks questions whose program runs on the scene, so a candidate
            that fails there is not the question's program. Off by default: the measured
            tables were taken without it (``docs/vqa.md`` gives its effect).
        typed_decoding: train and decode the question parser within CLEVR's types
            (:func:`clevr_grammar`, see :mod:`hybrid.neural.vqa.grammar`): every program it
            writes is well typed and complete. On by default (``docs/vqa.md`` gives the seed
            table it was chosen on); ``False`` is the untyped parser of earlier tables.
        active_share: share of ``n_programs`` chosen in a second round among the training
            questions the first-round parser gets wrong (see the module docstring); 0
            spreads the whole budget over the templates at once.
        scene_parser: keyword arguments for :class:`~hybrid.neural.vqa.scene_parser.SceneParser`.
        question_parser: keyword arguments for
            :class:`~hybrid.neural.vqa.question_parser.QuestionParser`.
        seed: seeds both networks.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``, for both networks.
        progress: tqdm bars while training.

    Attributes (after ``fit``):
        scene_parser_, question_parser_: the trained networks.
        fallback_answer_: the most common training answer, given when a program that
            cannot run names no answer type.
        fallback_answers_: the most common training answer of each answer type (``"Bool"``,
            ``"Integer"``, ``"Color"``, ...), given when a program returning that type
            cannot run.
        n_programs_used_, n_scenes_used_, n_qa_used_: what training consumed.
        annotated_: indices of the training questions whose programs were used.
        active_failures_: training questions the first-round parser got wrong (when
            ``active_share > 0``).
        last_invalid_: programs that could not run in the last :meth:`answer` call.
    """

    family = "hybrid"

    def __init__(
        self,
        n_programs: int = 270,
        n_scenes: int | None = 1000,
        reinforce_steps: int = 1000,
        reinforce_batch: int = 64,
        reinforce_lr: float = 5e-4,
        beam_size: int = 5,
        guided_decoding: bool = False,
        typed_decoding: bool = True,
        active_share: float = 1 / 3,
        scene_parser: dict[str, Any] | None = None,
        question_parser: dict[str, Any] | None = None,
        seed: int = 0,
        device: str = "cpu",
        progress: bool = False,
    ) -> None:
        self.n_programs = n_programs
        self.n_scenes = n_scenes
        self.reinforce_steps = reinforce_steps
        self.reinforce_batch = reinforce_batch
        self.reinforce_lr = reinforce_lr
        self.beam_size = beam_size
        self.guided_decoding = guided_decoding
        self.typed_decoding = typed_decoding
        self.active_share = active_share
        self.scene_parser = scene_parser
        self.question_parser = question_parser
        self.seed = seed
        self.device = device
        self.progress = progress

    # ------------------------------------------------------------------ training
    def fit(self, train: VQAData, scene_parser: SceneParser | None = None) -> NSVQA:
        """Train both parsers on ``train`` (see the module docstring) and return self.

        Args:
            train: images, their scene tables and questions with answers and programs.
            scene_parser: an already trained scene parser to use as it is (to share one
                between pipelines that differ only in their question parser).

        Raises:
            ValueError: ``train`` is not a :class:`~hybrid.vqa.data.VQAData`, has no
                question with a program, or a bad hyper-parameter.
        """
        if not isinstance(train, VQAData):
            raise ValueError(f"train must be a VQAData, got {type(train).__name__}")
        if not isinstance(self.n_programs, int) or self.n_programs < 1:
            raise ValueError(f"n_programs must be an int >= 1, got {self.n_programs!r}")
        if self.n_scenes is not None and (not isinstance(self.n_scenes, int) or self.n_scenes < 1):
            raise ValueError(f"n_scenes must be an int >= 1 or None, got {self.n_scenes!r}")
        n_scenes = len(train.scenes) if self.n_scenes is None else min(self.n_scenes, len(train.scenes))
        if scene_parser is not None:
            self.scene_parser_ = scene_parser
        else:
            self.scene_parser_ = SceneParser(
                **{"seed": self.seed, "device": self.device, "progress": self.progress, **(self.scene_parser or {})}
            ).fit(train.images[:n_scenes], train.scenes[:n_scenes])

        share = self.active_share
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
            raise ValueError(f"active_share must be a number in [0, 1), got {share!r}")
        texts = train.texts()
        answers = train.answers()
        self.fallback_answer_ = Counter(answers).most_common(1)[0][0]
        self.fallback_answers_ = fallbacks_by_type(answers)
        index = train.image_index
        parsed: list | None = None

        def parsed_scenes() -> list:
            nonlocal parsed
            if parsed is None:
                parsed = [compile_scene(s) for s in self.scene_parser_.parse(train.images)]
            return parsed

        first = self.n_programs if share == 0 else max(1, round(self.n_programs * (1 - share)))
        annotated = spread_over_templates(train.questions, first)
        if not annotated:
            raise ValueError("train has no question with an annotated program")
        self.question_parser_ = self._fit_question_parser(train, texts, annotated)
        if len(annotated) < self.n_programs:
            scenes = parsed_scenes()
            # the network's own errors (never value-bounded): annotating them teaches the
            # structures it has not learned (a union's second branch, a long chain)
            programs = self.question_parser_.parse(texts, bound_values=False)
            taken = set(annotated)
            wrong = [
                i for i, tokens in enumerate(programs)
                if i not in taken and train.questions[i].program
                and answer_text(execute(tokens, scenes[index[i]])) != answers[i]
            ]
            extra = spread_over_templates(train.questions, self.n_programs - len(annotated), among=wrong,
                                          busiest_first=True)
            taken.update(extra)
            rest = [i for i in range(len(texts)) if i not in taken]
            extra += spread_over_templates(train.questions, self.n_programs - len(taken), among=rest)
            self.active_failures_ = len(wrong)
            annotated = sorted(annotated + extra)
            self.question_parser_ = self._fit_question_parser(train, texts, annotated)

        if self.reinforce_steps > 0:
            scenes = parsed_scenes()

            def reward(indices: Sequence[int], programs: list[list[str]]) -> np.ndarray:
                out = np.zeros(len(indices))
                steps = 0
                for k, (i, tokens) in enumerate(zip(indices, programs, strict=True)):
                    result = execute(tokens, scenes[index[i]])
                    steps += result.steps
                    out[k] = float(result.valid and answer_text(result.answer) == answers[i])
                record_ops("programs", len(programs))
                record_ops("program_steps", steps)
                return out

            self.question_parser_.reinforce(
                texts, reward, steps=self.reinforce_steps, batch_size=self.reinforce_batch, lr=self.reinforce_lr
            )
        self.annotated_ = annotated
        self.n_programs_used_ = len(annotated)
        self.n_scenes_used_ = n_scenes
        # QA pairs are read by REINFORCE, and by the second round of annotation to find failures
        self.n_qa_used_ = len(train.questions) if self.reinforce_steps > 0 or len(annotated) > first else 0
        return self

    def _fit_question_parser(self, train: VQAData, texts: list[str], annotated: list[int]) -> QuestionParser:
        """A question parser trained, supervised, on the programs of the ``annotated`` questions."""
        typed = {"grammar": clevr_grammar()} if self.typed_decoding else {}
        return QuestionParser(
            **{"seed": self.seed, "device": self.device, "progress": self.progress, **typed,
               **(self.question_parser or {})}
        ).fit([texts[i] for i in annotated], [program_tokens(train.questions[i]) for i in annotated])

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "question_parser_"):
            raise NotFittedError("NSVQA is not fitted: call fit() or NSVQA.load() first")

    def parse_scenes(self, images: np.ndarray) -> list[Scene]:
        """The scene table of each image, as the scene parser reads it."""
        self._check_fitted()
        return self.scene_parser_.parse(images)

    def run(
        self, images: np.ndarray, questions: Sequence[str], image_index: Sequence[int] | None = None
    ) -> list[Answered]:
        """Answer ``questions`` about ``images``, keeping each program and whether it ran.

        Args:
            images: ``(n, H, W, 3)`` uint8 images.
            questions: question texts.
            image_index: the image each question is about (default: question ``i`` is
                about image ``i``).

        Returns:
            One :class:`Answered` per question.

        Raises:
            ValueError: mismatched lengths or an image index out of range (and whatever
                the scene parser raises on bad images).
        """
        self._check_fitted()
        questions = list(questions)
        if any(not isinstance(q, str) for q in questions):
            raise ValueError("questions must be strings")
        if image_index is None:
            if len(questions) != len(images):
                raise ValueError(
                    f"without image_index, questions ({len(questions)}) and images ({len(images)}) must match"
                )
            image_index = range(len(questions))
        image_index = [int(i) for i in image_index]
        if len(image_index) != len(questions):
            raise ValueError(f"image_index has {len(image_index)} entries for {len(questions)} questions")
        if any(not 0 <= i < len(images) for i in image_index):
            raise ValueError(f"image_index must lie in [0, {len(images)})")
        scenes = [compile_scene(s) for s in self.parse_scenes(images)]
        if self.guided_decoding:
            candidates = self.question_parser_.parse_candidates(questions, beam_size=self.beam_size,
                                                                bound_values=True)
        else:
            candidates = [[p] for p in self.question_parser_.parse(questions, beam_size=self.beam_size)]
        out: list[Answered] = []
        steps = invalid = runs = 0
        for options, i in zip(candidates, image_index, strict=True):
            first = None
            for tokens in options:
                result = execute(tokens, scenes[i])
                steps += result.steps
                runs += 1
                first = first or (tokens, result)
                if result.valid:
                    out.append(Answered(answer_text(result.answer), tuple(tokens), True, None))
                    break
            else:
                invalid += 1
                tokens, result = first
                out.append(Answered(self.fallback_for(tokens), tuple(tokens), False, result.error))
        record_ops("programs", runs)
        record_ops("program_steps", steps)
        self.last_invalid_ = invalid
        return out

    def fallback_for(self, tokens: Sequence[str]) -> str:
        """The answer given when the program ``tokens`` cannot run: the most common training
        answer of the type its root function returns, else the most common overall."""
        self._check_fitted()
        return self.fallback_answers_.get(output_type(tokens), self.fallback_answer_)

    def answer(
        self, images: np.ndarray, questions: Sequence[str], image_index: Sequence[int] | None = None
    ) -> list[str]:
        """The answers (CLEVR strings) to ``questions``; see :meth:`run` for the arguments."""
        return [a.answer for a in self.run(images, questions, image_index)]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike) -> None:
        """Write the pipeline to ``directory``: both networks' weights and a JSON config.

        Files: ``scene_parser.pt``, ``question_parser.pt`` (read back with
        ``torch.load(weights_only=True)``) and ``nsvqa.json``.
        """
        self._check_fitted()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        self.scene_parser_.save(path / "scene_parser.pt")
        self.question_parser_.save(path / "question_parser.pt")
        config = {
            "params": {
                "n_programs": self.n_programs,
                "n_scenes": self.n_scenes,
                "reinforce_steps": self.reinforce_steps,
                "reinforce_batch": self.reinforce_batch,
                "reinforce_lr": self.reinforce_lr,
                "beam_size": self.beam_size,
                "guided_decoding": self.guided_decoding,
                "typed_decoding": self.typed_decoding,
                "active_share": self.active_share,
                "scene_parser": self.scene_parser,
                "question_parser": self.question_parser,
                "seed": self.seed,
                "device": self.device,
            },
            "fallback_answer": self.fallback_answer_,
            "fallback_answers": self.fallback_answers_,
            "n_programs_used": self.n_programs_used_,
            "n_scenes_used": self.n_scenes_used_,
            "n_qa_used": self.n_qa_used_,
        }
        (path / "nsvqa.json").write_text(json.dumps(config, indent=2))

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str = "cpu") -> NSVQA:
        """A pipeline written by :meth:`save` (weights only; nothing is unpickled).

        Raises:
            ValueError: the directory lacks one of the three files.
        """
        path = Path(directory)
        missing = [f for f in ("nsvqa.json", "scene_parser.pt", "question_parser.pt") if not (path / f).is_file()]
        if missing:
            raise ValueError(f"{path} is not a saved NSVQA: missing {missing}")
        config = json.loads((path / "nsvqa.json").read_text())
        params = {**config["params"], "device": device}
        model = cls(**params)
        model.scene_parser_ = SceneParser.load(path / "scene_parser.pt", device=device)
        model.question_parser_ = QuestionParser.load(path / "question_parser.pt", device=device)
        model.fallback_answer_ = config["fallback_answer"]
        model.fallback_answers_ = config.get("fallback_answers", {})  # absent in older saves
        model.n_programs_used_ = config["n_programs_used"]
        model.n_scenes_used_ = config["n_scenes_used"]
        model.n_qa_used_ = config["n_qa_used"]
        return model
