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

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

import numpy as np
from hybrid.tasks.clevr.generator import generate_scenes
from hybrid.tasks.clevr.io import Question
from hybrid.tasks.clevr.scene import ATTRIBUTES, RELATIONS, Scene, data_path, load_json, vocabulary

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


# ============================================================================ the engine


class _InvalidType:
    """The type of :data:`INVALID` (a single instance)."""

    _instance: _InvalidType | None = None

    def __new__(cls) -> _InvalidType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "INVALID"

    def __bool__(self) -> bool:
        return False


#: What the engine gives for a program that cannot run on a scene (CLEVR's ``__INVALID__``).
INVALID = _InvalidType()

_EMPTY: frozenset[int] = frozenset()
_TYPE_ATTRIBUTE = {"Size": "size", "Color": "color", "Material": "material", "Shape": "shape"}
#: Template-level functions whose side inputs are (relation?, size, color, material, shape).
_FILTER_FAMILY = ("filter", "filter_unique", "filter_count", "filter_exist")
_RELATE_FAMILY = ("relate_filter", "relate_filter_unique", "relate_filter_count", "relate_filter_exist")


class _View:
    """A scene as the engine reads it: per-attribute value tables and relation sets."""

    __slots__ = ("everything", "values", "by_value", "relations")

    def __init__(self, scene: Scene) -> None:
        objects = scene.objects
        self.everything = frozenset(range(len(objects)))
        self.values = {a: tuple(getattr(o, a) for o in objects) for a in ATTRIBUTES}
        by_value: dict[str, dict[str, frozenset[int]]] = {}
        for a in ATTRIBUTES:
            groups: dict[str, set[int]] = {}
            for i, v in enumerate(self.values[a]):
                groups.setdefault(v, set()).add(i)
            by_value[a] = {v: frozenset(s) for v, s in groups.items()}
        self.by_value = by_value
        self.relations = {rel: tuple(frozenset(row) for row in rows) for rel, rows in scene.relationships.items()}


def _is_set(x: Any) -> bool:
    return type(x) is frozenset


def _is_object(x: Any) -> bool:
    return type(x) is int


def _apply_filters(view: _View, objects: Any, values: Sequence[Any]) -> Any:
    """Filter ``objects`` by (size, color, material, shape); empty values (``""``/``None``) are skipped."""
    if not _is_set(objects):
        return INVALID
    for attr, value in zip(ATTRIBUTES, values, strict=False):
        if value:
            objects = objects & view.by_value[attr].get(value, _EMPTY)
    return objects


def _relate(view: _View, obj: Any, relation: str) -> Any:
    rows = view.relations.get(relation)
    if rows is None or not _is_object(obj) or not 0 <= obj < len(rows):
        return INVALID
    return rows[obj]


def _unique(objects: Any) -> Any:
    if not _is_set(objects) or len(objects) != 1:
        return INVALID
    return next(iter(objects))


def _count(objects: Any) -> Any:
    return len(objects) if _is_set(objects) else INVALID


def _exist(objects: Any) -> Any:
    return len(objects) > 0 if _is_set(objects) else INVALID


_ENDINGS = {"unique": _unique, "count": _count, "exist": _exist}


def _fn_filter(attr: str):
    def run(view: _View, args: tuple, side: tuple) -> Any:
        (s,), (value,) = args, side
        return s & view.by_value[attr].get(value, _EMPTY) if _is_set(s) else INVALID

    return run


def _fn_query(attr: str):
    def run(view: _View, args: tuple, side: tuple) -> Any:
        (o,) = args
        return view.values[attr][o] if _is_object(o) and 0 <= o < len(view.everything) else INVALID

    return run


def _fn_same(attr: str):
    def run(view: _View, args: tuple, side: tuple) -> Any:
        (o,) = args
        if not (_is_object(o) and 0 <= o < len(view.everything)):
            return INVALID
        return view.by_value[attr][view.values[attr][o]] - {o}

    return run


def _fn_equal_value(view: _View, args: tuple, side: tuple) -> Any:
    a, b = args
    return a == b if type(a) is str and type(b) is str else INVALID


def _fn_compare_int(op):
    def run(view: _View, args: tuple, side: tuple) -> Any:
        a, b = args
        return op(a, b) if type(a) is int and type(b) is int else INVALID

    return run


def _fn_set_op(op):
    def run(view: _View, args: tuple, side: tuple) -> Any:
        a, b = args
        return op(a, b) if _is_set(a) and _is_set(b) else INVALID

    return run


