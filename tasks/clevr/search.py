"""The question generator's search: depth-first instantiation of one template on one scene.

Internal to :mod:`hybrid.tasks.clevr.questions` (whose docstring states the rules the
search enforces).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from hybrid.tasks.clevr.engine import (
    _EMPTY,
    _ENDINGS,
    _FUNCTIONS,
    _TYPE_ATTRIBUTE,
    INVALID,
    _is_object,
    _is_set,
    _View,
    answer_string,
)
from hybrid.tasks.clevr.scene import ATTRIBUTES, RELATIONS, Scene, vocabulary
from hybrid.tasks.clevr.templates import _Step, _Template

if TYPE_CHECKING:
    from hybrid.tasks.clevr.questions import QuestionGenerator

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
