"""CLEVR's reference program engine and question types, used by the question generator.

A small set-based interpreter with the semantics of CLEVR's ``question_engine``
(:func:`run_program`, :func:`reference_answer`) and the five question types
(:func:`question_type`); see :mod:`hybrid.tasks.clevr.questions` for how the generator
uses them. Everything here is re-exported there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hybrid.tasks.clevr.io import Question
from hybrid.tasks.clevr.scene import ATTRIBUTES, Scene

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