def _fn_template_filter(ending):
    def run(view: _View, args: tuple, side: tuple) -> Any:
        out = _apply_filters(view, args[0], side)
        return out if ending is None or out is INVALID else ending(out)

    return run


def _fn_template_relate(ending):
    def run(view: _View, args: tuple, side: tuple) -> Any:
        related = _relate(view, args[0], side[0])
        if related is INVALID:
            return INVALID
        out = _apply_filters(view, related, side[1:])
        return out if ending is None else ending(out)

    return run


#: function -> (number of inputs, number of side inputs, implementation(view, args, side)).
_FUNCTIONS: dict[str, tuple[int, int, Any]] = {
    "scene": (0, 0, lambda view, args, side: view.everything),
    "unique": (1, 0, lambda view, args, side: _unique(args[0])),
    "relate": (1, 1, lambda view, args, side: _relate(view, args[0], side[0])),
    "union": (2, 0, _fn_set_op(frozenset.__or__)),
    "intersect": (2, 0, _fn_set_op(frozenset.__and__)),
    "count": (1, 0, lambda view, args, side: _count(args[0])),
    "exist": (1, 0, lambda view, args, side: _exist(args[0])),
    "equal_integer": (2, 0, _fn_compare_int(int.__eq__)),
    "less_than": (2, 0, _fn_compare_int(int.__lt__)),
    "greater_than": (2, 0, _fn_compare_int(int.__gt__)),
    "equal_object": (2, 0, lambda view, args, side: args[0] == args[1] if all(map(_is_object, args)) else INVALID),
}
for _attr in ATTRIBUTES:
    _FUNCTIONS[f"filter_{_attr}"] = (1, 1, _fn_filter(_attr))
    _FUNCTIONS[f"query_{_attr}"] = (1, 0, _fn_query(_attr))
    _FUNCTIONS[f"same_{_attr}"] = (1, 0, _fn_same(_attr))
    _FUNCTIONS[f"equal_{_attr}"] = (2, 0, _fn_equal_value)
#: CLEVR's base functions (those a CLEVR v1.0 program may hold).
BASE_FUNCTIONS: frozenset[str] = frozenset(_FUNCTIONS)
for _name in _FILTER_FAMILY:
    _FUNCTIONS[_name] = (1, 4, _fn_template_filter(_ENDINGS.get(_name.rpartition("_")[2])))
for _name in _RELATE_FAMILY:
    _FUNCTIONS[_name] = (1, 5, _fn_template_relate(_ENDINGS.get(_name.rpartition("_")[2])))


def answer_string(value: Any) -> str | None:
    """An engine output written as CLEVR v1.0 writes answers.

    Args:
        value: a bool, an int or a str (an answer), or :data:`INVALID`.

    Returns:
        ``"yes"``/``"no"`` for bools, ``str(n)`` for ints, the string itself for attribute
        values, ``None`` for :data:`INVALID`.

    Raises:
        ValueError: ``value`` is an object set or anything else that is no answer.
    """
    if value is INVALID:
        return None
    if type(value) is bool:
        return "yes" if value else "no"
    if type(value) is int or type(value) is str:
        return str(value)
    raise ValueError(f"value must be an answer (bool, int or str) or INVALID, got {value!r}")


def _parse_program(program: Any) -> list[tuple[str, tuple[int, ...], tuple[str, ...]]]:
    """Node dicts (either spelling) -> ``(function, inputs, side inputs)`` triples, checked."""
    if isinstance(program, Question):
        program = program.program
    if isinstance(program, (str, bytes)) or not isinstance(program, Sequence):
        raise ValueError(f"program must be a list of CLEVR node dicts, got {type(program).__name__}")
    if not program:
        raise ValueError("program must hold at least one node, got an empty list")
    parsed = []
    for k, node in enumerate(program):
        where = f"program[{k}]"
        if not isinstance(node, Mapping):
            raise ValueError(f"{where} must be a dict, got {type(node).__name__}")
        function = node.get("function", node.get("type"))
        if function not in _FUNCTIONS:
            raise ValueError(f"{where} has unknown function {function!r}")
        n_inputs, n_side, _ = _FUNCTIONS[function]
        inputs = node.get("inputs", [])
        side = node.get("value_inputs", node.get("side_inputs", []))
        if not isinstance(inputs, (list, tuple)) or len(inputs) != n_inputs:
            raise ValueError(f"{where} ({function}) needs {n_inputs} inputs, got {inputs!r}")
        for i in inputs:
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < k:
                raise ValueError(f"{where} ({function}): inputs must index earlier nodes, got {inputs!r}")
        if side is None:
            side = []
        if not isinstance(side, (list, tuple)) or len(side) != n_side:
            raise ValueError(f"{where} ({function}) needs {n_side} value inputs, got {side!r}")
        for v in side:
            if v is not None and not isinstance(v, str):
                raise ValueError(f"{where} ({function}): value inputs must be strings, got {side!r}")
        parsed.append((function, tuple(inputs), tuple(side)))
    return parsed


