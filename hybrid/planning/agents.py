"""Perception -> symbolic state -> search -> actions: the planning pillar's hybrid agents.

A :class:`PlanningAgent` reads an observation into a state of a
:class:`~hybrid.tasks.envs.model.TransitionModel` and asks a solver for a plan:

- with a ``perception`` (a fitted :class:`~hybrid.neural.planning.perception.GridPerception`),
  an observation is an RGB frame: the net reads the grid of cell classes, the model's
  ``from_grid`` turns it into a state (a grid that is no state of the model, e.g. two
  blanks in a sliding puzzle, raises :class:`PerceptionError`, naming what is wrong);
- without one, an observation is a grid of cell classes (a 2-D int array) or the state
  itself.

The rules are either one fixed model (sliding puzzle, Lights Out) or a *model factory*
``grid -> model``, for worlds whose rules come with the picture: a Sokoban frame shows
its own walls and goals, so :func:`sokoban_model_from_grid` builds the level's model from
the perceived grid (:func:`~hybrid.tasks.envs.sokoban.model.level_from_grid`) and the same frame
then gives the state.

A solver is any callable ``(model, state, time_limit_s) -> SearchResult``
(:class:`~hybrid.symbolic.planning.best_first.SearchResult`; only ``solved``, ``actions`` and
``reason`` are read): :func:`sliding_puzzle_solver` (A* with Manhattan distance and linear
conflicts), :func:`lights_out_solver` (exact GF(2) algebra, fewest presses),
:func:`sokoban_solver` (the push-level Sokoban solver) or :func:`astar_solver` for any
model (all in :mod:`hybrid.planning.solvers`, re-exported here). :func:`make_agent` builds
the right agent for a registered env id from its row of
:data:`hybrid.planning.envs.PLANNING_ENVS`.

:meth:`PlanningAgent.plan` returns the actions of a plan; :meth:`PlanningAgent.solve`
returns the whole story (state read, seconds spent perceiving and searching, the search
result); :meth:`PlanningAgent.act` plays one action at a time and replans whenever the
state it reads is not the one its plan expected (a frame it cannot read mid-plan is
taken to show the expected state, counted in :attr:`PlanningAgent.misreads`).

Every such agent plans with rules given (the env's model): its
:attr:`PlanningAgent.planning_labels` are "rules given" and what its perception was
trained from (:func:`hybrid.planning.labels.perception_data`: "labelled frames",
"unlabelled transitions" for ``GridPerception.fit_transitions``, "none" without a perception).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any

import numpy as np

from hybrid.planning.envs import planning_env, planning_env_ids
from hybrid.planning.labels import RULES_GIVEN, PlanningLabels, perception_data
from hybrid.planning.solvers import (
    Solver,
    astar_solver,
    lights_out_solver,
    sliding_puzzle_solver,
    sokoban_model_from_grid,
    sokoban_solver,
)
from hybrid.symbolic.planning.best_first import SearchResult

__all__ = [
    "AgentResult",
    "NoPlanError",
    "PerceptionError",
    "PlanningAgent",
    "Solver",
    "astar_solver",
    "lights_out_solver",
    "make_agent",
    "sliding_puzzle_solver",
    "sokoban_model_from_grid",
    "sokoban_solver",
]

#: The env ids :func:`make_agent` knows: the rows of :data:`hybrid.planning.envs.PLANNING_ENVS` with a solver.
SUPPORTED_ENVS: tuple[str, ...] = planning_env_ids("solver")


class PerceptionError(ValueError):
    """The observation does not show a state of the model (a misread frame, an invalid grid)."""


class NoPlanError(RuntimeError):
    """The search found no plan (no solution, or a limit was reached); ``reason`` says which.

    Attributes:
        reason: the search's reason (``"exhausted"``, ``"time limit"``, ``"node limit"``) or ``"terminal"``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# ============================================================================ the agent


