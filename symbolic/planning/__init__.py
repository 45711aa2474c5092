"""Tree search for the planning pillar: pure Python and numpy, no torch.

- :mod:`hybrid.symbolic.planning.mcts`: Monte Carlo tree search (UCT with rollouts, PUCT, Gumbel
  root selection, masking, tree reuse, batched evaluators);
- :mod:`hybrid.symbolic.planning.best_first`: A*, weighted A* and greedy best-first search over
  any :class:`~hybrid.tasks.envs.model.TransitionModel`;
- :mod:`hybrid.symbolic.planning.levin`: policy-guided Levin tree search (LevinTS);
- :mod:`hybrid.symbolic.planning.sokoban`: the push-level Sokoban solver (dead squares, freeze
  deadlocks, PI-corral pruning, matching lower bound);
- :mod:`hybrid.symbolic.planning.puzzles`: the sliding-tile heuristic (Manhattan + linear
  conflicts) and Lights Out solved exactly over GF(2);
- :mod:`hybrid.symbolic.planning.action_model`: an action model learned from latent transitions,
  as plain data (grounded STRIPS actions; JSON and PDDL out);
- :mod:`hybrid.symbolic.planning.learned_search`: shortest plans in such a model (two-sided
  breadth-first search, or A* with the goal count).

Each module exports its own names (``mcts.SearchResult`` and ``best_first.SearchResult``
are different records: import them from their modules).
"""
