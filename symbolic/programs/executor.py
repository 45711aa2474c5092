"""Run a CLEVR program on a scene table, with the semantics of CLEVR's question engine.

``scene`` gives all objects; ``filter_<attr>[v]`` the subset with that value; ``unique``
the one object of a singleton set -- any other set makes the program *invalid for this
scene* (CLEVR's rule), a result with ``valid=False``, not an exception; ``relate[r](o)``
the objects standing in relation ``r`` to ``o`` (``scene.relationships[r][o]``: for
``left``, the objects left of ``o``); ``union`` / ``intersect``; ``count`` an int; ``exist``
a bool; ``query_<attr>(o)`` the value; ``same_<attr>(o)`` the *other* objects sharing the
value (``o`` itself excluded); ``equal_<attr>``, ``equal_integer``, ``equal_object``,
``less_than`` and ``greater_than`` compare their two inputs.

For speed, object sets are int bitmasks (bit ``i`` for object ``i``); a scene is compiled
once into per-value and per-relation masks (:class:`CompiledScene`, cached per
:class:`~hybrid.tasks.clevr.scene.Scene` object), and a program once into a list of small
closures (cached per :class:`Program`, and per token tuple for token input).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from hybrid.symbolic.programs.functions import OBJECT_SET_TYPE
from hybrid.symbolic.programs.program import Node, Program, to_program
from hybrid.symbolic.programs.validation import check
from hybrid.tasks.clevr.scene import ATTRIBUTES, Scene

Answer = str | int | bool
ProgramLike = Program | Sequence[Mapping[str, Any]] | Sequence[str]


# ---------------------------------------------------------------------------- scenes
@dataclass(frozen=True, eq=False)
class CompiledScene:
    """A scene turned into bitmasks for the executor (bit ``i`` stands for object ``i``).

    Build it with :func:`compile_scene`. Attributes:
        n_objects: the number of objects.
        all_objects: the mask of every object.
        masks: attribute -> value -> mask of the objects with that value (values absent
            from the scene are absent from the mapping).
        values: attribute -> the value of each object, by index.
        same: attribute -> for each object, the mask of the *other* objects sharing its value.
        relations: relation -> for each object ``i``, the mask of
            ``scene.relationships[relation][i]``.
    """

    n_objects: int
    all_objects: int
    masks: Mapping[str, Mapping[str, int]]
    values: Mapping[str, tuple[str, ...]]
    same: Mapping[str, tuple[int, ...]]
    relations: Mapping[str, tuple[int, ...]]


_SCENES: dict[int, tuple[weakref.ref, CompiledScene]] = {}


def _forget(key: int, ref: weakref.ref) -> None:
    entry = _SCENES.get(key)
    if entry is not None and entry[0] is ref:
        del _SCENES[key]


def compile_scene(scene: Scene | CompiledScene) -> CompiledScene:
    """Compile ``scene`` into bitmasks; cached per Scene object while the scene lives.

    Args:
        scene: a :class:`~hybrid.tasks.clevr.scene.Scene` (or an already compiled scene, returned
            as is).

    Returns:
        The :class:`CompiledScene`.

    Raises:
        TypeError: ``scene`` is neither a Scene nor a CompiledScene.
    """
    if isinstance(scene, CompiledScene):
        return scene
    if not isinstance(scene, Scene):
        raise TypeError(f"scene must be a hybrid.tasks.clevr.Scene or a CompiledScene, got {type(scene).__name__}")
    key = id(scene)
    entry = _SCENES.get(key)
    if entry is not None and entry[0]() is scene:
        return entry[1]
    compiled = _compile_scene(scene)
    _SCENES[key] = (weakref.ref(scene, lambda ref, key=key: _forget(key, ref)), compiled)
    return compiled


def _compile_scene(scene: Scene) -> CompiledScene:
    n = len(scene.objects)
    masks: dict[str, MappingProxyType] = {}
    values: dict[str, tuple[str, ...]] = {}
    same: dict[str, tuple[int, ...]] = {}
    for attr in ATTRIBUTES:
        vals = tuple(getattr(obj, attr) for obj in scene.objects)
        by_value: dict[str, int] = {}
        for i, v in enumerate(vals):
            by_value[v] = by_value.get(v, 0) | (1 << i)
        masks[attr] = MappingProxyType(by_value)
        values[attr] = vals
        same[attr] = tuple(by_value[v] & ~(1 << i) for i, v in enumerate(vals))
    relations = {
        name: tuple(sum(1 << j for j in set(row)) for row in rows) for name, rows in scene.relationships.items()
    }
    return CompiledScene(
        n_objects=n,
        all_objects=(1 << n) - 1,
        masks=MappingProxyType(masks),
        values=MappingProxyType(values),
        same=MappingProxyType(same),
        relations=MappingProxyType(relations),
    )


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Result:
    """What a program gives on a scene.

    Attributes:
        answer: the answer -- a str for attribute values, an int for counts, a bool for
            yes/no questions; ``None`` when the result is not valid.
        valid: False when the program is ill-formed or ill-typed, or cannot run on this
            scene (``unique`` of a set that is not a singleton, a relation the scene lacks).
        error: why it is not valid, naming the node (``"node 4 (unique): ..."``); ``None``
            when valid. Static problems start with ``"invalid program: "``.
        trace: when asked for, the output of each node that ran, in node order: object sets
            as sorted tuples of object indices, objects as an index, other values as is. A
            run that failed at node ``k`` holds the outputs of nodes ``0..k-1``.
        steps: the number of nodes evaluated (the symbolic work done, for meters).
    """

    answer: Answer | None
    valid: bool
    error: str | None = None
    trace: tuple[Any, ...] | None = None
    steps: int = 0


def answer_text(result: Result | Answer) -> str | None:
    """A result's answer written as CLEVR writes answers: ``"yes"``/``"no"``, ``"3"``, ``"red"``.

    Args:
        result: a :class:`Result`, or a bare answer (bool, int or str).

    Returns:
        The answer as a str; ``None`` for a result that is not valid.

    Raises:
        TypeError: ``result`` is neither a Result nor a bool, int or str.
    """
    if isinstance(result, Result):
        if not result.valid:
            return None
        result = result.answer
    if isinstance(result, bool):
        return "yes" if result else "no"
    if isinstance(result, (int, str)):
        return str(result)
    raise TypeError(f"result must be a Result or an answer (bool, int or str), got {type(result).__name__}")


# ---------------------------------------------------------------------------- programs
class _Invalid(Exception):
    """Raised inside a step when the program cannot run on the scene (CLEVR's __INVALID__)."""


Step = Callable[[CompiledScene, list], Any]


def _scene(cs: CompiledScene, v: list) -> int:
    return cs.all_objects


def _filter(attr: str) -> Callable[[Node], Step]:
    def make(node: Node) -> Step:
        (a,), (value,) = node.inputs, node.value_inputs

        def step(cs: CompiledScene, v: list) -> int:
            return cs.masks[attr].get(value, 0) & v[a]

        return step

    return make


def _unique(node: Node) -> Step:
    (a,) = node.inputs

    def step(cs: CompiledScene, v: list) -> int:
        s = v[a]
        if s and not s & (s - 1):
            return s.bit_length() - 1
        raise _Invalid(f"unique needs exactly one object, got {s.bit_count()}")

    return step


def _relate(node: Node) -> Step:
    (a,), (relation,) = node.inputs, node.value_inputs

    def step(cs: CompiledScene, v: list) -> int:
        rows = cs.relations.get(relation)
        if rows is None:
            raise _Invalid(f"the scene has no relation {relation!r} (it has {sorted(cs.relations)})")
        return rows[v[a]]

    return step


def _same(attr: str) -> Callable[[Node], Step]:
    def make(node: Node) -> Step:
        (a,) = node.inputs

        def step(cs: CompiledScene, v: list) -> int:
            return cs.same[attr][v[a]]

        return step

    return make


def _query(attr: str) -> Callable[[Node], Step]:
    def make(node: Node) -> Step:
        (a,) = node.inputs

        def step(cs: CompiledScene, v: list) -> str:
            return cs.values[attr][v[a]]

        return step

    return make


def _unary(fn: Callable[[Any], Any]) -> Callable[[Node], Step]:
    def make(node: Node) -> Step:
        (a,) = node.inputs
        return lambda cs, v: fn(v[a])

    return make


def _binary(fn: Callable[[Any, Any], Any]) -> Callable[[Node], Step]:
    def make(node: Node) -> Step:
        a, b = node.inputs
        return lambda cs, v: fn(v[a], v[b])

    return make


def _eq(x: Any, y: Any) -> bool:
    return x == y


_MAKERS: dict[str, Callable[[Node], Step]] = {
    "scene": lambda node: _scene,
    "unique": _unique,
    "relate": _relate,
    "union": _binary(int.__or__),
    "intersect": _binary(int.__and__),
    "count": _unary(int.bit_count),
    "exist": _unary(bool),
    "equal_integer": _binary(_eq),
    "equal_object": _binary(_eq),
    "less_than": _binary(int.__lt__),
    "greater_than": _binary(int.__gt__),
}
for _attr in ATTRIBUTES:
    _MAKERS[f"filter_{_attr}"] = _filter(_attr)
    _MAKERS[f"same_{_attr}"] = _same(_attr)
    _MAKERS[f"query_{_attr}"] = _query(_attr)
    _MAKERS[f"equal_{_attr}"] = _binary(_eq)


@dataclass(frozen=True)
class _Compiled:
    steps: tuple[Step, ...]
    names: tuple[str, ...]
    object_sets: tuple[bool, ...]  # per node: does it return an ObjectSet (for the trace)?
    error: str | None


@lru_cache(maxsize=65536)
def _make_step(node: Node) -> Step:
    # Steps are pure closures over a node's fields: programs sharing a node share its step.
    return _MAKERS[node.function](node)


@lru_cache(maxsize=65536)
def _compile_program(program: Program) -> _Compiled:
    problems, out_types = check(program)
    names = tuple(n.function for n in program.nodes)
    if problems:
        return _Compiled((), names, (), "invalid program: " + "; ".join(problems))
    missing = [n.function for n in program.nodes if n.function not in _MAKERS]
    if missing:  # a function of the metadata the executor does not implement
        return _Compiled((), names, (), f"invalid program: no executor for {sorted(set(missing))}")
    steps = tuple(_make_step(n) for n in program.nodes)
    return _Compiled(steps, names, tuple(t == OBJECT_SET_TYPE for t in out_types), None)


@lru_cache(maxsize=65536)
def _parse_tokens(tokens: tuple[str, ...]) -> Program | str:
    try:
        return Program.from_tokens(tokens)
    except ValueError as exc:
        return f"invalid program: could not parse the tokens: {exc}"


def _as_compiled(program: ProgramLike) -> _Compiled:
    if isinstance(program, Program):
        return _compile_program(program)
    if isinstance(program, (list, tuple)) and program and all(type(t) is str for t in program):
        parsed = _parse_tokens(tuple(program))
        if isinstance(parsed, str):
            return _Compiled((), (), (), parsed)
        return _compile_program(parsed)
    try:
        if type(program) is list and program and type(program[0]) is dict:  # CLEVR JSON, as json.load gives it
            prog = Program.from_clevr(program)
        else:
            prog = to_program(program)
    except ValueError as exc:
        return _Compiled((), (), (), f"invalid program: could not parse the program: {exc}")
    return _compile_program(prog)


def _mask_indices(mask: int) -> tuple[int, ...]:
    return tuple(i for i in range(mask.bit_length()) if mask >> i & 1)


def execute(program: ProgramLike, scene: Scene | CompiledScene, trace: bool = False) -> Result:
    """Run ``program`` on ``scene`` with CLEVR's semantics.

    Args:
        program: a :class:`Program`, a CLEVR JSON node list (v1.0 or generator spelling, or
            a question record holding one) or a token list (see :meth:`Program.from_tokens`).
        scene: a :class:`~hybrid.tasks.clevr.scene.Scene` or a :class:`CompiledScene`.
        trace: also return every node's output (:attr:`Result.trace`).

    Returns:
        A :class:`Result`. A program that cannot be parsed, is ill-formed or ill-typed (see
        :func:`hybrid.symbolic.programs.validate`), or cannot run on this scene (``unique`` of a
        set that is not a singleton, a relation the scene lacks) gives ``valid=False`` and an
        ``error`` naming the node; no exception is raised for those.

    Raises:
        TypeError: ``program`` is not a program in any accepted form, or ``scene`` is not a
            scene.
    """
    compiled = _as_compiled(program)
    cs = compile_scene(scene)
    if compiled.error is not None:
        return Result(None, False, compiled.error, () if trace else None, 0)
    vals: list[Any] = []
    append = vals.append
    try:
        for step in compiled.steps:
            append(step(cs, vals))
    except _Invalid as exc:
        k = len(vals)
        error = f"node {k} ({compiled.names[k]}): {exc}"
        return Result(None, False, error, _trace(compiled, vals) if trace else None, k + 1)
    return Result(vals[-1], True, None, _trace(compiled, vals) if trace else None, len(vals))


def _trace(compiled: _Compiled, vals: list) -> tuple[Any, ...]:
    return tuple(_mask_indices(x) if is_set else x for x, is_set in zip(vals, compiled.object_sets, strict=False))