@dataclass(frozen=True)
class AgentResult:
    """What one planning call read, found and spent.

    Attributes:
        solved: True when the search found a plan (an observation already at the goal is solved with no action).
        actions: the plan (empty when not solved or already at the goal).
        reason: ``"solved"``, the search's reason (``"exhausted"``, ``"time limit"``, ``"node limit"``),
            or ``"perception"`` when the observation could not be read into a state.
        state: the state read (None when unreadable).
        model: the model the state belongs to (None when unreadable).
        grid: the grid of cell classes read (None when the observation was a state; set on a perception failure).
        perceive_seconds: seconds spent reading the observation (net + ``from_grid``).
        search_seconds: seconds spent searching.
        search: the solver's :class:`~hybrid.symbolic.planning.best_first.SearchResult` (None when not searched).
        error: the perception error's message, when ``reason == "perception"``.
        info: extras (``{"at_goal": True}`` when the observation already shows a goal).
    """

    solved: bool
    actions: tuple[int, ...]
    reason: str
    state: Any = None
    model: Any = None
    grid: np.ndarray | None = None
    perceive_seconds: float = 0.0
    search_seconds: float = 0.0
    search: SearchResult | None = None
    error: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """Perceiving plus searching, in seconds."""
        return self.perceive_seconds + self.search_seconds


def _is_model(obj: Any) -> bool:
    return all(callable(getattr(obj, name, None)) for name in ("step", "legal_action_ids", "is_terminal", "from_grid"))


