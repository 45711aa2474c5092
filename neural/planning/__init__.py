"""Perception nets, policy/value nets and deep-RL baselines (planning pillar).

- :mod:`hybrid.neural.planning.perception`: :class:`GridPerception` (frame -> grid of cell
  classes), :func:`collect_labelled_frames`, :func:`grid_accuracy`;
- :mod:`hybrid.neural.planning.transitions`: perception from unlabelled transitions and the rules
  (:meth:`GridPerception.fit_transitions`, :func:`collect_transitions`);
- :mod:`hybrid.neural.planning.latent`: :class:`DiscreteStateEncoder`, frames -> latent symbols learned
  from unlabelled transitions (the symbols of a rules-learned planner);
- :mod:`hybrid.neural.planning.policy_value`: :class:`PolicyValueNet` (AlphaZero-style) and
  :func:`make_evaluator` (a search's batched ``evaluate(states)``);
- :mod:`hybrid.neural.planning.rl_baselines`: stable-baselines3 PPO / DQN from pixels
  (:func:`train_sb3`, :func:`evaluate_success`, :func:`interactions_used`);
  stable-baselines3 itself is imported only when training (``pip install .[rl]``).
"""

from hybrid.neural.planning.latent import DiscreteStateEncoder
from hybrid.neural.planning.perception import GridPerception, collect_labelled_frames, grid_accuracy
from hybrid.neural.planning.policy_value import PolicyValueNet, make_evaluator
from hybrid.neural.planning.rl_baselines import evaluate_success, interactions_used, make_env, train_sb3
from hybrid.neural.planning.transitions import FrameTransitions, collect_transitions, label_from_transitions

__all__ = [
    "DiscreteStateEncoder",
    "FrameTransitions",
    "GridPerception",
    "PolicyValueNet",
    "collect_labelled_frames",
    "collect_transitions",
    "evaluate_success",
    "grid_accuracy",
    "interactions_used",
    "label_from_transitions",
    "make_env",
    "make_evaluator",
    "train_sb3",
]
