"""Programs of CLEVR's DSL: immutable node lists, CLEVR's JSON forms and a token form.

A :class:`Program` is a tuple of :class:`Node` in topological order: a node's ``inputs``
index earlier nodes, and the last node gives the answer. This is CLEVR's own layout.

Three spellings are read and written:

* CLEVR v1.0 question files: ``{"function": "filter_color", "inputs": [1], "value_inputs": ["red"]}``
  (:meth:`Program.from_clevr`, :meth:`Program.to_clevr`);
* CLEVR's question generator: ``{"type": "filter_color", "inputs": [1], "side_inputs": ["red"]}``
  (read by :meth:`Program.from_clevr`; ``side_inputs`` may be absent);
* tokens for sequence models (:meth:`Program.to_tokens`, :meth:`Program.from_tokens`): the
  answer tree in prefix (Polish) order, one token per node, the value inputs folded into
  the token: ``["count", "filter_color[red]", "scene"]``, ``relate[left]``, ``equal_color``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hybrid.symbolic.programs.functions import functions, value_types
from hybrid.tasks._checks import is_int

_TOKEN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\[\]\s]*)\])?$")
_BAD_VALUE = re.compile(r"[\[\],\s]")


@dataclass(frozen=True)
class Node:
    """One step of a program.

    Attributes:
        function: the DSL function's name (``"filter_color"``).
        inputs: indices of the earlier nodes whose outputs it takes, in order.
        value_inputs: its literal arguments (``("red",)``), CLEVR's ``value_inputs``.

    Lists are accepted and stored as tuples.

    Raises:
        TypeError: ``function`` is not a str, ``inputs`` not a sequence of int, or
            ``value_inputs`` not a sequence of str (a bare str is refused: write ``("red",)``).
    """

    function: str
    inputs: tuple[int, ...] = ()
    value_inputs: tuple[str, ...] = ()
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        if not isinstance(self.function, str):
            raise TypeError(f"function must be a str, got {type(self.function).__name__}")
        if isinstance(self.inputs, (str, bytes)) or not isinstance(self.inputs, Iterable):
            raise TypeError(f"inputs must be a sequence of int, got {type(self.inputs).__name__}")
        inputs = tuple(self.inputs)
        if not all(is_int(i) for i in inputs):
            raise TypeError(f"inputs must be a sequence of int, got {inputs!r}")
        if isinstance(self.value_inputs, (str, bytes)) or not isinstance(self.value_inputs, Iterable):
            raise TypeError(
                f"value_inputs must be a sequence of str (e.g. ('red',)), got {type(self.value_inputs).__name__}"
            )
        values = tuple(self.value_inputs)
        if any(not isinstance(v, str) for v in values):
            raise TypeError(f"value_inputs must be a sequence of str, got {values!r}")
        object.__setattr__(self, "inputs", tuple(int(i) for i in inputs))
        object.__setattr__(self, "value_inputs", values)
        object.__setattr__(self, "_hash", hash((self.function, self.inputs, values)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild on unpickling: the cached hash of str tuples differs between processes.
        return (Node, (self.function, self.inputs, self.value_inputs))

    def token(self) -> str:
        """This node's token: ``function`` or ``function[v1,v2]`` with its value inputs.

        Raises:
            ValueError: a value input is empty or holds ``[``, ``]``, ``,`` or whitespace.
        """
        if not self.value_inputs:
            return self.function
        for v in self.value_inputs:
            if not v or _BAD_VALUE.search(v):
                raise ValueError(
                    f"value input {v!r} of {self.function!r} cannot be written as a token "
                    "(empty, or holds '[', ']', ',' or whitespace)"
                )
        return f"{self.function}[{','.join(self.value_inputs)}]"


# Nodes read from JSON, interned: programs from a file share most of their nodes, and a
# shared node makes hashing and comparing programs (the executor's caches) cheap.
_INTERNED: dict[tuple[str, tuple[int, ...], tuple[str, ...]], Node] = {}
_MAX_INTERNED = 1 << 17


def _node(function: str, inputs: tuple[int, ...], value_inputs: tuple[str, ...]) -> Node:
    """A Node from fields already known to be well typed (skips the checks of ``__post_init__``)."""
    key = (function, inputs, value_inputs)
    node = _INTERNED.get(key)
    if node is not None:
        return node
    node = object.__new__(Node)
    object.__setattr__(node, "function", function)
    object.__setattr__(node, "inputs", inputs)
    object.__setattr__(node, "value_inputs", value_inputs)
    object.__setattr__(node, "_hash", hash(key))
    if len(_INTERNED) < _MAX_INTERNED:
        _INTERNED[key] = node
    return node


@lru_cache(maxsize=4096)
def _parse_token(token: str) -> tuple[str, tuple[str, ...], int]:
    """``(function, value_inputs, arity)`` of one token; ValueError if malformed or unknown."""
    m = _TOKEN.match(token)
    if m is None:
        raise ValueError(f"is not a token of the form name or name[v1,...]: {token!r}")
    name, vals = m.group(1), m.group(2)
    spec = functions().get(name)
    if spec is None:
        raise ValueError(f"names an unknown function {name!r}")
    values: tuple[str, ...] = ()
    if vals is not None:
        values = tuple(vals.split(","))
        if any(not v for v in values):
            raise ValueError(f"has an empty value: {token!r}")
    return name, values, spec.arity


def _checked_node(i: int, raw: Any) -> Node:
    """Node ``i`` of a CLEVR JSON list, with every check; ValueError/TypeError naming what is wrong."""
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise TypeError(f"nodes[{i}] must be a mapping (a CLEVR JSON node), got {type(raw).__name__}")
    name = raw.get("function", raw.get("type"))
    if name is None:
        name = raw.get("type")
    if not isinstance(name, str):
        raise ValueError(f"nodes[{i}] must name its function under 'function' or 'type' (a str), got {raw!r}")
    inputs = raw.get("inputs", [])
    if (
        isinstance(inputs, (str, bytes))
        or not isinstance(inputs, Sequence)
        or not all(is_int(j) for j in inputs)
    ):
        raise ValueError(f"nodes[{i}]['inputs'] must be a list of int, got {inputs!r}")
    values = raw.get("value_inputs")
    if values is None:
        values = raw.get("side_inputs", [])
    if (
        isinstance(values, (str, bytes))
        or not isinstance(values, Sequence)
        or any(not isinstance(v, str) for v in values)
    ):
        raise ValueError(f"nodes[{i}]['value_inputs'] must be a list of str, got {values!r}")
    return _node(str(name), tuple(int(j) for j in inputs), tuple(str(v) for v in values))


def _program(cls: type, nodes: tuple[Node, ...]) -> Program:
    """A Program from nodes already known to be Nodes (skips the checks of ``__post_init__``)."""
    program = object.__new__(cls)
    object.__setattr__(program, "nodes", nodes)
    object.__setattr__(program, "_hash", hash(nodes))
    return program


@dataclass(frozen=True, eq=False)
class Program:
    """An immutable, hashable CLEVR program: nodes in topological order, the last one the answer.

    Construction only checks that every element is a :class:`Node`; whether the program is
    well formed and well typed is :func:`hybrid.symbolic.programs.validate`'s business, so that an
    ill-formed program (say, from a sequence model) can still be built, inspected and
    executed to an *invalid* result.

    Attributes:
        nodes: the nodes, as a tuple.

    Raises:
        TypeError: ``nodes`` is not an iterable of :class:`Node`.
    """

    nodes: tuple[Node, ...]
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        if isinstance(self.nodes, (str, bytes, Mapping)) or not isinstance(self.nodes, Iterable):
            raise TypeError(f"nodes must be an iterable of Node, got {type(self.nodes).__name__}")
        nodes = tuple(self.nodes)
        for i, n in enumerate(nodes):
            if not isinstance(n, Node):
                raise TypeError(f"nodes[{i}] must be a Node, got {type(n).__name__}")
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "_hash", hash(nodes))

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Program):
            return NotImplemented
        return self._hash == other._hash and self.nodes == other.nodes

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild on unpickling: the cached hash of str tuples differs between processes.
        return (Program, (self.nodes,))

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __getitem__(self, index: int) -> Node:
        return self.nodes[index]

    # ------------------------------------------------------------------ CLEVR JSON
    @classmethod
    def from_clevr(cls, nodes: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> Program:
        """Read CLEVR's JSON node list, in either spelling.

        Args:
            nodes: a list of node mappings, each with the function under ``"function"``
                (CLEVR v1.0 question files) or ``"type"`` (CLEVR's generator), ``"inputs"``
                (default ``[]``) and the value inputs under ``"value_inputs"`` or
                ``"side_inputs"`` (default ``[]``); other keys (``"_output"``) are ignored.
                A whole question record is accepted too: its ``"program"`` (v1.0) or
                ``"nodes"`` (generator) list is read.

        Returns:
            The :class:`Program`.

        Raises:
            TypeError: ``nodes`` is not a list of mappings (or a question with one).
            ValueError: a node has no function name or malformed inputs / value inputs.
        """
        if isinstance(nodes, Mapping):
            key = "program" if "program" in nodes else "nodes" if "nodes" in nodes else None
            if key is None:
                raise TypeError("nodes must be a list of CLEVR nodes or a question with a 'program' or 'nodes' list")
            nodes = nodes[key]
        if isinstance(nodes, (str, bytes, Mapping)) or not isinstance(nodes, Sequence):
            raise TypeError(f"nodes must be a list of CLEVR node mappings, got {type(nodes).__name__}")
        out = []
        for i, raw in enumerate(nodes):
            # Fast path for what json.load gives (a dict of a str, a list of int, a list of
            # str): the abc checks of the general path cost more than executing the program.
            if type(raw) is dict:
                name = raw.get("function")
                if name is None:
                    name = raw.get("type")
                inputs = raw.get("inputs", ())
                values = raw.get("value_inputs")
                if values is None:
                    values = raw.get("side_inputs", ())
                if type(name) is str and type(inputs) is list and type(values) is list:
                    inputs, values = tuple(inputs), tuple(values)
                    for j in inputs:
                        if type(j) is not int:
                            break
                    else:
                        for v in values:
                            if type(v) is not str:
                                break
                        else:
                            out.append(_node(name, inputs, values))
                            continue
            out.append(_checked_node(i, raw))
        return _program(cls, tuple(out))

    def to_clevr(self) -> list[dict[str, Any]]:
        """CLEVR v1.0's JSON form: a list of ``{"function", "inputs", "value_inputs"}`` dicts."""
        return [
            {"function": n.function, "inputs": list(n.inputs), "value_inputs": list(n.value_inputs)} for n in self.nodes
        ]

    # ------------------------------------------------------------------ tokens
    def to_tokens(self) -> list[str]:
        """The answer tree in prefix (Polish) order, one token per node (see :meth:`Node.token`).

        The tree is read from the last node through the inputs, first input first; nodes the
        answer does not depend on are left out, and a node used by several others (a shared
        ``scene``, say) is written once per use. ``Program.from_tokens(p.to_tokens()) == p``
        holds for every program in CLEVR's own layout: a tree whose nodes are listed in
        post-order, first input's subtree first, each node used once.

        Returns:
            The tokens, e.g. ``["count", "filter_color[red]", "scene"]``.

        Raises:
            ValueError: the program is empty, an input does not point to an earlier node, a
                function is unknown or gets the wrong number of inputs (the prefix form relies
                on each function's arity), or a value cannot be written as a token.
        """
        if not self.nodes:
            raise ValueError("an empty program has no tokens")
        specs = functions()
        tokens: list[str] = []
        stack = [len(self.nodes) - 1]
        while stack:
            i = stack.pop()
            node = self.nodes[i]
            spec = specs.get(node.function)
            if spec is None:
                raise ValueError(f"node {i}: unknown function {node.function!r} has no token form")
            if len(node.inputs) != spec.arity:
                raise ValueError(
                    f"node {i} ({node.function}): takes {spec.arity} inputs, got {len(node.inputs)}; "
                    "the prefix form needs the right arity"
                )
            for j in node.inputs:
                if not 0 <= j < i:
                    raise ValueError(f"node {i} ({node.function}): input {j} is not an earlier node")
            tokens.append(node.token())
            stack.extend(reversed(node.inputs))
        return tokens

    @classmethod
    def from_tokens(cls, tokens: Sequence[str]) -> Program:
        """Rebuild a program from its prefix tokens (the inverse of :meth:`to_tokens`).

        Each function's arity comes from CLEVR's metadata. The nodes are laid out as CLEVR
        does: post-order, first input's subtree first, the root last. The result is a tree:
        every ``scene`` leaf gets its own node (CLEVR's layout), nothing is shared.

        Args:
            tokens: a sequence of str such as ``["exist", "filter_shape[cube]", "scene"]``.

        Returns:
            The :class:`Program`.

        Raises:
            TypeError: ``tokens`` is not a sequence of str.
            ValueError: empty sequence, a malformed token, an unknown function, too few
                tokens to complete the tree or tokens left over after it.
        """
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
            raise TypeError(f"tokens must be a sequence of str (not a str), got {type(tokens).__name__}")
        if not tokens:
            raise ValueError("tokens must not be empty")
        nodes: list[Node] = []
        # Each frame: [function, value_inputs, arity, indices of its finished inputs].
        stack: list[list[Any]] = []
        pos = 0
        while True:
            if pos >= len(tokens):
                raise ValueError(f"tokens end before the program is complete ({len(tokens)} tokens)")
            tok = tokens[pos]
            if not isinstance(tok, str):
                raise TypeError(f"tokens[{pos}] must be a str, got {type(tok).__name__}")
            try:
                name, values, arity = _parse_token(tok)
            except ValueError as exc:
                raise ValueError(f"tokens[{pos}] {exc}") from None
            pos += 1
            stack.append([name, values, arity, []])
            while stack and len(stack[-1][3]) == stack[-1][2]:
                fn, vs, _, ins = stack.pop()
                nodes.append(_node(fn, tuple(ins), vs))
                if stack:
                    stack[-1][3].append(len(nodes) - 1)
            if not stack:
                break
        if pos != len(tokens):
            raise ValueError(f"{len(tokens) - pos} tokens left over after a complete program: {list(tokens[pos:])!r}")
        return cls(tuple(nodes))


def output_type(tokens: Sequence[str]) -> str | None:
    """The type a token program answers with: the output of its first (root) token's function.

    Args:
        tokens: a program in prefix tokens (:meth:`Program.to_tokens`); it need not be
            complete or well typed, only its first token is read.

    Returns:
        The type's name (``"Integer"`` for ``["count", ...]``), or ``None`` when the list
        is empty or its first token names no function.
    """
    if not tokens or not isinstance(tokens[0], str):
        return None
    try:
        name, _, _ = _parse_token(tokens[0])
    except ValueError:
        return None
    return functions()[name].output


def token_vocabulary() -> tuple[str, ...]:
    """Every token of an executable function: ``scene``, ``filter_color[red]``, ``relate[left]``, ...

    One token per function without value inputs, one per value for the functions with one
    value input; template-only functions are left out. The order is fixed (metadata order),
    so the tuple can index a sequence model's output layer.
    """
    vocab = value_types()
    out: list[str] = []
    for spec in functions().values():
        if spec.template_only:
            continue
        if not spec.value_inputs:
            out.append(spec.name)
        elif len(spec.value_inputs) == 1:
            out.extend(f"{spec.name}[{v}]" for v in vocab[spec.value_inputs[0]])
    return tuple(out)


def to_program(program: Program | Sequence[Mapping[str, Any]] | Sequence[str] | Mapping[str, Any]) -> Program:
    """Turn any accepted program form into a :class:`Program`.

    Args:
        program: a :class:`Program` (returned as is), a CLEVR JSON node list in either spelling
            or a question record holding one (see :meth:`Program.from_clevr`), or a token list
            (see :meth:`Program.from_tokens`). An empty list is the empty program.

    Returns:
        The :class:`Program`.

    Raises:
        TypeError: ``program`` is none of these (a bare str included: split it into tokens).
        ValueError: a node list or token list that cannot be parsed.
    """
    if isinstance(program, Program):
        return program
    if isinstance(program, Mapping):
        return Program.from_clevr(program)
    if isinstance(program, (list, tuple)):
        if not program:
            return Program(())
        if all(isinstance(t, str) for t in program):
            return Program.from_tokens(program)
        if all(type(n) is dict or isinstance(n, Mapping) for n in program):
            return Program.from_clevr(program)
        if all(isinstance(n, Node) for n in program):
            return Program(program)
    raise TypeError(
        "program must be a Program, a CLEVR node list (list of dicts), a list of Node or a token list "
        f"(list of str), got {type(program).__name__}"
        + (" (a str: split it into tokens first)" if isinstance(program, str) else "")
    )
