"""Perception -> symbolic state -> search: the planning pillar's hybrid agents and their measurement.

- :mod:`hybrid.planning.envs`: the planning envs as one table (id, rules, solver, grid
  reader, task), which every module below reads instead of branching on env ids;
- :mod:`hybrid.planning.solvers`: the exact solvers, in the one signature agents call;
- :mod:`hybrid.planning.agents`: :class:`~hybrid.planning.agents.PlanningAgent` and
  :func:`~hybrid.planning.agents.make_agent` (a perception net reads a frame into a state of
  the env's rules, an exact solver plans, the agent replans when the world surprises it);
- :mod:`hybrid.planning.perceive`: perception trained on labelled frames of generated
  instances (cached), and reading frames of any grid size;
- :mod:`hybrid.planning.plan`: ``hybrid plan`` (solve a Sokoban level file, from symbols or pixels);
- :mod:`hybrid.planning.puzzles`: the 8-puzzle (Latplan's protocol), Lights Out and Boxoban benchmarks;
- :mod:`hybrid.planning.alphazero` (and its command line :mod:`hybrid.planning.alphazero_cli`),
  :mod:`hybrid.planning.selfplay`, :mod:`hybrid.planning.lockstep` and :mod:`hybrid.planning.matches`:
  AlphaZero-style self-play on Connect Four, and matches against rollout MCTS;
- :mod:`hybrid.planning.openspiel_peer`: our MCTS and OpenSpiel's ``MCTSBot`` side by side;
- :mod:`hybrid.planning.task` and :mod:`hybrid.planning.register`: the evaluator's tasks
  (``8-puzzle``, ``lights-out``, ``sokoban``; x = labelled frames or environment steps,
  y = success rate) and methods (``perceive-plan``, ``ppo``, ``dqn``);
- :mod:`hybrid.planning.reproduce` and :mod:`hybrid.planning.reproduce_report`: ``hybrid reproduce mcts``
  (the run, then the tables and curves);
- :mod:`hybrid.planning.labels`: the two labels of every planning result (rules given / learned /
  none; labelled frames / unlabelled transitions / environment steps / ...);
- :mod:`hybrid.planning.learned`: :class:`~hybrid.planning.learned.LearnedRulesPlanner`, symbols and an
  action model learned from unlabelled transitions (Latplan), searched without the env's rules;
- :mod:`hybrid.planning.latplan` and :mod:`hybrid.planning.latplan_reproduce`: Latplan's protocol (domains,
  instances at 7 and 14 optimal moves, found / valid / optimal) and ``hybrid reproduce latplan``.

Nothing is imported here: each module pulls in torch, stable-baselines3 or OpenSpiel only when used.
"""