class PlanningAgent:
    """Perception -> state -> search -> actions, replanning when the world is not where the plan expected.

    Args:
        model: the rules: a :class:`~hybrid.tasks.envs.model.TransitionModel`, or a factory
            ``grid -> model`` for worlds whose rules are read from the picture (Sokoban:
            :func:`sokoban_model_from_grid`).
        solver: ``(model, state, time_limit_s) -> SearchResult`` (see the module docstring).
        perception: a fitted grid reader with ``predict(frame) -> grid`` (a
            :class:`~hybrid.neural.planning.perception.GridPerception`), or None when observations
            are grids or states.
        time_limit_s: default seconds per :meth:`solve` call (perception included), or None.
        grid_reader: optional ``(perception, frame) -> grid`` used instead of
            ``perception.predict(frame)`` (e.g. :func:`hybrid.planning.perceive.read_grid`,
            which reads frames of any size cell by cell).

    Attributes:
        replans: how many times :meth:`act` replanned because the state read differed from the expected one.
        misreads: how many frames :meth:`act` could not read and took to show the expected state.
        last_result: the :class:`AgentResult` of the latest plan.

    Raises:
        ValueError: naming ``model``, ``solver``, ``perception`` or ``time_limit_s``.
    """

    def __init__(
        self,
        model: Any,
        solver: Solver,
        perception: Any = None,
        *,
        time_limit_s: float | None = None,
        grid_reader: Callable[[Any, np.ndarray], np.ndarray] | None = None,
    ) -> None:
        if _is_model(model):
            self.model, self.model_factory = model, None
        elif callable(model):
            self.model, self.model_factory = None, model
        else:
            raise ValueError(f"model must be a TransitionModel or a callable grid -> model, got {type(model).__name__}")
        if not callable(solver):
            raise ValueError(f"solver must be a callable (model, state, time_limit_s) -> SearchResult, got {solver!r}")
        if perception is not None and not callable(getattr(perception, "predict", None)):
            raise ValueError(f"perception must have a predict(frame) method, got {type(perception).__name__}")
        _check_limit(time_limit_s)
        if grid_reader is not None and not callable(grid_reader):
            raise ValueError(f"grid_reader must be callable or None, got {type(grid_reader).__name__}")
        self.solver = solver
        self.perception = perception
        self.time_limit_s = time_limit_s
        self.grid_reader = grid_reader
        self.replans = 0
        self.misreads = 0
        self.last_result: AgentResult | None = None
        self._current_model: Any = model if self.model_factory is None else None
        self._plan: list[int] = []
        self._expected: list[Any] = []  # expected state before each action left in the plan

    def __repr__(self) -> str:
        rules = self.model if self.model is not None else getattr(self.model_factory, "__name__", "factory")
        return f"PlanningAgent(model={rules!r}, solver={getattr(self.solver, '__name__', self.solver)!r})"

    @property
    def planning_labels(self) -> PlanningLabels:
        """"rules given" (the env's model) and what the perception was trained from
        (:func:`hybrid.planning.labels.perception_data`)."""
        return PlanningLabels(RULES_GIVEN, perception_data(self.perception))

    # ------------------------------------------------------------------ reading

    def read_grid(self, observation: Any) -> np.ndarray | None:
        """Return the grid of cell classes an observation shows (None when it is a symbolic state).

        A frame (``(H, W, 3)`` uint8) goes through the perception net; a 2-D int array is
        taken as the grid itself.

        Raises:
            ValueError: naming ``observation`` when it is a frame but the agent has no perception,
                or a frame the perception cannot read (wrong size).
        """
        if isinstance(observation, np.ndarray) and observation.ndim == 3:
            if self.perception is None:
                raise ValueError("observation is an image but the agent has no perception to read it")
            try:
                if self.grid_reader is not None:
                    return np.asarray(self.grid_reader(self.perception, observation))
                return np.asarray(self.perception.predict(observation))
            except ValueError as err:
                raise ValueError(f"observation: {err}") from None
        if isinstance(observation, np.ndarray) and observation.ndim == 2:
            if not np.issubdtype(observation.dtype, np.integer):
                raise ValueError(f"observation: a grid must hold integer cell classes, got dtype {observation.dtype}")
            return observation
        return None

    def read_state(self, observation: Any) -> tuple[Any, Any, np.ndarray | None]:
        """Return ``(model, state, grid)`` for an observation (frame, grid or state).

        With a model factory, the model is built from the grid unless the current model
        (of the latest plan) reads the grid as one of its states.

        Raises:
            PerceptionError: the grid is no state of the model (or no model can be built from it).
            ValueError: naming ``observation`` (see :meth:`read_grid`), or a symbolic state given
                to an agent with a model factory.
        """
        grid = self.read_grid(observation)
        if grid is None:
            if self.model_factory is not None:
                raise ValueError("observation must be a frame or a grid for an agent with a model factory")
            return self.model, observation, None
        model, state = self.state_of_grid(grid)
        return model, state, grid

    def state_of_grid(self, grid: np.ndarray) -> tuple[Any, Any]:
        """Return ``(model, state)`` for a grid of cell classes.

        Raises:
            PerceptionError: the grid is no state of the model (or no model can be built from it).
        """
        errors = []
        if self._current_model is not None:
            try:
                return self._current_model, self._current_model.from_grid(grid)
            except ValueError as err:
                errors.append(str(err))
        if self.model_factory is not None:
            try:
                model = self.model_factory(grid)
                return model, model.from_grid(grid)
            except ValueError as err:
                errors.append(str(err))
        raise PerceptionError(f"the observation shows no valid state: {'; '.join(errors)}")

    # ------------------------------------------------------------------ planning

    def solve(self, observation: Any, time_limit_s: float | None | EllipsisType = ...) -> AgentResult:
        """Read the observation and search for a plan; never raises for a misread or a failed search.

        Args:
            observation: a frame (with a perception), a grid of cell classes, or a state.
            time_limit_s: seconds for this call, perception included (default ``...``: the
                agent's ``time_limit_s``; None: no limit); the solver gets what is left after reading.

        Returns:
            An :class:`AgentResult` (``reason="perception"`` when the frame shows no valid state).

        Raises:
            ValueError: naming ``observation`` or ``time_limit_s`` (a frame without a perception, a bad shape).
        """
        limit = self.time_limit_s if time_limit_s is ... else time_limit_s
        _check_limit(limit)
        t0 = time.perf_counter()
        grid = self.read_grid(observation)
        if grid is None:
            if self.model_factory is not None:
                raise ValueError("observation must be a frame or a grid for an agent with a model factory")
            model, state = self.model, observation
        else:
            try:
                model, state = self.state_of_grid(grid)
            except PerceptionError as err:
                seconds = time.perf_counter() - t0
                result = AgentResult(False, (), "perception", grid=grid, perceive_seconds=seconds, error=str(err))
                self.last_result = result
                return result
        return self._search(model, state, grid, time.perf_counter() - t0, limit)

    def _search(
        self, model: Any, state: Any, grid: np.ndarray | None, perceive: float, limit: float | None
    ) -> AgentResult:
        """Search from ``state`` with what is left of ``limit``; record the plan and return the result."""
        if _is_goal(model, state):
            result = AgentResult(True, (), "solved", state, model, grid, perceive, 0.0, info={"at_goal": True})
        else:
            left = None if limit is None else max(0.0, limit - perceive)
            t1 = time.perf_counter()
            search = self.solver(model, state, left)
            search_seconds = time.perf_counter() - t1
            actions = tuple(int(a) for a in search.actions) if search.solved else ()
            reason = "solved" if search.solved else str(search.reason)
            result = AgentResult(
                bool(search.solved), actions, reason, state, model, grid, perceive, search_seconds, search
            )
        self._set_plan(model, state, result.actions)
        self.last_result = result
        return result

    def plan(self, observation: Any, time_limit_s: float | None | EllipsisType = ...) -> list[int]:
        """Return the actions of a plan from the state the observation shows (``[]`` when already at the goal).

        Args:
            observation: a frame (with a perception), a grid of cell classes, or a state.
            time_limit_s: seconds for this call, perception included (default: the agent's).

        Raises:
            PerceptionError: the observation shows no valid state.
            NoPlanError: the search found no plan (its ``reason`` says why).
            ValueError: naming ``observation`` or ``time_limit_s``.
        """
        return self._actions_of(self.solve(observation, time_limit_s))

    @staticmethod
    def _actions_of(result: AgentResult) -> list[int]:
        if result.reason == "perception":
            raise PerceptionError(result.error)
        if not result.solved:
            raise NoPlanError(f"no plan found from the observed state ({result.reason})", result.reason)
        return list(result.actions)

    def act(self, observation: Any) -> int:
        """Return the next action, replanning when the observed state is not the expected one.

        The observation is read every step: if it shows the state the current plan expects,
        the plan's next action is returned; if it shows another valid state, the agent
        replans from it (:attr:`replans`); if it cannot be read while a plan is under way,
        the expected state is trusted (:attr:`misreads`).

        Raises:
            PerceptionError: an unreadable observation with no plan under way.
            NoPlanError: the state read is a goal or terminal (no action to take), or no plan is found.
            ValueError: naming ``observation``.
        """
        try:
            model, state, _ = self.read_state(observation)
        except PerceptionError:
            if not self._plan:
                raise
            self.misreads += 1
            model, state = self._current_model, self._expected[0]
        if self._plan and model is self._current_model and state == self._expected[0]:
            self._expected.pop(0)
            return self._plan.pop(0)
        if _is_goal(model, state) or model.is_terminal(state):
            self._plan, self._expected = [], []
            raise NoPlanError("the observed state is terminal: there is no action to take", "terminal")
        if self._plan:
            self.replans += 1
        self._actions_of(self._search(model, state, None, 0.0, self.time_limit_s))
        self._expected.pop(0)
        return self._plan.pop(0)

    def reset(self) -> None:
        """Forget the current plan (and, with a model factory, the current model); keep the counters."""
        self._plan, self._expected = [], []
        if self.model_factory is not None:
            self._current_model = None

    def _set_plan(self, model: Any, state: Any, actions: tuple[int, ...]) -> None:
        self._current_model = model
        expected = [state]
        for a in actions[:-1]:
            expected.append(model.step(expected[-1], a).state)
        self._plan = list(actions)
        self._expected = expected if actions else []


