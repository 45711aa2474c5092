"""Which child to descend into: UCT, PUCT, and Gumbel MuZero's root and interior rules.

Each rule is a pure function of one node's edge lists (visit counts, value sums, priors) and
returns a *slot* (the index of an action among the node's legal actions, see
:mod:`~hybrid.symbolic.planning.mcts.tree`). Values are sums of returns from the point of view of the
player choosing, so every rule maximises.

- UCT (Kocsis & Szepesvari 2006): ``Q + c * sqrt(ln N / n)``, unvisited children first.
- PUCT (Silver et al. 2018, AlphaZero pseudocode): ``Q + C(N) * P * sqrt(N) / (1 + n)`` with
  ``C(N) = ln((N + c_base + 1) / c_base) + c_init``; unvisited children have ``Q = 0``.
- Gumbel (Danihelka et al. 2022, "Policy improvement by planning with Gumbel"): at the root,
  sequential halving over the top-k actions of ``g + logits``; inside the tree, the
  deterministic rule ``argmax(pi' - N / (1 + sum N))`` with ``pi' = softmax(logits +
  sigma(completed Q))``. Written after mctx's ``action_selection.py``, ``qtransforms.py`` and
  ``seq_halving.py``.

Plain Python over 2-9 children is faster here than numpy, whose per-call overhead exceeds the
work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

_NEG_INF = float("-inf")
_TINY = 1e-30


def uct_select(child_visits: Sequence[int], child_values: Sequence[float], parent_visits: int, c: float) -> int:
    """Return the slot maximising UCT: ``W/n + c * sqrt(ln N / n)``; the first unvisited slot wins.

    Args:
        child_visits: visit count ``n`` per slot.
        child_values: sum of returns ``W`` per slot, from the chooser's point of view.
        parent_visits: the node's visit count ``N`` (>= 1 once any child is visited).
        c: the exploration constant.

    Returns:
        The chosen slot.
    """
    best = 0
    best_score = _NEG_INF
    explore = c * math.sqrt(math.log(parent_visits)) if parent_visits > 1 else 0.0
    for i, n in enumerate(child_visits):
        if not n:
            return i
        score = child_values[i] / n + explore / math.sqrt(n)
        if score > best_score:
            best_score = score
            best = i
    return best


def puct_select(
    child_visits: Sequence[int],
    child_values: Sequence[float],
    priors: Sequence[float],
    parent_visits: int,
    c_base: float = 19652.0,
    c_init: float = 1.25,
) -> int:
    """Return the slot maximising AlphaZero's PUCT score.

    ``score = Q + (ln((N + c_base + 1) / c_base) + c_init) * P * sqrt(N) / (1 + n)``, where
    ``Q = W / n`` (0 for an unvisited slot).

    Args:
        child_visits: visit count ``n`` per slot.
        child_values: sum of returns ``W`` per slot, from the chooser's point of view.
        priors: prior probability ``P`` per slot.
        parent_visits: the node's visit count ``N``.
        c_base: AlphaZero's ``c_base`` (19652).
        c_init: AlphaZero's ``c_init`` (1.25).

    Returns:
        The chosen slot.
    """
    scale = (math.log((parent_visits + c_base + 1.0) / c_base) + c_init) * math.sqrt(parent_visits)
    best = 0
    best_score = _NEG_INF
    for i, n in enumerate(child_visits):
        if n:
            score = child_values[i] / n + scale * priors[i] / (n + 1)
        else:
            score = scale * priors[i]
        if score > best_score:
            best_score = score
            best = i
    return best


def considered_visit_sequence(max_num_considered_actions: int, num_simulations: int) -> tuple[int, ...]:
    """Return, for each simulation of a sequential-halving search, the visit count an action
    must have to be considered at the root (mctx's ``get_sequence_of_considered_visits``).

    Args:
        max_num_considered_actions: how many root actions sequential halving starts with.
        num_simulations: the simulation budget.

    Returns:
        A tuple of length ``num_simulations``.
    """
    if max_num_considered_actions <= 1:
        return tuple(range(num_simulations))
    log2max = int(math.ceil(math.log2(max_num_considered_actions)))
    sequence: list[int] = []
    visits = [0] * max_num_considered_actions
    num_considered = max_num_considered_actions
    while len(sequence) < num_simulations:
        num_extra_visits = max(1, int(num_simulations / (log2max * num_considered)))
        for _ in range(num_extra_visits):
            sequence.extend(visits[:num_considered])
            for i in range(num_considered):
                visits[i] += 1
        num_considered = max(2, num_considered // 2)
    return tuple(sequence[:num_simulations])


def completed_q(
    child_visits: Sequence[int],
    child_values: Sequence[float],
    priors: Sequence[float],
    raw_value: float,
    value_scale: float = 0.1,
    maxvisit_init: float = 50.0,
) -> list[float]:
    """Return ``sigma(completed Q)`` per slot (mctx's ``qtransform_completed_by_mix_value``).

    Unvisited slots take the mixed value ``(v + sum_n * sum_visited(P Q) / sum_visited(P)) /
    (sum_n + 1)``; the completed Q values are rescaled to [0, 1] by their min and max, then
    multiplied by ``(maxvisit_init + max n) * value_scale``.

    Args:
        child_visits: visit count per slot.
        child_values: sum of returns per slot, from the chooser's point of view.
        priors: prior probability per slot.
        raw_value: the evaluator's value of the node, from the chooser's point of view.
        value_scale: ``c_scale`` of the paper (0.1).
        maxvisit_init: ``c_visit`` of the paper (50).

    Returns:
        A list of floats, one per slot.
    """
    total = 0
    weighted = 0.0
    prob_sum = 0.0
    max_visits = 0
    for i, n in enumerate(child_visits):
        if n:
            p = max(priors[i], _TINY)
            total += n
            prob_sum += p
            weighted += p * child_values[i] / n
            if n > max_visits:
                max_visits = n
    mixed = (raw_value + total * weighted / prob_sum) / (total + 1) if total else raw_value
    q = [child_values[i] / n if n else mixed for i, n in enumerate(child_visits)]
    lo = min(q)
    hi = max(q)
    scale = (maxvisit_init + max_visits) * value_scale / max(hi - lo, 1e-8)
    return [(v - lo) * scale for v in q]


def prior_logits(priors: Sequence[float]) -> list[float]:
    """Return ``log(max(p, 1e-30))`` per slot: the logits of a prior given as probabilities."""
    return [math.log(max(p, _TINY)) for p in priors]


def softmax(logits: Sequence[float]) -> list[float]:
    """Return the softmax of a list of logits as a list of probabilities."""
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    s = sum(exps)
    return [e / s for e in exps]


def gumbel_root_select(
    child_visits: Sequence[int],
    gumbel: Sequence[float],
    logits: Sequence[float],
    sigma_q: Sequence[float],
    considered_visit: int,
) -> int:
    """Return the root slot that sequential halving visits next (mctx's root rule).

    Among the slots whose visit count equals ``considered_visit``, pick the one maximising
    ``g + logits + sigma(completed Q)``. Because the top-k actions by ``g + logits`` are the
    first to be visited, this realises Gumbel-top-k sampling followed by sequential halving.

    Args:
        child_visits: visit count per slot in this search.
        gumbel: the Gumbel noise drawn once per search, per slot.
        logits: prior logits per slot.
        sigma_q: ``completed_q`` per slot.
        considered_visit: the visit count a slot must have to be considered now.

    Returns:
        The chosen slot.
    """
    best = -1
    best_score = _NEG_INF
    top = max(logits)
    for i, n in enumerate(child_visits):
        if n != considered_visit:
            continue
        score = max(-1e9, gumbel[i] + logits[i] - top + sigma_q[i])
        if score > best_score:
            best_score = score
            best = i
    if best < 0:  # only with virtual visits: fall back to the least-visited slot
        best = min(range(len(child_visits)), key=child_visits.__getitem__)
    return best


def gumbel_interior_select(child_visits: Sequence[int], logits: Sequence[float], sigma_q: Sequence[float]) -> int:
    """Return the slot of Gumbel MuZero's deterministic interior rule.

    ``argmax(pi'(a) - n(a) / (1 + sum n))`` with ``pi' = softmax(logits + sigma(completed Q))``:
    visits are matched to the improved policy.

    Args:
        child_visits: visit count per slot.
        logits: prior logits per slot.
        sigma_q: ``completed_q`` per slot.

    Returns:
        The chosen slot.
    """
    probs = softmax([lg + s for lg, s in zip(logits, sigma_q, strict=True)])
    denom = 1.0 + sum(child_visits)
    best = 0
    best_score = _NEG_INF
    for i, n in enumerate(child_visits):
        score = probs[i] - n / denom
        if score > best_score:
            best_score = score
            best = i
    return best
