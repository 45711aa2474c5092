"""Static checks of a program against the signatures and types of CLEVR's metadata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from hybrid.symbolic.programs.functions import FunctionSpec, functions, is_answer_type, types
from hybrid.symbolic.programs.program import Node, Program, to_program


def validate(program: Program | Sequence[Mapping[str, Any]] | Sequence[str]) -> list[str]:
    """The problems that keep ``program`` from being a well-formed, well-typed CLEVR program.

    Checked, node by node: the function exists and is executable (not template-only); the
    number of inputs; each input points to an earlier node (no dangling or forward input)
    whose output type is the type expected; the number of value inputs and that each is in
    the vocabulary of its type (``filter_color`` takes one ``Color``, ``relate`` one
    ``Relation``). For the whole program: it is not empty, every node but the last is used
    by a later node (exactly one sink, the last node), and the last node returns an answer
    (an Integer, a Bool or an attribute value, not an Object or an ObjectSet).

    Args:
        program: a :class:`Program`, a CLEVR JSON node list or a token list (see
            :func:`hybrid.symbolic.programs.to_program`).

    Returns:
        One message per problem, each naming the node (``"node 3 (count): ..."``); empty if
        the program is fine. A node list or token list that cannot be parsed gives a single
        message saying why.

    Raises:
        TypeError: ``program`` is not a program in any accepted form.
    """
    try:
        prog = to_program(program)
    except ValueError as exc:
        return [f"could not parse the program: {exc}"]
    return list(check(prog)[0])


def _where(i: int, node: Node) -> str:
    return f"node {i} ({node.function})"


@lru_cache(maxsize=65536)
def _node_facts(node: Node) -> tuple[FunctionSpec | None, tuple[str, ...], tuple[str, ...]]:
    """A node's spec and the problems that depend on the node alone (not on its inputs' types).

    Returns ``(spec, before, after)``: messages (without the ``node i (f):`` prefix) that
    :func:`check` reports before, and after, the problems with the node's inputs. Cached
    per node: nodes recur across programs, so most programs are checked from the cache.
    """
    spec = functions().get(node.function)
    if spec is None:
        return None, (f"unknown function {node.function!r}",), ()
    before: list[str] = []
    after: list[str] = []
    if spec.template_only:
        before.append(
            "template-only function (CLEVR's generator expands it into basic functions); it cannot be executed"
        )
    if len(node.inputs) != spec.arity:
        before.append(
            f"wrong number of inputs: takes {spec.arity} ({', '.join(spec.inputs) or 'none'}), got {len(node.inputs)}"
        )
    if len(node.value_inputs) != len(spec.value_inputs):
        after.append(
            f"wrong number of value inputs: takes {len(spec.value_inputs)} "
            f"({', '.join(spec.value_inputs) or 'none'}), got {len(node.value_inputs)}"
        )
    vocab = types()
    for k, (value, vtype) in enumerate(zip(node.value_inputs, spec.value_inputs, strict=False)):
        allowed = vocab.get(vtype)
        if allowed is not None and value not in allowed:
            after.append(f"ill-typed value input {k}: {value!r} is not a {vtype} (one of {', '.join(allowed)})")
    return spec, tuple(before), tuple(after)


@lru_cache(maxsize=65536)
def check(program: Program) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """Problems of ``program`` and the output type of each node (cached per program).

    Args:
        program: a :class:`Program`.

    Returns:
        ``(problems, output_types)``: the messages of :func:`validate`, and per node the type
        it returns (``None`` for a node whose function is unknown).
    """
    problems: list[str] = []
    out_types: list[str | None] = []
    nodes = program.nodes
    if not nodes:
        return ("the program is empty: it needs at least one node",), ()
    used = [False] * len(nodes)
    for i, node in enumerate(nodes):
        spec, before, after = _node_facts(node)
        for j in node.inputs:
            if 0 <= j < i:
                used[j] = True
        for message in before:
            problems.append(f"{_where(i, node)}: {message}")
        if spec is None:
            out_types.append(None)
            continue
        for k, (j, expected) in enumerate(zip(node.inputs, spec.inputs, strict=False)):
            if not 0 <= j < i:
                problems.append(f"{_where(i, node)}: dangling input {k}: node {j} is not an earlier node")
                continue
            got = out_types[j]
            if got is not None and got != expected:
                problems.append(
                    f"{_where(i, node)}: ill-typed input {k}: node {j} ({nodes[j].function}) returns {got}, "
                    f"expected {expected}"
                )
        for message in after:
            problems.append(f"{_where(i, node)}: {message}")
        out_types.append(spec.output)
    for i in range(len(nodes) - 1):
        if not used[i]:
            problems.append(f"node {i} ({nodes[i].function}): output never used; only the last node may be a sink")
    last = out_types[-1]
    if last is not None and not is_answer_type(last):
        problems.append(
            f"node {len(nodes) - 1} ({nodes[-1].function}): the last node returns {last}, not an answer "
            "(Integer, Bool or an attribute value)"
        )
    return tuple(problems), tuple(out_types)
