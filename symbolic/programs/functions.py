"""CLEVR's DSL: the functions, their signatures and types, read from CLEVR's ``metadata.json``.

Each function takes *inputs* (outputs of earlier nodes, typed ``Object``, ``ObjectSet``,
``Integer``, ``Bool`` or an attribute type) and *value inputs* (literal words of a typed
vocabulary: ``filter_color`` takes one ``Color``, ``relate`` one ``Relation``) and returns
one typed output. :func:`signature` looks one up; :func:`value_types` gives the
vocabularies. The template-only functions of the metadata (``filter_unique``,
``relate_filter_count``, ...) are listed too, flagged ``template_only``: CLEVR's question
generator expands them into the basic functions, and the executor does not run them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from hybrid.tasks.clevr.scene import load_json

#: Types whose values are objects or derived from them (no vocabulary of literal words).
OBJECT_TYPE = "Object"
OBJECT_SET_TYPE = "ObjectSet"
INTEGER_TYPE = "Integer"
BOOL_TYPE = "Bool"


@dataclass(frozen=True)
class FunctionSpec:
    """The signature of one DSL function.

    Attributes:
        name: the function's name (``"filter_color"``).
        inputs: the types of its inputs, in order (``("ObjectSet",)``).
        value_inputs: the types of its value inputs (``("Color",)``), CLEVR's ``side_inputs``.
        output: the type it returns (``"ObjectSet"``).
        terminal: CLEVR's flag: the function can end a question.
        template_only: the function appears in CLEVR's templates only and is expanded into
            basic functions before a program is written out; the executor does not run it.
    """

    name: str
    inputs: tuple[str, ...]
    value_inputs: tuple[str, ...]
    output: str
    terminal: bool
    template_only: bool

    @property
    def arity(self) -> int:
        """The number of inputs (node outputs) the function takes."""
        return len(self.inputs)


@lru_cache(maxsize=1)
def _tables() -> tuple[MappingProxyType, MappingProxyType]:
    meta = load_json("metadata.json")
    types = MappingProxyType(
        {name: (tuple(values) if values is not None else None) for name, values in meta["types"].items()}
    )
    specs = {}
    for f in meta["functions"]:
        specs[f["name"]] = FunctionSpec(
            name=f["name"],
            inputs=tuple(f.get("inputs", ())),
            value_inputs=tuple(f.get("side_inputs", ())),
            output=f["output"],
            terminal=bool(f.get("terminal", False)),
            template_only=bool(f.get("template_only", False)),
        )
    return MappingProxyType(specs), types


def functions() -> MappingProxyType:
    """All DSL functions of CLEVR's metadata: a read-only mapping name -> :class:`FunctionSpec`.

    Includes the template-only functions (see :attr:`FunctionSpec.template_only`).
    """
    return _tables()[0]


def executable_functions() -> tuple[str, ...]:
    """Names of the functions the executor runs (every function that is not template-only)."""
    return tuple(name for name, spec in functions().items() if not spec.template_only)


def types() -> MappingProxyType:
    """CLEVR's types: a read-only mapping type name -> tuple of its values, or ``None`` for the
    types without a vocabulary (``Object``, ``ObjectSet``, ``Integer``, ``Bool``)."""
    return _tables()[1]


def value_types() -> MappingProxyType:
    """The types with a vocabulary of literal values (``Shape``, ``Color``, ``Relation``, ``Size``,
    ``Material``): a read-only mapping type name -> tuple of values."""
    return MappingProxyType({k: v for k, v in types().items() if v is not None})


def signature(name: str) -> FunctionSpec:
    """The :class:`FunctionSpec` of function ``name``.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: no DSL function has that name.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    spec = functions().get(name)
    if spec is None:
        raise ValueError(f"name must be one of CLEVR's functions {sorted(functions())}, got {name!r}")
    return spec


def is_answer_type(type_name: str) -> bool:
    """Whether values of ``type_name`` can be a question's answer (anything but objects and object sets)."""
    return type_name not in (OBJECT_TYPE, OBJECT_SET_TYPE)


def answer_type(answer: str) -> str | None:
    """The CLEVR type of an answer written as CLEVR writes answers.

    Args:
        answer: ``"yes"``/``"no"`` (``Bool``), a decimal count such as ``"3"``
            (``Integer``), or a value of an attribute vocabulary (``"cube"`` -> ``Shape``).

    Returns:
        The type's name, or ``None`` for a string that is no CLEVR answer (a relation such
        as ``"left"`` is a value but no function returns one).
    """
    if not isinstance(answer, str):
        return None
    if answer in ("yes", "no"):
        return BOOL_TYPE
    if answer.isdecimal():
        return INTEGER_TYPE
    returned = {spec.output for spec in functions().values()}
    for name, values in value_types().items():
        if answer in values and name in returned:
            return name
    return None
