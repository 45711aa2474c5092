"""Tree reuse between moves: keep the subtree under the action that was played.

After a move (ours or the opponent's), the child it leads to becomes the new root; its
statistics (visit counts, value sums, priors, evaluations) are kept and the rest of the tree
is dropped. Node ids are renumbered breadth-first so that the new root is node 0 and the
arrays hold only the kept subtree.
"""

from __future__ import annotations

from hybrid.symbolic.planning.mcts.tree import ROOT, UNEXPANDED, Tree


def reuse_tree(tree: Tree, action: int) -> Tree | None:
    """Return the subtree reached from the root by ``action``, re-rooted and compacted.

    Args:
        tree: a searched tree (not modified).
        action: the action played from the root state.

    Returns:
        A new :class:`Tree` rooted at the child state, or ``None`` when the search never
        expanded that action or the child is terminal (start a fresh search then).

    Raises:
        TypeError: if ``tree`` is not a Tree or ``action`` not an int.
        ValueError: if ``action`` is not a legal action of the root.
    """
    if not isinstance(tree, Tree):
        raise TypeError(f"tree must be a Tree, got {type(tree).__name__}")
    if isinstance(action, bool) or not hasattr(action, "__index__"):
        raise TypeError(f"action must be an int, got {type(action).__name__}")
    action = int(action)
    if action not in tree.actions[ROOT]:
        raise ValueError(f"action {action} is not a legal action of the root (legal: {tree.actions[ROOT]})")
    child = tree.children[ROOT][tree.actions[ROOT].index(action)]
    if child == UNEXPANDED or tree.terminal[child]:
        return None

    old_ids = [child]
    new_id = {child: 0}
    i = 0
    while i < len(old_ids):  # breadth-first order gives the new numbering
        for c in tree.children[old_ids[i]]:
            if c != UNEXPANDED:
                new_id[c] = len(old_ids)
                old_ids.append(c)
        i += 1

    out = Tree(num_actions=tree.num_actions)
    for old in old_ids:
        out.states.append(tree.states[old])
        out.players.append(tree.players[old])
        out.terminal.append(tree.terminal[old])
        out.rewards.append(tree.rewards[old])
        out.actions.append(tree.actions[old])
        out.children.append([new_id[c] if c != UNEXPANDED else UNEXPANDED for c in tree.children[old]])
        out.child_visits.append(list(tree.child_visits[old]))
        out.child_values.append(list(tree.child_values[old]))
        p = tree.priors[old]
        out.priors.append(None if p is None else list(p))
        out.raw_values.append(tree.raw_values[old])
        out.visits.append(tree.visits[old])
        if old == child:
            out.parents.append(-1)
            out.parent_slots.append(-1)
        else:
            out.parents.append(new_id[tree.parents[old]])
            out.parent_slots.append(tree.parent_slots[old])
    out.rewards[ROOT] = 0.0
    return out