def _run(view: _View, parsed: Sequence[tuple[str, tuple[int, ...], tuple[str, ...]]]) -> list[Any]:
    outputs: list[Any] = []
    for function, inputs, side in parsed:
        args = tuple(outputs[i] for i in inputs)
        if any(a is INVALID for a in args):
            outputs.append(INVALID)
        else:
            outputs.append(_FUNCTIONS[function][2](view, args, side))
    return outputs


def run_program(program: Sequence[Mapping[str, Any]] | Question, scene: Scene, *, all_outputs: bool = False) -> Any:
    """Run a CLEVR program on a scene with the reference engine.

    Args:
        program: the program's node dicts, in CLEVR v1.0's spelling (``function``,
            ``inputs``, ``value_inputs``) or its generator's (``type``, ``inputs``,
            ``side_inputs``), or a :class:`~hybrid.tasks.clevr.io.Question` holding one. Base
            functions and the template-level ones (``filter``, ``filter_unique``,
            ``filter_count``, ``filter_exist``, ``relate_filter`` and its ``_unique``,
            ``_count``, ``_exist``) are accepted; the latter take their side inputs as
            ``(size, color, material, shape)``, after the relation for ``relate_filter*``,
            and skip empty ones (``""`` or ``None``).
        scene: the scene.
        all_outputs: return every node's output rather than the last one.

    Returns:
        The last node's output (or the list of all outputs): a ``frozenset`` of object
        indices, an object index, an int, a bool, an attribute value, or :data:`INVALID`
        (a node that cannot run on this scene, and every node downstream of it).

    Raises:
        ValueError: a malformed program (unknown function, wrong number of inputs or value
            inputs, an input that does not point to an earlier node).
            Also raised when ``scene`` is not a :class:`~hybrid.tasks.clevr.scene.Scene`.
    """
    if not isinstance(scene, Scene):
        raise ValueError(f"scene must be a Scene, got {type(scene).__name__}")
    outputs = _run(_View(scene), _parse_program(program))
    return outputs if all_outputs else outputs[-1]


def reference_answer(program_nodes: Sequence[Mapping[str, Any]] | Question, scene: Scene) -> str | None:
    """The answer to a program on a scene, by the reference engine, as CLEVR writes it.

    Args:
        program_nodes: the program (see :func:`run_program`).
        scene: the scene.

    Returns:
        ``"yes"``/``"no"``, a count such as ``"3"``, or an attribute value such as
        ``"red"``; ``None`` when the program cannot run on the scene.

    Raises:
        ValueError: a malformed program, or one whose last node gives no answer (an object
            or an object set).
    """
    parsed = _parse_program(program_nodes)
    if parsed[-1][0] not in _TYPE_OF_LAST:
        raise ValueError(f"the program's last function must give an answer, got {parsed[-1][0]!r}")
    if not isinstance(scene, Scene):
        raise ValueError(f"scene must be a Scene, got {type(scene).__name__}")
    return answer_string(_run(_View(scene), parsed)[-1])


# ======================================================================== question types

#: The question types of CLEVR's papers, by the program's last function.
QUESTION_TYPES: tuple[str, ...] = ("count", "exist", "compare_integer", "query_attribute", "compare_attribute")

_TYPE_OF_LAST = {
    "count": "count",
    "filter_count": "count",
    "relate_filter_count": "count",
    "exist": "exist",
    "filter_exist": "exist",
    "relate_filter_exist": "exist",
    "equal_integer": "compare_integer",
    "less_than": "compare_integer",
    "greater_than": "compare_integer",
    "equal_object": "compare_attribute",
}
for _attr in ATTRIBUTES:
    _TYPE_OF_LAST[f"query_{_attr}"] = "query_attribute"
    _TYPE_OF_LAST[f"equal_{_attr}"] = "compare_attribute"


