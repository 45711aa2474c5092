"""Typed decoding for the question parser: only well-typed prefix programs are decoded.

A program in prefix tokens (``count union filter_color[red] scene filter_shape[cube] scene``)
is well typed when every token's output type is the type its parent expects of that
argument. Reading left to right, a stack of expected types says what may come next: it
starts with the root (any type in :attr:`TypeGrammar.roots`); a token of function ``f`` is
allowed when ``f``'s output type is the stack's top, which it replaces by ``f``'s input
types (first input on top, since it is decoded next); the program ends exactly when the
stack is empty. A decoder masked this way cannot stop a union after one branch, put a
``query_color`` where an object set belongs or chain two ``unique``: whole classes of the
question parser's errors on CLEVR's union templates. It is the grammar-constrained
decoding of semantic parsing (e.g. Yin & Neubig, 2017; Krishnamurthy et al., 2017).

:class:`TypeGrammar` is plain data (function name -> output type and input types), so the
parser stays free of any one language: NS-VQA builds CLEVR's from
:func:`hybrid.symbolic.programs.functions`. :class:`GrammarTables` are the masks over one
output vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class TypeGrammar:
    """The types of a program language's functions.

    Attributes:
        signatures: function name -> ``(output type, input types in order)``, e.g.
            ``{"count": ("Integer", ("ObjectSet",)), "scene": ("ObjectSet", ())}``.
        roots: the types a whole program may have (CLEVR: every answer type).

    Raises:
        ValueError: malformed signatures or no root type.
    """

    signatures: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    roots: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        clean: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, sig in dict(self.signatures).items():
            if not isinstance(name, str) or not isinstance(sig, (tuple, list)) or len(sig) != 2:
                raise ValueError(f"signatures[{name!r}] must be (output type, input types), got {sig!r}")
            output, inputs = sig
            if not isinstance(output, str) or not all(isinstance(t, str) for t in inputs):
                raise ValueError(f"signatures[{name!r}]: types must be strings, got {sig!r}")
            clean[name] = (output, tuple(inputs))
        object.__setattr__(self, "signatures", clean)
        object.__setattr__(self, "roots", tuple(self.roots))
        if not self.roots or not all(isinstance(t, str) for t in self.roots):
            raise ValueError(f"roots must name at least one type, got {self.roots!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and strings (JSON, ``torch.save(weights_only=True)``)."""
        return {"signatures": {k: [o, list(i)] for k, (o, i) in self.signatures.items()}, "roots": list(self.roots)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TypeGrammar:
        """The grammar written by :meth:`to_dict`."""
        return cls({k: (o, tuple(i)) for k, (o, i) in data["signatures"].items()}, tuple(data["roots"]))


class GrammarTables:
    """A :class:`TypeGrammar` laid over one output vocabulary, for masking a decoder.

    Args:
        grammar: the grammar.
        itos: the output tokens, by id.
        end_id: the id of the end marker.
        function_of: token -> function name (tokens may carry values, ``filter_color[red]``).

    A decoding state is a list of expected types (ids), top last; see the module docstring.
    """

    def __init__(
        self, grammar: TypeGrammar, itos: Sequence[str], end_id: int, function_of: Callable[[str], str]
    ) -> None:
        types = sorted({t for o, i in grammar.signatures.values() for t in (o, *i)} | set(grammar.roots))
        self.type_id = {t: k for k, t in enumerate(types)}
        self.root, self.end_only = len(types), len(types) + 1
        n_out = len(itos)
        accepts = torch.zeros(len(types) + 2, n_out, dtype=torch.bool)
        self.inputs: list[tuple[int, ...]] = []
        for j, token in enumerate(itos):
            sig = grammar.signatures.get(function_of(token)) if j != end_id else None
            if sig is None:
                self.inputs.append(())
                continue
            output, inputs = sig
            accepts[self.type_id[output], j] = True
            accepts[self.root, j] = output in grammar.roots
            self.inputs.append(tuple(self.type_id[t] for t in inputs))
        accepts[self.end_only, end_id] = True
        self.accepts = accepts
        self.end_id = end_id
        # the fewest tokens that complete a value of each type (a Set: `scene`; an Obj: `unique scene`)
        need = [math.inf] * (len(types) + 2)
        need[self.end_only] = 0
        changed = True
        while changed:
            changed = False
            for j in range(n_out):
                if j == end_id or not accepts[:, j].any():
                    continue
                cost = 1 + sum(need[t] for t in self.inputs[j])
                for t in torch.nonzero(accepts[:, j]).flatten().tolist():
                    if cost < need[t]:
                        need[t], changed = cost, True
        self.need = [n if math.isfinite(n) else 10**6 for n in need]
        self.completion = torch.tensor([sum(self.need[t] for t in self.inputs[j]) for j in range(n_out)])

    def start(self) -> list[int]:
        """The state before the first token: the root expected."""
        return [self.root]

    def step(self, state: list[int], token: int) -> list[int]:
        """The state after ``token`` (a new list; the end marker and unknown tokens empty it)."""
        if not state or token == self.end_id or state[-1] == self.end_only:
            return []
        return state[:-1] + list(reversed(self.inputs[token]))

    def mask(self, states: Sequence[list[int]], room: int | None = None) -> torch.Tensor:
        """``(B, n_out)`` bool: the tokens each state allows.

        Args:
            states: one state per row.
            room: tokens that may still be written after this one, the end marker included
                (``None``: no limit). A token after which the program could not be completed
                within it (by the shortest completion of every open argument) is left out,
                unless nothing else fits.
        """
        expected = [s[-1] if s else self.end_only for s in states]
        allowed = self.accepts[expected]
        if room is not None:
            rest = torch.tensor([sum(self.need[t] for t in s[:-1]) for s in states])
            fits = (rest[:, None] + self.completion[None, :]) <= room - 1
            tight = allowed & fits
            allowed = torch.where(tight.any(1, keepdim=True), tight, allowed)
        return allowed

    def replay(self, rows: Sequence[Sequence[int]], length: int) -> torch.Tensor:
        """``(B, length, n_out)`` bool: the mask before each token of each row (teacher forcing).

        Positions after a row's end allow the end marker only.
        """
        out = torch.zeros(len(rows), length, self.accepts.shape[1], dtype=torch.bool)
        for b, row in enumerate(rows):
            state = self.start()
            expected = []
            for t in range(length):
                expected.append(state[-1] if state else self.end_only)
                state = self.step(state, row[t]) if t < len(row) else []
            out[b] = self.accepts[expected]
        return out