def _is_goal(model: Any, state: Any) -> bool:
    solved = getattr(model, "is_solved", None)
    return bool(solved(state)) if callable(solved) else bool(model.is_terminal(state))


def _check_limit(time_limit_s: Any) -> None:
    if time_limit_s is not None and (
        isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float)) or not time_limit_s >= 0
    ):
        raise ValueError(f"time_limit_s must be None or a number >= 0, got {time_limit_s!r}")


# ============================================================================ by env id


def make_agent(
    env_id: str,
    perception: Any = None,
    env_kwargs: dict[str, Any] | None = None,
    *,
    time_limit_s: float | None = None,
    grid_reader: Callable[[Any, np.ndarray], np.ndarray] | None = None,
) -> PlanningAgent:
    """Build the hybrid agent of a registered puzzle env: its rules, its exact solver, an optional perception.

    Args:
        env_id: ``"hybrid/SlidingPuzzle-v0"`` (A*, Manhattan + linear conflicts),
            ``"hybrid/LightsOut-v0"`` (GF(2), fewest presses) or ``"hybrid/Sokoban-v0"``
            (the level is read from each frame; push-level solver).
        perception: a fitted grid reader (see :class:`PlanningAgent`), or None.
        env_kwargs: the env's keyword arguments that shape the rules (``size`` for the
            sliding puzzle and Lights Out; ignored for Sokoban, whose levels come with the frames).
        time_limit_s: default seconds per plan, perception included.
        grid_reader: see :class:`PlanningAgent`.

    Raises:
        ValueError: naming ``env_id`` (with the supported ids) or ``env_kwargs``.
    """
    row = planning_env(env_id, need="solver")  # the env's row of hybrid.planning.envs.PLANNING_ENVS
    return PlanningAgent(row.model(env_kwargs), row.solver, perception, time_limit_s=time_limit_s,
                         grid_reader=grid_reader)