def question_type(question_or_program: Question | Sequence[Any]) -> str:
    """A question's type, by its program's last function, as CLEVR's papers group them.

    Args:
        question_or_program: a :class:`~hybrid.tasks.clevr.io.Question`, a list of node dicts
            (``function`` or ``type`` key), or any sequence of nodes with a ``function``
            attribute (such as ``hybrid.symbolic.programs.Program``).

    Returns:
        ``"count"`` (count), ``"exist"`` (exist), ``"compare_integer"`` (equal_integer,
        less_than, greater_than), ``"query_attribute"`` (query_*) or
        ``"compare_attribute"`` (equal_color/shape/size/material; also equal_object, which
        no CLEVR template produces). Template-level endings count as their base function
        (``filter_count`` is a count).

    Raises:
        ValueError: an empty program, or one whose last function gives no answer.
    """
    program = question_or_program.program if isinstance(question_or_program, Question) else question_or_program
    if hasattr(program, "nodes"):
        program = program.nodes
    try:
        last = program[-1]
    except (TypeError, IndexError, KeyError):
        raise ValueError(
            f"question_or_program must be a Question or a non-empty program, got {question_or_program!r}"
        ) from None
    if isinstance(last, Mapping):
        function = last.get("function", last.get("type"))
    else:
        function = getattr(last, "function", None)
    if function not in _TYPE_OF_LAST:
        raise ValueError(f"the program's last function must give an answer ({sorted(_TYPE_OF_LAST)}), got {function!r}")
    return _TYPE_OF_LAST[function]


# ============================================================================ templates


@lru_cache(maxsize=1)
def _all_templates() -> tuple[tuple[str, int, str], ...]:
    """Every template shipped with the package, as ``(filename, index, json text)``."""
    folder = data_path("templates")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            for i, template in enumerate(json.loads(entry.read_text(encoding="utf-8"))):
                out.append((entry.name, i, json.dumps(template)))
    return tuple(out)


def template_families() -> tuple[str, ...]:
    """The template families shipped with the package (file names without ``.json``), sorted."""
    return tuple(sorted({name[: -len(".json")] for name, _, _ in _all_templates()}))


def _select(templates: Iterable[str | tuple[str, int]] | str | None) -> tuple[tuple[str, int], ...]:
    """The ``(filename, index)`` keys a ``templates`` argument selects (see :func:`load_templates`)."""
    table = {(name, i) for name, i, _ in _all_templates()}
    everything = tuple((name, i) for name, i, _ in _all_templates())
    if templates is None:
        return everything
    if isinstance(templates, str):
        templates = [templates]
    try:
        items = list(templates)
    except TypeError:
        raise ValueError(
            f"templates must be None or a list of families or (file, index) pairs, got {templates!r}"
        ) from None
    families = template_families()
    chosen: list[tuple[str, int]] = []
    for item in items:
        if isinstance(item, str):
            family = item[: -len(".json")] if item.endswith(".json") else item
            if family not in families:
                raise ValueError(f"unknown template family {item!r}; families are {list(families)}")
            chosen.extend(key for key in everything if key[0] == family + ".json")
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
            name = item[0] if item[0].endswith(".json") else item[0] + ".json"
            index = item[1]
            if isinstance(index, bool) or not isinstance(index, int) or (name, index) not in table:
                raise ValueError(
                    f"unknown template {tuple(item)!r}; give (file, index) with a file of {list(families)}"
                )
            chosen.append((name, index))
        else:
            raise ValueError(f"templates items must be a family name or a (file, index) pair, got {item!r}")
    if not chosen:
        raise ValueError("templates selects no template")
    return tuple(dict.fromkeys(chosen))


def load_templates(templates: Iterable[str | tuple[str, int]] | str | None = None) -> dict[tuple[str, int], dict]:
    """CLEVR's question templates, by ``(filename, index within the file)``.

    Args:
        templates: ``None`` for all 90; or families and single templates: a family by name
            (``"zero_hop"``) or file name (``"zero_hop.json"``), a template as a pair
            ``("zero_hop.json", 2)`` (or ``("zero_hop", 2)``). A single string stands for a
            list of one.

    Returns:
        ``{(filename, index): template}``, in the files' order, each template a fresh dict
        as in the JSON (``text``, ``nodes``, ``params``, ``constraints``).

    Raises:
        ValueError: an unknown family or template, or an empty selection.
    """
    table = {(name, i): text for name, i, text in _all_templates()}
    return {key: json.loads(table[key]) for key in _select(templates)}


