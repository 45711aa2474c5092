"""A learned action model as plain data: grounded STRIPS actions over a factored discrete state.

A *latent state* is a tuple of ``num_slots`` ints, each in ``0 .. num_values - 1`` (what a
discrete state encoder writes for a frame: one categorical symbol per slot). The model is
read off observed latent transitions ``(z, action, z')`` (:meth:`ActionModel.from_transitions`):

- every transition that changed the state becomes an instance of a **grounded action**,
  identified by the env action and its effect: the slots that changed, their values
  before and after. Each grounded action is a STRIPS operator over the facts
  ``slot = value``: preconditions ``pre`` (facts that must hold), effects ``eff`` (facts
  set; the old values of those slots are deleted);
- the preconditions always hold the old values of the changed slots (what the effect
  deletes). With ``preconditions="constant"`` they also hold every unchanged slot whose
  value was the same in all of at least ``min_support`` observed instances (a block that
  must be clear, a wall beside the player). With ``"observed"`` they also hold negative
  preconditions: an unchanged slot may not show a symbol that the slot shows elsewhere
  in the data but never did in this action's instances (a block may not land on empty
  space). Each step is a stricter model, that trades plans it can no longer find for
  plans that are less often wrong;
- transitions that changed nothing (an illegal move, a no-op) are counted and dropped.

Search (:func:`hybrid.symbolic.planning.learned_search.plan`) needs only :meth:`successors`,
:meth:`predecessors` and the goal; :meth:`to_pddl` writes the model as a PDDL domain and
problem for an external planner (Fast Downward), :meth:`to_dict` / :meth:`from_dict` as JSON.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["PRECONDITIONS", "ActionModel", "GroundedAction", "State"]

#: A latent state: one int symbol per slot.
State = tuple[int, ...]
#: The precondition rules of :meth:`ActionModel.from_transitions`.
PRECONDITIONS: tuple[str, ...] = ("changed", "constant", "observed")


def _holds(x: int, test: tuple[int, int, tuple[tuple[int, int], ...]]) -> bool:
    """Whether packed state ``x`` meets a grounded action's preconditions beyond its effect's slots."""
    extra_mask, extra_bits, negs = test
    return x & extra_mask == extra_bits and not any(x & m == v for m, v in negs)


@dataclass(frozen=True)
class GroundedAction:
    """One STRIPS operator of a learned model.

    Attributes:
        action: the env action id it was observed under (what a plan executes).
        pre: ``(slot, value)`` facts that must hold, sorted by slot.
        eff: ``(slot, value)`` facts it sets, sorted by slot (the old values of these slots are deleted).
        count: observed transitions that are instances of it.
        neg: ``(slot, value)`` facts that must not hold (negative preconditions), sorted.
    """

    action: int
    pre: tuple[tuple[int, int], ...]
    eff: tuple[tuple[int, int], ...]
    count: int = 1
    neg: tuple[tuple[int, int], ...] = ()

    def applies(self, state: State) -> bool:
        """Whether every precondition holds in ``state`` (and no negative one)."""
        return all(state[s] == v for s, v in self.pre) and not any(state[s] == v for s, v in self.neg)

    def apply(self, state: State) -> State:
        """Return ``state`` with the effects set (preconditions are not checked)."""
        out = list(state)
        for s, v in self.eff:
            out[s] = v
        return tuple(out)


@dataclass
class ActionModel:
    """Grounded actions learned from latent transitions, indexed for fast successor generation.

    Attributes:
        num_slots: the length of a latent state.
        num_values: symbols per slot.
        num_actions: env actions (the ``action`` of a grounded action is below it).
        actions: the grounded actions, most observed first.
        noops: observed transitions that changed nothing.
        observed: observed transitions in all.
    """

    num_slots: int
    num_values: int
    num_actions: int
    actions: tuple[GroundedAction, ...]
    noops: int = 0
    observed: int = 0
    _forward: list = field(init=False, repr=False, compare=False)
    _backward: list = field(init=False, repr=False, compare=False)
    _bits: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Search works on states packed into one int, `bits` per slot: a grounded action is then a few
        # masks, and its lookup, test and effect are integer operations (~10x faster than tuples).
        self._bits = max(1, (max(self.num_values, 2) - 1).bit_length())
        slot_mask = (1 << self._bits) - 1
        # effect mask -> packed old values on it (resp. new values) -> [(id, extra mask, extra bits, negs, effect bits)]
        forward: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
        backward: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
        for i, g in enumerate(self.actions):
            eff_slots = {s for s, _ in g.eff}
            mask = sum(slot_mask << (self._bits * s) for s in eff_slots)
            old = sum(v << (self._bits * s) for s, v in g.pre if s in eff_slots)
            new = sum(v << (self._bits * s) for s, v in g.eff)
            extra = [(s, v) for s, v in g.pre if s not in eff_slots]
            extra_mask = sum(slot_mask << (self._bits * s) for s, _ in extra)
            extra_bits = sum(v << (self._bits * s) for s, v in extra)
            negs = tuple((slot_mask << (self._bits * s), v << (self._bits * s)) for s, v in g.neg)
            test = (extra_mask, extra_bits, negs) if extra or negs else None  # None: the table lookup suffices
            forward[mask][old].append((i, new, test))
            backward[mask][new].append((i, old, test))
        self._forward = [(m, dict(t)) for m, t in forward.items()]
        self._backward = [(m, dict(t)) for m, t in backward.items()]

    def pack(self, state: State) -> int:
        """Return ``state`` packed into one int (``bits`` per slot, slot 0 lowest): what search stores."""
        b = self._bits
        return sum(int(v) << (b * s) for s, v in enumerate(state))

    def unpack(self, packed: int) -> State:
        """Return the tuple state of a packed int (:meth:`pack`'s inverse)."""
        b, m = self._bits, (1 << self._bits) - 1
        return tuple((packed >> (b * s)) & m for s in range(self.num_slots))

    def successors_packed(self, x: int) -> list[tuple[int, int]]:
        """Return ``(grounded id, next packed state)`` of each grounded action applicable in packed state ``x``."""
        out = []
        for mask, table in self._forward:
            hits = table.get(x & mask)
            if hits:
                rest = x & ~mask
                for i, new, test in hits:
                    if test is None or _holds(x, test):
                        out.append((i, rest | new))
        return out

    def predecessors_packed(self, x: int) -> list[tuple[int, int]]:
        """Return ``(grounded id, previous packed state)`` of each grounded action that could have led to ``x``."""
        out = []
        for mask, table in self._backward:
            hits = table.get(x & mask)
            if hits:
                rest = x & ~mask
                for i, old, test in hits:
                    prev = rest | old
                    if test is None or _holds(prev, test):
                        out.append((i, prev))
        return out

    # ------------------------------------------------------------------ learning

    @classmethod
    def from_transitions(
        cls,
        states: Any,
        actions: Any,
        next_states: Any,
        *,
        num_actions: int,
        num_values: int | None = None,
        preconditions: str = "changed",
        min_support: int = 3,
    ) -> ActionModel:
        """Learn the grounded actions of observed latent transitions.

        Args:
            states: int ``(N, num_slots)`` latent states before each action.
            actions: int ``(N,)`` env action ids, in ``0 .. num_actions - 1``.
            next_states: int ``(N, num_slots)`` latent states after them.
            num_actions: the env's number of actions.
            num_values: symbols per slot (default: the largest seen + 1).
            preconditions: ``"changed"`` (the changed slots' old values), ``"constant"`` (also the
                unchanged slots constant over all of at least ``min_support`` instances) or
                ``"observed"`` (also, negatively, the symbols an unchanged slot never showed in them).
            min_support: instances a grounded action needs before more than its changed slots become preconditions.

        Returns:
            An :class:`ActionModel`.

        Raises:
            ValueError: mismatched shapes, negative symbols, an action id out of range, or a bad option.
        """
        z, z2 = np.asarray(states), np.asarray(next_states)
        a = np.asarray(actions)
        if z.ndim != 2 or z.shape != z2.shape:
            raise ValueError(f"states and next_states must be (N, num_slots) of one shape, got {z.shape}, {z2.shape}")
        if a.shape != (len(z),):
            raise ValueError(f"actions must have shape ({len(z)},), got {a.shape}")
        for name, arr in (("states", z), ("next_states", z2), ("actions", a)):
            if arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0):
                raise ValueError(f"{name} must hold ints >= 0")
        if isinstance(num_actions, bool) or not isinstance(num_actions, (int, np.integer)) or num_actions < 1:
            raise ValueError(f"num_actions must be an int >= 1, got {num_actions!r}")
        if a.size and a.max() >= num_actions:
            raise ValueError(f"actions must be in 0..{num_actions - 1}, got {int(a.max())}")
        if preconditions not in PRECONDITIONS:
            raise ValueError(f"preconditions must be one of {PRECONDITIONS}, got {preconditions!r}")
        if isinstance(min_support, bool) or not isinstance(min_support, (int, np.integer)) or min_support < 1:
            raise ValueError(f"min_support must be an int >= 1, got {min_support!r}")
        seen = int(max(z.max(initial=0), z2.max(initial=0))) + 1
        num_values = seen if num_values is None else int(num_values)
        if num_values < seen:
            raise ValueError(f"num_values must be >= {seen} (the largest symbol seen + 1), got {num_values}")

        changed = z != z2
        groups: dict[tuple, list[int]] = defaultdict(list)
        noops = 0
        for i in range(len(z)):
            slots = np.flatnonzero(changed[i])
            if slots.size == 0:
                noops += 1
                continue
            key = (int(a[i]), tuple(slots.tolist()), tuple(z[i, slots].tolist()), tuple(z2[i, slots].tolist()))
            groups[key].append(i)

        # the symbols each slot shows anywhere in the data (what a negative precondition may exclude)
        shown = [set(np.unique(np.concatenate([z[:, s], z2[:, s]])).tolist()) for s in range(z.shape[1])]
        grounded = []
        for (act, slots, before, after), rows in groups.items():
            pre = dict(zip(slots, before, strict=True))
            neg: list[tuple[int, int]] = []
            if preconditions != "changed" and len(rows) >= min_support:
                block = z[rows]
                constant = np.flatnonzero((block == block[0]).all(axis=0))
                pre.update({int(s): int(block[0, s]) for s in constant if s not in pre})
                if preconditions == "observed":
                    for s in range(z.shape[1]):
                        if s not in pre:
                            neg += [(s, v) for v in sorted(shown[s] - set(block[:, s].tolist()))]
            grounded.append(
                GroundedAction(
                    act, tuple(sorted(pre.items())), tuple(zip(slots, after, strict=True)), len(rows), tuple(neg)
                )
            )
        grounded.sort(key=lambda g: (-g.count, g.action, g.eff, g.pre))
        return cls(z.shape[1], num_values, int(num_actions), tuple(grounded), noops, len(z))

    # ------------------------------------------------------------------ the model

    def check_state(self, state: Any, name: str = "state") -> State:
        """Return ``state`` as a tuple of ints after checking its length and symbols.

        Raises:
            ValueError: naming ``name``: not ``num_slots`` ints in ``0 .. num_values - 1``.
        """
        try:
            out = tuple(int(v) for v in np.asarray(state).reshape(-1))
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be {self.num_slots} ints, got {state!r}") from None
        if len(out) != self.num_slots or any(not 0 <= v < self.num_values for v in out):
            raise ValueError(f"{name} must be {self.num_slots} ints in 0..{self.num_values - 1}, got {out}")
        return out

    def applicable(self, state: State) -> list[int]:
        """Return the ids of the grounded actions whose preconditions hold in ``state``."""
        return [i for i, _ in self.successors_packed(self.pack(state))]

    def successors(self, state: State) -> list[tuple[int, State, float]]:
        """Return ``(grounded id, next state, 1.0)`` for each applicable grounded action (best-first's format)."""
        return [(i, self.unpack(y), 1.0) for i, y in self.successors_packed(self.pack(state))]

    def predecessors(self, state: State) -> list[tuple[int, State]]:
        """Return ``(grounded id, previous state)`` for each grounded action that could have led to ``state``.

        A grounded action leads to ``state`` when its effects hold there and its
        preconditions on the other slots do; the previous state has the old values back.
        """
        return [(i, self.unpack(y)) for i, y in self.predecessors_packed(self.pack(state))]

    @property
    def max_effect(self) -> int:
        """The most slots one grounded action changes (1 for an empty model)."""
        return max((len(g.eff) for g in self.actions), default=1)

    # ------------------------------------------------------------------ plain data out

    def to_dict(self) -> dict[str, Any]:
        """Return the model as JSON-ready plain data (:meth:`from_dict` reads it back)."""
        return {
            "num_slots": self.num_slots,
            "num_values": self.num_values,
            "num_actions": self.num_actions,
            "noops": self.noops,
            "observed": self.observed,
            "actions": [
                {
                    "action": g.action,
                    "pre": [list(p) for p in g.pre],
                    "eff": [list(e) for e in g.eff],
                    "count": g.count,
                    "neg": [list(n) for n in g.neg],
                }
                for g in self.actions
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActionModel:
        """Rebuild a model written by :meth:`to_dict`.

        Raises:
            ValueError: a missing key or a malformed action.
        """
        try:
            actions = tuple(
                GroundedAction(
                    int(g["action"]),
                    tuple((int(s), int(v)) for s, v in g["pre"]),
                    tuple((int(s), int(v)) for s, v in g["eff"]),
                    int(g.get("count", 1)),
                    tuple((int(s), int(v)) for s, v in g.get("neg", ())),
                )
                for g in data["actions"]
            )
            return cls(
                int(data["num_slots"]),
                int(data["num_values"]),
                int(data["num_actions"]),
                actions,
                int(data.get("noops", 0)),
                int(data.get("observed", 0)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"data is not an action model written by to_dict: {err!r}") from None

    def to_pddl(
        self,
        init: State,
        goal: State,
        *,
        domain: str = "learned",
        action_names: tuple[str, ...] | None = None,
    ) -> tuple[str, str]:
        """Write the model as PDDL (STRIPS): a domain and a problem from ``init`` to ``goal``.

        Facts are 0-ary predicates ``(s<slot>-v<value>)``; grounded action ``i`` observed under env
        action ``a`` is named ``a<i>-<name of a>``; the goal is the whole goal state (as Latplan does).

        Args:
            init, goal: latent states.
            domain: the domain's name (letters, digits, ``-`` and ``_``).
            action_names: a name per env action (default ``act<a>``).

        Returns:
            ``(domain_text, problem_text)``, for Fast Downward or any STRIPS planner.

        Raises:
            ValueError: a state the model cannot hold, a bad domain name or a wrong number of names.
        """
        init, goal = self.check_state(init, "init"), self.check_state(goal, "goal")
        if not domain or not all(ch.isalnum() or ch in "-_" for ch in domain) or not domain[0].isalpha():
            raise ValueError(f"domain must be a PDDL name (a letter, then letters, digits, - or _), got {domain!r}")
        names = action_names or tuple(f"act{a}" for a in range(self.num_actions))
        if len(names) != self.num_actions:
            raise ValueError(f"action_names must have {self.num_actions} names, got {len(names)}")

        def fact(s: int, v: int) -> str:
            return f"(s{s}-v{v})"

        predicates = " ".join(fact(s, v) for s in range(self.num_slots) for v in range(self.num_values))
        negative = any(g.neg for g in self.actions)
        requirements = ":strips :negative-preconditions" if negative else ":strips"
        lines = [f"(define (domain {domain})", f"  (:requirements {requirements})", f"  (:predicates {predicates})"]
        for i, g in enumerate(self.actions):
            before = dict(g.pre)
            name = "".join(ch if ch.isalnum() else "-" for ch in str(names[g.action]))
            pre = " ".join([fact(s, v) for s, v in g.pre] + [f"(not {fact(s, v)})" for s, v in g.neg])
            eff = " ".join(f"(not {fact(s, before[s])}) {fact(s, v)}" for s, v in g.eff)
            lines += [f"  (:action a{i}-{name}", f"    :precondition (and {pre})", f"    :effect (and {eff}))"]
        lines.append(")")
        problem = [
            f"(define (problem {domain}-problem) (:domain {domain})",
            "  (:init " + " ".join(fact(s, v) for s, v in enumerate(init)) + ")",
            "  (:goal (and " + " ".join(fact(s, v) for s, v in enumerate(goal)) + ")))",
        ]
        return "\n".join(lines) + "\n", "\n".join(problem) + "\n"
