"""CLEVR's question generator: templates and synonyms in, questions with programs and answers out.

It works the way CLEVR's ``question_generation/generate_questions.py`` (Johnson et al.,
2017) does, written anew:

1. **A reference engine** (:func:`run_program`, :func:`reference_answer`): a small,
   set-based interpreter with the semantics of CLEVR's ``question_engine``. Object sets
   are ``frozenset``\\ s of object indices, objects are indices, and a program that cannot
   run (``unique`` of a set that is not a singleton, a relation the scene lacks, an input
   of the wrong kind) gives the sentinel :data:`INVALID`. It runs CLEVR's base functions
   and the template-level ones (``filter``, ``filter_unique``, ``relate_filter_count``,
   ...). It shares no code with ``hybrid.symbolic.programs``, so the two can check each other.
2. **Template instantiation** by depth-first search over a template's nodes. Each node's
   placeholders get values drawn in random order; after every node the partial program
   is run and the branch is pruned when it breaks a rule (see *Rules* below). A filter
   node's placeholders are chosen together, as one "filter option" ``(size, color,
   material, shape)`` in which any value may be empty (``"thing"``/``"object"``
   questions); relate-filter nodes choose a ``(relation, option)`` pair.
3. **Expansion** into CLEVR's base functions: ``filter_unique`` with ``<Z> <C> <M> <S>``
   becomes ``filter_size``/``filter_color``/``filter_material``/``filter_shape`` for the
   non-empty values followed by ``unique``; ``filter_count``/``filter_exist`` end in
   ``count``/``exist``; ``relate_filter_*`` start with ``relate``. Programs are written
   in CLEVR v1.0's spelling, ``{"function", "inputs", "value_inputs"}``, in topological
   order, the answer last.
4. **Text**: one of the template's ``text`` variants at random; each placeholder replaced
   by its value (an empty shape reads ``thing``, other empty attributes vanish), with a
   random synonym from ``synonyms.json`` (``sphere`` -> ``ball``, ``left`` -> ``to the
   left of``, ...); ``<S>s`` gives ``things``/``balls``/``blocks``; optional words in
   ``[brackets]`` kept with probability 1/2; spaces collapsed, ``a`` before a vowel
   written ``an``, CLEVR's heuristic for ``other``, first letter capitalised, ending in
   ``?``.
5. **Answers** as CLEVR v1.0 writes them: strings (``"yes"``, ``"no"``, ``"3"``,
   ``"red"``).

Rules (what a question must satisfy to be kept):

- every ``unique`` (so every ``*_unique``) gets exactly one object;
- the template's constraints: ``NULL`` (that placeholder stays empty: the answer must not
  be given away by the text, e.g. no colour in "what colour is the ... thing"), ``NEQ``
  (two placeholders take different values; two empty ones count as equal), ``OUT_NEQ``
  (two template nodes select different things: the two objects compared are not the same
  object, the two sets counted or joined are not the same set). For filter nodes ending
  in ``count``/``exist`` this compares the object sets, not the counts: CLEVR's code
  compares the nodes' final outputs, which would make every "equal number?" question
  answer "no";
- *no meaningless word*: in a chain of filters each filter applied to a non-empty set
  must remove something from it (``filter_size[large]`` on a set of large objects is
  dropped), and a description that picks one object (``*_unique``) must need every word
  it has (no "large blue cube" where "blue cube" already is unique; CLEVR allows such
  over-specified descriptions). A ``filter`` node needs at least one value (CLEVR), and
  ``filter_exist`` on the whole scene too (``"is there a thing?"`` is always yes);
- *no idle relation*: a relate-filter option whose relation removes nothing (every object
  the filter selects in the scene already stands in that relation) is kept only with
  probability ``trivial_relate_prob`` (CLEVR keeps such options as 10% of the rest; this
  is the simpler coin flip); and, as CLEVR does for templates with a bare ``relate`` node,
  a question is dropped when replacing any ``relate`` by the whole scene leaves its answer
  unchanged;
- *answer balancing*, per template, over the questions generated so far by one
  :class:`QuestionGenerator` (reset every ``reset_every`` scenes, as CLEVR resets every
  250 images): with ``c[a]`` the number of questions of this template answered ``a``, an
  instantiation answered ``a`` is rejected (the search then looks for another) when
  ``c[a] > balance_ratio * max(c[b] for b != a)`` (the leading answer may not run ahead of
  the runner-up by more than ``balance_ratio``; 1.1 in CLEVR) or when ``c[a] >
  balance_median_factor * max(median, 5)``, the median over the template's answer domain
  (CLEVR's 5).

Simplifications relative to CLEVR: options that match no object are drawn from the
combinations absent from the scene, in CLEVR's proportions but counted on the whole scene
rather than on the set being filtered; trivial relate options are thinned by a coin flip;
each search has a budget (``max_steps`` options tried, at most ``max_branching`` children
explored per node) after which the template counts as failed on the scene; the partial
program is evaluated incrementally (each new node on its inputs' stored outputs) rather
than re-run from the start.

Speed: about 3,500 questions/s on one CPU core (all 90 templates, 10 questions for each
of 2,000 scenes of 3-10 objects, measured ad hoc); the templates that fail most often are
the yes/no "any other thing of the same size/material?" ones, which are nearly always
"yes" and so are turned down by answer balancing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from hybrid.tasks._checks import check_int, check_real
from hybrid.tasks.clevr.engine import (
    BASE_FUNCTIONS,
    INVALID,
    QUESTION_TYPES,
    answer_string,
    question_type,
    reference_answer,
    run_program,
)
from hybrid.tasks.clevr.generator import generate_scenes
from hybrid.tasks.clevr.io import Question
from hybrid.tasks.clevr.scene import Scene
from hybrid.tasks.clevr.search import _SceneIndex, _Search
from hybrid.tasks.clevr.templates import (
    _compiled,
    _load_synonyms,
    _select,
    _Template,
    load_templates,
    template_families,
)

__all__ = [
    "BASE_FUNCTIONS",
    "INVALID",
    "QUESTION_TYPES",
    "QuestionGenerator",
    "answer_string",
    "generate_dataset",
    "generate_questions",
    "load_templates",
    "question_type",
    "reference_answer",
    "run_program",
    "template_families",
]

# ============================================================================== text

_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_A_VOWEL = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")


def _render_text(tpl: _Template, vals: Mapping[str, str], synonyms: Mapping[str, Sequence[str]], rng) -> str:
    text = tpl.text[int(rng.integers(len(tpl.text)))]
    for name in tpl.param_types:
        value = vals.get(name, "")
        words = synonyms.get(value)
        if words:
            value = words[int(rng.integers(len(words)))]
        text = text.replace(name, value)
    text = _OPTIONAL.sub(lambda m: m.group(1) if rng.random() < 0.5 else "", text)
    text = " ".join(text.split())
    text = _other_heuristic(tpl, vals, text)
    text = _A_VOWEL.sub(r"\1n ", text)
    text = text.replace(" ?", "?").replace(" ;", ";")
    if not text.endswith("?"):
        text = text.rstrip(".") + "?"
    return text[:1].upper() + text[1:]


def _other_heuristic(tpl: _Template, vals: Mapping[str, str], text: str) -> str:
    """Drop "other" when the two descriptions already differ in some attribute (CLEVR's heuristic)."""
    if not tpl.other_pairs or (" other " not in text and " another " not in text):
        return text
    for p1, p2 in tpl.other_pairs:
        v1, v2 = vals.get(p1, ""), vals.get(p2, "")
        if v1 not in ("", "thing") and v2 not in ("", "thing") and v1 != v2:
            return text.replace(" other ", " ").replace(" another ", " a ")
    return text


# ========================================================================= generator


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


class QuestionGenerator:
    """Generates CLEVR questions for scenes from CLEVR's templates (see the module docstring).

    It keeps state across calls, as CLEVR's script does across images: per template, how
    many questions it gave (templates used least are tried first) and how often each answer
    came up (answer balancing). Both restart every ``reset_every`` scenes.

    Args:
        templates: which templates (see :func:`load_templates`): ``None`` for all 90, or
            families (``"zero_hop"``) and ``(file, index)`` pairs; the list may also hold
            templates of one's own, dicts in CLEVR's template format, which get the keys
            ``("custom", 0)``, ``("custom", 1)``, ... (their questions have
            ``template_filename="custom"``).
        synonyms: word -> list of words to pick from at random; ``None`` for CLEVR's
            ``synonyms.json``.
        balance_ratio: an answer that leads the runner-up of its template by more than
            this factor is not given again until the others catch up (>= 1).
        balance_median_factor: nor one counted more than this many times the median
            answer count over the template's answer domain (floored at 5) (>= 1).
        reset_every: scenes after which answer and template counts restart (>= 1).
        max_steps: the search budget per template and scene, in options tried (>= 1).
        max_branching: at each template node, at most this many options that pass the
            node's own checks are explored before the search backtracks (>= 1); small
            values spread a limited budget over more choices near the root.
        trivial_relate_prob: probability of keeping a relate-filter option whose relation
            removes nothing (in [0, 1]).

    Attributes:
        template_keys: the templates used, ``(filename, index)``.
        attempts, failures: per template, the instantiations tried and those that found
            no question (a template that cannot fit a scene, or ran out of budget).
    """

    def __init__(
        self,
        templates: Iterable[str | tuple[str, int]] | str | None = None,
        synonyms: Mapping[str, Sequence[str]] | None = None,
        *,
        balance_ratio: float = 1.1,
        balance_median_factor: float = 5.0,
        reset_every: int = 250,
        max_steps: int = 4000,
        max_branching: int = 8,
        trivial_relate_prob: float = 0.1,
    ) -> None:
        custom: list[Mapping[str, Any]] = []
        if templates is None or isinstance(templates, str):
            selected = _select(templates)
        else:
            try:
                items = list(templates)
            except TypeError:
                raise ValueError(f"templates must be None or a list, got {type(templates).__name__}") from None
            custom = [t for t in items if isinstance(t, Mapping)]
            named = [t for t in items if not isinstance(t, Mapping)]
            selected = _select(named) if named or not custom else ()
        self._templates = {key: _compiled(key) for key in selected}
        for i, template in enumerate(custom):
            key = ("custom", i)
            self._templates[key] = _Template(key, template)
        self.template_keys: tuple[tuple[str, int], ...] = tuple(self._templates)
        self.synonyms = _load_synonyms(synonyms)
        self.balance_ratio = check_real("balance_ratio", balance_ratio, 1.0)
        self.balance_median_factor = check_real("balance_median_factor", balance_median_factor, 1.0)
        self.reset_every = check_int("reset_every", reset_every, 1)
        self.max_steps = check_int("max_steps", max_steps, 1)
        self.max_branching = check_int("max_branching", max_branching, 1)
        self.trivial_relate_prob = check_real("trivial_relate_prob", trivial_relate_prob, 0.0, 1.0)
        self.attempts: dict[tuple[str, int], int] = dict.fromkeys(self.template_keys, 0)
        self.failures: dict[tuple[str, int], int] = dict.fromkeys(self.template_keys, 0)
        self._scenes_seen = 0
        self.reset_counts()

    def reset_counts(self) -> None:
        """Forget the answer and template counts (balancing starts afresh)."""
        self._answer_counts: dict[tuple[str, int], dict[str, int]] = {}
        self._template_counts: dict[tuple[str, int], int] = dict.fromkeys(self.template_keys, 0)

    def answer_counts(self, template: tuple[str, int]) -> dict[str, int]:
        """How often each answer was given for ``template`` since the last reset (a copy)."""
        if template not in self._templates:
            raise ValueError(f"template must be one of this generator's template_keys, got {template!r}")
        return dict(self._answer_counts.get(template, {}))

    def _balanced(self, tpl: _Template, counts: Mapping[str, int], answer: str) -> bool:
        mine = counts.get(answer, 0)
        if mine == 0:
            return True
        others = max((c for a, c in counts.items() if a != answer), default=0)
        if mine > self.balance_ratio * others:
            return False
        domain = sorted(counts.get(a, 0) for a in tpl.domain)
        median = domain[len(domain) // 2] if domain else 0
        return mine <= self.balance_median_factor * max(median, 5)

    def instantiate(
        self, scene: Scene, template: tuple[str, int], rng: np.random.Generator, *, question_index: int = 0
    ) -> Question | None:
        """One question of one template on one scene, or ``None`` if the template does not fit.

        Args:
            scene: the scene.
            template: ``(filename, index)``, one of :attr:`template_keys`.
            rng: the random generator.
            question_index: the question's ``question_index``.

        Returns:
            The question (answer counts updated), or ``None``.

        Raises:
            ValueError: an unknown template, a scene without objects, or a bad ``rng``.
        """
        if template not in self._templates:
            raise ValueError(f"template must be one of this generator's template_keys, got {template!r}")
        index = self._index(scene)
        _check_rng(rng)
        return self._instantiate(scene, index, self._templates[template], rng, question_index)

    @staticmethod
    def _index(scene: Scene) -> _SceneIndex:
        if not isinstance(scene, Scene):
            raise ValueError(f"scene must be a Scene, got {type(scene).__name__}")
        if not scene.objects:
            raise ValueError("scene must hold at least one object")
        return _SceneIndex(scene)

    def _instantiate(
        self, scene: Scene, index: _SceneIndex, tpl: _Template, rng: np.random.Generator, question_index: int
    ) -> Question | None:
        self.attempts[tpl.key] += 1
        search = _Search(self, index, tpl, rng)
        if not search.run():
            self.failures[tpl.key] += 1
            return None
        answer = search.answer
        search.counts[answer] = search.counts.get(answer, 0) + 1
        self._template_counts[tpl.key] += 1
        program = tuple(
            {"function": fn, "inputs": list(inputs), "value_inputs": list(side)} for fn, inputs, side in search.nodes
        )
        return Question(
            question=_render_text(tpl, search.vals, self.synonyms, rng),
            answer=answer,
            program=program,
            image_filename=scene.image_filename,
            image_index=scene.image_index,
            split=scene.split,
            question_index=question_index,
            question_family_index=tpl.key[1],
            template_filename=tpl.key[0],
        )

    def generate(
        self,
        scene: Scene,
        rng: np.random.Generator,
        *,
        n: int = 10,
        max_tries: int | None = None,
        start_index: int = 0,
    ) -> list[Question]:
        """Up to ``n`` questions about ``scene``, from as many different templates as possible.

        Templates are tried in order of how few questions they have given so far, ties in
        random order (so with fresh counts, a uniformly random order); one that does not fit
        the scene is skipped. A template is used again on the same scene only once all have
        been tried, and an identical program is never emitted twice for one scene.

        Args:
            scene: the scene (at least one object).
            rng: the random generator (pass one seeded explicitly).
            n: how many questions (>= 0).
            max_tries: most instantiations tried; default ``max(len(templates), 2 n)``.
            start_index: ``question_index`` of the first question; the others follow on.

        Returns:
            The questions (fewer than ``n`` when too few templates fit), with
            ``image_filename``, ``image_index`` and ``split`` of the scene,
            ``template_filename`` and ``question_family_index`` (the template's index within
            its file, as CLEVR's generator writes it).

        Raises:
            ValueError: a bad argument.
        """
        _check_rng(rng)
        n = check_int("n", n, 0)
        start_index = check_int("start_index", start_index, 0)
        keys = self.template_keys
        if max_tries is None:
            max_tries = max(len(keys), 2 * n)
        max_tries = check_int("max_tries", max_tries, 1)
        index = self._index(scene)
        if self._scenes_seen and self._scenes_seen % self.reset_every == 0:
            self.reset_counts()
        self._scenes_seen += 1
        questions: list[Question] = []
        seen_programs: set[tuple] = set()
        tries = 0
        while len(questions) < n and tries < max_tries:
            order = sorted(rng.permutation(len(keys)).tolist(), key=lambda i: self._template_counts[keys[i]])
            for i in order:
                if len(questions) >= n or tries >= max_tries:
                    break
                tries += 1
                q = self._instantiate(scene, index, self._templates[keys[i]], rng, start_index + len(questions))
                if q is None:
                    continue
                signature = tuple((d["function"], tuple(d["inputs"]), tuple(d["value_inputs"])) for d in q.program)
                if signature in seen_programs:
                    continue
                seen_programs.add(signature)
                questions.append(q)
        return questions


def generate_questions(
    scene: Scene,
    rng: np.random.Generator,
    *,
    n: int = 10,
    templates: Iterable[str | tuple[str, int]] | str | None = None,
    max_tries: int | None = None,
) -> list[Question]:
    """Up to ``n`` questions about one scene, from a fresh :class:`QuestionGenerator`.

    Answers are balanced only within this call; to balance them over many scenes, keep one
    :class:`QuestionGenerator` and call its :meth:`~QuestionGenerator.generate` (as
    :func:`generate_dataset` does).

    Args:
        scene: the scene.
        rng: the random generator; the same seed gives the same questions.
        n: how many questions (>= 0).
        templates: which templates (see :func:`load_templates`); ``None`` for all 90.
        max_tries: most template instantiations tried (see :meth:`QuestionGenerator.generate`).

    Returns:
        The questions (:class:`~hybrid.tasks.clevr.io.Question`), answers as CLEVR's strings.

    Raises:
        ValueError: a bad argument.
    """
    return QuestionGenerator(templates).generate(scene, rng, n=n, max_tries=max_tries)


def generate_dataset(
    n_scenes: int,
    questions_per_scene: int,
    rng: np.random.Generator,
    *,
    condition: str | None = None,
    min_objects: int = 3,
    max_objects: int = 10,
    templates: Iterable[str | tuple[str, int]] | str | None = None,
    split: str = "new",
    min_visible: float = 0.0,
    image_size: int = 128,
    progress: bool = False,
) -> tuple[list[Scene], list[Question]]:
    """Random scenes and questions about them, CLEVR-style.

    Scenes come from :func:`hybrid.tasks.clevr.generator.generate_scenes`; questions from one
    :class:`QuestionGenerator` shared by all scenes, so answers are balanced over the
    dataset (per template, counts restarting every 250 scenes as in CLEVR).

    Args:
        n_scenes: number of scenes (>= 0).
        questions_per_scene: questions asked per scene (>= 0); a scene may get fewer when
            too few templates fit it.
        rng: the random generator, for scenes and questions alike.
        condition: ``None`` (CLEVR) or ``"A"``/``"B"`` (CLEVR-CoGenT colours).
        min_objects, max_objects: the range of the object count per scene.
        templates: which templates (see :func:`load_templates`).
        split: the split named in file names and records.
        min_visible, image_size: least visible share of every object in a render of that
            size (see :func:`hybrid.tasks.clevr.generator.generate_scene`; 0 disables the check).
        progress: show a tqdm progress bar over scenes.

    Returns:
        ``(scenes, questions)``; ``question_index`` runs over the whole dataset.

    Raises:
        ValueError: a bad argument.
    """
    _check_rng(rng)
    n_scenes = check_int("n_scenes", n_scenes, 0)
    questions_per_scene = check_int("questions_per_scene", questions_per_scene, 0)
    generator = QuestionGenerator(templates)
    scenes = generate_scenes(
        n_scenes,
        rng,
        condition=condition,
        min_objects=min_objects,
        max_objects=max_objects,
        split=split,
        min_visible=min_visible,
        image_size=image_size,
    )
    questions: list[Question] = []
    iterator: Iterable[Scene] = scenes
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(scenes, desc="questions", unit="scene")
    for scene in iterator:
        questions.extend(generator.generate(scene, rng, n=questions_per_scene, start_index=len(questions)))
    return scenes, questions
