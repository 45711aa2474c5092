"""Tree search: MCTS (UCT, PUCT, Gumbel) and best-first search (planning pillar)."""
