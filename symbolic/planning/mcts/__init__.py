"""Monte Carlo tree search over a :class:`hybrid.tasks.envs.model.TransitionModel` (pure Python, no torch).

Written in the manner of google-deepmind/mctx: the tree is explicit flat arrays
(:mod:`.tree`), selection rules are pure functions (:mod:`.selection`), the leaf evaluator
is a callable passed in (:mod:`.evaluators`), and one function runs the simulations
(:mod:`.search`); :mod:`.reuse` keeps a subtree between moves.

Example::

    rng = np.random.default_rng(0)
    result = search(model, state, RolloutEvaluator(model, rng), rng, MCTSConfig(num_simulations=1000))
    state = model.step(state, result.action).state
    tree = reuse_tree(result.tree, result.action)
"""

from hybrid.symbolic.planning.mcts.evaluators import Evaluator, RolloutEvaluator, UniformEvaluator, check_evaluation
from hybrid.symbolic.planning.mcts.reuse import reuse_tree
from hybrid.symbolic.planning.mcts.search import MCTSConfig, SearchResult, search
from hybrid.symbolic.planning.mcts.selection import (
    completed_q,
    considered_visit_sequence,
    gumbel_interior_select,
    gumbel_root_select,
    puct_select,
    uct_select,
)
from hybrid.symbolic.planning.mcts.tree import Tree, backup, edge_q_values, edge_visit_counts, new_tree, node_value

__all__ = [
    "Evaluator",
    "MCTSConfig",
    "RolloutEvaluator",
    "SearchResult",
    "Tree",
    "UniformEvaluator",
    "backup",
    "check_evaluation",
    "completed_q",
    "considered_visit_sequence",
    "edge_q_values",
    "edge_visit_counts",
    "gumbel_interior_select",
    "gumbel_root_select",
    "new_tree",
    "node_value",
    "puct_select",
    "reuse_tree",
    "search",
    "uct_select",
]