def _load_synonyms(synonyms: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    if synonyms is None:
        synonyms = load_json("synonyms.json")
    if not isinstance(synonyms, Mapping):
        raise ValueError(f"synonyms must be a dict word -> list of words, got {type(synonyms).__name__}")
    out = {}
    for word, options in synonyms.items():
        if (
            not isinstance(word, str)
            or isinstance(options, str)
            or not isinstance(options, Sequence)
            or not options
            or not all(isinstance(o, str) for o in options)
        ):
            raise ValueError(f"synonyms[{word!r}] must be a non-empty list of strings, got {options!r}")
        out[word] = tuple(options)
    return out


class _Step:
    """One template node, ready for the search."""

    __slots__ = ("kind", "function", "inputs", "params", "ending", "out_neq")

    def __init__(self, kind, function, inputs, params, ending, out_neq):
        self.kind = kind  # "plain", "param", "filter", "relate"
        self.function = function
        self.inputs = inputs
        self.params = params
        self.ending = ending  # "unique"/"count"/"exist"/None for the filter families
        self.out_neq = out_neq  # earlier template nodes whose output must differ from this one's


class _Template:
    """A template compiled for the search."""

    __slots__ = ("key", "text", "steps", "param_types", "nulls", "neq", "domain", "has_relate", "other_pairs")

    def __init__(self, key: tuple[str, int], template: Mapping[str, Any]) -> None:
        where = f"template {key}"
        try:
            self._compile(template)
        except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
            raise ValueError(f"{where} is malformed: {exc}") from None
        self.key = key

    def _compile(self, template: Mapping[str, Any]) -> None:
        text, nodes = template["text"], template["nodes"]
        if isinstance(text, str) or not text or not all(isinstance(t, str) for t in text):
            raise ValueError("'text' must be a non-empty list of strings")
        if not nodes:
            raise ValueError("'nodes' must be a non-empty list")
        self.text = tuple(text)
        self.param_types = {p["name"]: p["type"] for p in template["params"]}
        for name, ptype in self.param_types.items():
            if ptype not in _TYPE_ATTRIBUTE and ptype != "Relation":
                raise ValueError(f"param {name!r} has unknown type {ptype!r}")
        constraints = template.get("constraints", [])
        nulls, neq, out_neq = set(), [], {}
        for c in constraints:
            params = c["params"]
            if c["type"] == "NULL" and len(params) == 1 and params[0] in self.param_types:
                nulls.add(params[0])
            elif c["type"] == "NEQ" and len(params) == 2 and all(p in self.param_types for p in params):
                neq.append(tuple(params))
            elif (
                c["type"] == "OUT_NEQ"
                and len(params) == 2
                and all(type(i) is int and 0 <= i < len(nodes) for i in params)
            ):
                i, j = params
                out_neq.setdefault(max(i, j), []).append(min(i, j))
            else:
                raise ValueError(f"bad constraint {dict(c)!r}")
        self.nulls, self.neq = frozenset(nulls), tuple(neq)
        steps = []
        for k, node in enumerate(nodes):
            function, inputs, params = node["type"], tuple(node.get("inputs", ())), tuple(node.get("side_inputs", ()))
            if function not in _FUNCTIONS:
                raise ValueError(f"node {k} has unknown function {function!r}")
            if any(type(i) is not int or not 0 <= i < k for i in inputs) or len(inputs) != _FUNCTIONS[function][0]:
                raise ValueError(f"node {k} ({function}) has bad inputs {inputs}")
            if len(params) != _FUNCTIONS[function][1] or any(p not in self.param_types for p in params):
                raise ValueError(f"node {k} ({function}) has bad side inputs {params}")
            suffix = function.rpartition("_")[2]
            ending = suffix if suffix in _ENDINGS else None
            if function in _FILTER_FAMILY:
                kind = "filter"
            elif function in _RELATE_FAMILY:
                kind = "relate"
            elif params:
                kind, ending = "param", None
            else:
                kind, ending = "plain", None
            steps.append(_Step(kind, function, inputs, params, ending, tuple(out_neq.get(k, ()))))
        self.steps = tuple(steps)
        self.has_relate = any(s.function == "relate" for s in steps)
        self.domain = _answer_domain(steps[-1].function)
        names = set(self.param_types)
        base = {"<Z>", "<C>", "<M>", "<S>"}
        second = {"<Z2>", "<C2>", "<M2>", "<S2>"}
        self.other_pairs = (
            (("<Z>", "<Z2>"), ("<C>", "<C2>"), ("<M>", "<M2>"), ("<S>", "<S2>")) if names == base | second else ()
        )


def _answer_domain(function: str) -> tuple[str, ...]:
    """The answers a template ending in ``function`` can give, as strings."""
    kind = _TYPE_OF_LAST.get(function)
    if kind in ("exist", "compare_integer", "compare_attribute"):
        return ("yes", "no")
    if kind == "count":
        return tuple(str(i) for i in range(11))
    if kind == "query_attribute":
        return vocabulary().values(function[len("query_") :])
    raise ValueError(f"a template must end in a function that gives an answer, got {function!r}")


@cache
def _compiled(key: tuple[str, int]) -> _Template:
    """A package template compiled for the search (cached: templates are read-only)."""
    (template,) = load_templates([key]).values()
    return _Template(key, template)


# ========================================================================= the search


class _SceneIndex:
    """Per-scene tables for the search: the engine's view and the filter options."""

    __slots__ = ("view", "options", "absent", "n_single", "relations", "attr_sets")

    def __init__(self, scene: Scene) -> None:
        view = _View(scene)
        self.view = view
        voc = vocabulary()
        by = view.by_value
        everything = view.everything
        self.attr_sets = tuple(by[a] for a in ATTRIBUTES)
        options: list[tuple[tuple[str | None, ...], frozenset[int]]] = []
        absent: list[tuple[str | None, ...]] = []
        # every (size, color, material, shape) combination, each value possibly None
        for z in (None, *voc.sizes):
            sz = everything if z is None else by["size"].get(z, _EMPTY)
            for c in (None, *voc.colors):
                szc = sz if c is None else sz & by["color"].get(c, _EMPTY)
                for m in (None, *voc.materials):
                    szcm = szc if m is None else szc & by["material"].get(m, _EMPTY)
                    for s in (None, *voc.shapes):
                        final = szcm if s is None else szcm & by["shape"].get(s, _EMPTY)
                        if final:
                            options.append(((z, c, m, s), final))
                        else:
                            absent.append((z, c, m, s))
        self.options = options  # combinations that match some object of the scene
        self.absent = absent  # combinations that match none
        self.n_single = sum(1 for _, objs in options if len(objs) == 1)
        self.relations = tuple(r for r in RELATIONS if r in view.relations) + tuple(
            sorted(r for r in view.relations if r not in RELATIONS)
        )


class _Search:
    """One depth-first instantiation of one template on one scene."""

    def __init__(self, gen: QuestionGenerator, index: _SceneIndex, tpl: _Template, rng: np.random.Generator):
        self.gen = gen
        self.index = index
        self.view = index.view
        self.tpl = tpl
        self.rng = rng
        self.budget = gen.max_steps
        self.counts = gen._answer_counts.setdefault(tpl.key, {})
        self.nodes: list[tuple[str, tuple[int, ...], tuple[str, ...]]] = []
        self.outs: list[Any] = []
        self.vals: dict[str, str] = {}
        self.imap = [0] * len(tpl.steps)
        self.chosen: list[Any] = [None] * len(tpl.steps)  # what each template node selects, for OUT_NEQ
        self.answer: str | None = None

    # ----------------------------------------------------------------- bookkeeping
    def _push(self, function: str, inputs: tuple[int, ...], side: tuple[str, ...], out: Any) -> int:
        self.nodes.append((function, inputs, side))
        self.outs.append(out)
        return len(self.nodes) - 1

    def _truncate(self, n: int) -> None:
        del self.nodes[n:]
        del self.outs[n:]

    def _neq_ok(self) -> bool:
        vals = self.vals
        for p1, p2 in self.tpl.neq:
            if p1 in vals and p2 in vals and vals[p1] == vals[p2]:
                return False
        return True

    def _out_neq_ok(self, k: int, chosen: Any) -> bool:
        """Record what template node ``k`` selects; False if it equals that of a node it must differ from."""
        self.chosen[k] = chosen
        return all(self.chosen[j] != chosen for j in self.tpl.steps[k].out_neq)

    # ---------------------------------------------------------------------- search
    def run(self) -> bool:
        return self._visit(0)

    def _visit(self, k: int) -> bool:
        if self.budget <= 0:
            return False
        self.budget -= 1
        if k == len(self.tpl.steps):
            return self._accept()
        step = self.tpl.steps[k]
        if step.kind == "plain":
            return self._visit_plain(k, step)
        if step.kind == "param":
            return self._visit_param(k, step)
        if step.kind == "filter":
            return self._visit_filter(k, step)
        return self._visit_relate(k, step)

    def _visit_plain(self, k: int, step: _Step) -> bool:
        args = tuple(self.outs[self.imap[i]] for i in step.inputs)
        out = _FUNCTIONS[step.function][2](self.view, args, ())
        if out is INVALID:
            return False
        base = len(self.nodes)
        self.imap[k] = self._push(step.function, tuple(self.imap[i] for i in step.inputs), (), out)
        if self._out_neq_ok(k, out) and self._visit(k + 1):
            return True
        self._truncate(base)
        return False

    def _visit_param(self, k: int, step: _Step) -> bool:
        (name,) = step.params
        if name in self.tpl.nulls:  # a single-valued node cannot stay empty
            return False
        ptype = self.tpl.param_types[name]
        domain = self.index.relations if ptype == "Relation" else vocabulary().values(_TYPE_ATTRIBUTE[ptype])
        inputs = tuple(self.imap[i] for i in step.inputs)
        args = tuple(self.outs[i] for i in inputs)
        run = _FUNCTIONS[step.function][2]
        is_filter = step.function.startswith("filter_")
        base = len(self.nodes)
        children = self.gen.max_branching
        for i in self.rng.permutation(len(domain)):
            if children <= 0:
                return False
            if self.budget <= 0:
                return False
            self.budget -= 1
            value = domain[i]
            out = run(self.view, args, (value,))
            if out is INVALID or (is_filter and args[0] and out == args[0]):
                continue
            self.vals[name] = value
            if self._neq_ok():
                children -= 1
                self.imap[k] = self._push(step.function, inputs, (value,), out)
                if self._out_neq_ok(k, out) and self._visit(k + 1):
                    return True
                self._truncate(base)
            del self.vals[name]
        return False

    def _chain(
        self, start: int, objects: frozenset[int], key: tuple[str | None, ...]
    ) -> tuple[frozenset[int], int] | None:
        """Push the filters of ``key`` on node ``start`` (whose output is ``objects``).

        Returns the chain's output and last node, or None (nothing pushed) if a filter is idle.
        """
        attr_sets = self.index.attr_sets
        cur, at = objects, start
        pushed = len(self.nodes)
        for a, value in enumerate(key):
            if value is None:
                continue
            nxt = cur & attr_sets[a].get(value, _EMPTY)
            if cur and nxt == cur:  # the word would remove nothing
                self._truncate(pushed)
                return None
            at = self._push("filter_" + ATTRIBUTES[a], (at,), (value,), nxt)
            cur = nxt
        return cur, at

    def _minimal(self, objects: frozenset[int], key: tuple[str | None, ...]) -> bool:
        """For a description that picks one object of ``objects``: is every word of it needed?"""
        attr_sets = self.index.attr_sets
        named = [(a, v) for a, v in enumerate(key) if v is not None]
        for skip in range(len(named)):
            cur = objects
            for t, (a, v) in enumerate(named):
                if t != skip:
                    cur = cur & attr_sets[a].get(v, _EMPTY)
            if len(cur) <= 1:
                return False
        return True

    def _finish_filter(self, k: int, step: _Step, params: Sequence[str], key, chain) -> bool:
        """After a filter chain: the ending node, the placeholders' values, the constraints, recurse."""
        cur, at = chain
        if step.ending is not None:
            at = self._push(step.ending, (at,), (), _ENDINGS[step.ending](cur))
        vals = self.vals
        for name, value in zip(params, key, strict=True):
            vals[name] = value if value is not None else ("thing" if self.tpl.param_types[name] == "Shape" else "")
        ok = False
        if self._neq_ok():
            self.imap[k] = at
            ok = self._out_neq_ok(k, cur) and self._visit(k + 1)
        if not ok:
            for name in params:
                del vals[name]
        return ok

    def _null_ok(self, params: Sequence[str], key: Sequence[str | None]) -> bool:
        nulls = self.tpl.nulls
        return all(value is None or name not in nulls for name, value in zip(params, key, strict=True))

    def _visit_filter(self, k: int, step: _Step) -> bool:
        src = self.imap[step.inputs[0]]
        objects = self.outs[src]
        if not _is_set(objects):
            return False
        index, rng = self.index, self.rng
        options = index.options
        n_options = len(options)
        ending = step.ending
        if ending == "unique":
            extra: list = []
        else:
            # options that match nothing, in CLEVR's proportions
            want = n_options if ending == "exist" else index.n_single
            want = min(want, len(index.absent))
            picked = rng.choice(len(index.absent), size=want, replace=False) if want else ()
            extra = [index.absent[i] for i in picked]
        skip_all_empty = step.function == "filter" or (ending == "exist" and objects == self.view.everything)
        base = len(self.nodes)
        children = self.gen.max_branching
        for i in rng.permutation(n_options + len(extra)):
            if self.budget <= 0 or children <= 0:
                return False
            self.budget -= 1
            if i < n_options:
                key, matching = options[i]
            else:
                key, matching = extra[i - n_options], _EMPTY
            if ending == "unique" and (len(objects & matching) != 1 or not self._minimal(objects, key)):
                continue
            if skip_all_empty and key == (None, None, None, None):
                continue
            if not self._null_ok(step.params, key):
                continue
            chain = self._chain(src, objects, key)
            if chain is None:
                continue
            children -= 1
            if self._finish_filter(k, step, step.params, key, chain):
                return True
            self._truncate(base)
        return False

    def _visit_relate(self, k: int, step: _Step) -> bool:
        src = self.imap[step.inputs[0]]
        obj = self.outs[src]
        if not _is_object(obj):
            return False
        index, rng, view = self.index, self.rng, self.view
        options = index.options
        n_options = len(options)
        relations = index.relations
        ending = step.ending
        rel_param, params = step.params[0], step.params[1:]
        if rel_param in self.tpl.nulls:
            return False
        trivial_prob = self.gen.trivial_relate_prob
        base = len(self.nodes)
        children = self.gen.max_branching
        for i in rng.permutation(len(relations) * n_options):
            if self.budget <= 0 or children <= 0:
                return False
            self.budget -= 1
            r, j = divmod(int(i), n_options)
            relation = relations[r]
            related = view.relations[relation][obj]
            key, matching = options[j]
            final = related & matching
            if ending == "unique":
                if len(final) != 1 or not self._minimal(related, key):
                    continue
            elif ending is None and not final:
                continue
            if not self._null_ok(params, key):
                continue
            if final == matching and rng.random() >= trivial_prob:  # the relation removes nothing
                continue
            at = self._push("relate", (src,), (relation,), related)
            chain = self._chain(at, related, key)
            if chain is not None:
                children -= 1
                self.vals[rel_param] = relation
                if self._finish_filter(k, step, params, key, chain):
                    return True
                del self.vals[rel_param]
            self._truncate(base)
        return False

    # ---------------------------------------------------------------------- accept
    def _accept(self) -> bool:
        answer = answer_string(self.outs[-1])
        if answer is None or not self.gen._balanced(self.tpl, self.counts, answer):
            return False
        if self.tpl.has_relate and self._degenerate():
            return False
        self.answer = answer
        return True

    def _degenerate(self) -> bool:
        """True when replacing some ``relate`` node by the whole scene leaves the answer as it is."""
        final = self.outs[-1]
        for idx, (function, _, _) in enumerate(self.nodes):
            if function != "relate":
                continue
            outs = self.outs[:idx] + [self.view.everything]
            for fn, inputs, side in self.nodes[idx + 1 :]:
                args = tuple(outs[i] for i in inputs)
                outs.append(INVALID if any(a is INVALID for a in args) else _FUNCTIONS[fn][2](self.view, args, side))
            if outs[-1] is not INVALID and outs[-1] == final and type(outs[-1]) is type(final):
                return True
        return False


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


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)


def _check_real(name: str, value: Any, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


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
        self.balance_ratio = _check_real("balance_ratio", balance_ratio, 1.0)
        self.balance_median_factor = _check_real("balance_median_factor", balance_median_factor, 1.0)
        self.reset_every = _check_int("reset_every", reset_every, 1)
        self.max_steps = _check_int("max_steps", max_steps, 1)
        self.max_branching = _check_int("max_branching", max_branching, 1)
        self.trivial_relate_prob = _check_real("trivial_relate_prob", trivial_relate_prob, 0.0, 1.0)
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
        n = _check_int("n", n, 0)
        start_index = _check_int("start_index", start_index, 0)
        keys = self.template_keys
        if max_tries is None:
            max_tries = max(len(keys), 2 * n)
        max_tries = _check_int("max_tries", max_tries, 1)
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
    n_scenes = _check_int("n_scenes", n_scenes, 0)
    questions_per_scene = _check_int("questions_per_scene", questions_per_scene, 0)
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
