"""Run several searches in lockstep so that one net call answers all their leaves; cache evaluations.

On a CPU the cost of a policy/value net is per *call*, not per state (a 6 x 7 board:
~1 ms for one state, ~3 ms for 32), and a search asks for one leaf at a time. So
:func:`run_lockstep` runs several jobs (self-play games, match games) in threads, each
running the ordinary sequential :func:`hybrid.symbolic.planning.mcts.search`; an evaluator
wrapped by :func:`shared_batch` does not call the net itself but posts its states and
waits. When every running job has posted, the main thread makes one net call for all of
them and hands the rows back. The threads never run Python at the same time as the net
call, and a round always holds the next request of every running job, in slot order:
the batches, and so the games, are the same from run to run (deterministic given the
seed and the number of parallel slots).

:class:`CachedEvaluator` remembers an evaluator's answer per state while the net does
not change. Used by self-play (:mod:`hybrid.planning.selfplay`) and by matches
(:mod:`hybrid.planning.matches`); re-exported by :mod:`hybrid.planning.selfplay`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hybrid.tasks.envs.grid_env import check_int

__all__ = ["CachedEvaluator", "Evaluator", "run_lockstep", "shared_batch"]

#: A search evaluator: ``evaluate(states) -> (priors [B, A], values [B])``.
Evaluator = Callable[[list[Any]], tuple[np.ndarray, np.ndarray]]


class _Aborted(Exception):
    """Raised inside a job's thread when the run is being torn down."""


_local = threading.local()


class _Runner:
    """The shared state of one :func:`run_lockstep` call (one slot per thread).

    Within a round the slots run one at a time, in slot order: each, when it posts its next
    request (or runs out of jobs), wakes the next slot of the round directly, and the last
    one wakes the main thread. Only one thread is ever runnable, so no time goes to threads
    fighting over the GIL, the order of everything is fixed, and the shared fields need no
    lock of their own. A turn is handed over by releasing a raw lock that the next thread is
    blocked on (the cheapest wake-up CPython has; ``threading.Event`` costs several times more).
    """

    def __init__(self, num_slots: int) -> None:
        self.pending: dict[int, tuple[Callable, list[Any]]] = {}
        self.results: dict[int, Any] = {}
        self.turns = [threading.Lock() for _ in range(num_slots)]
        for lock in self.turns:
            lock.acquire()
        self.main_turn = threading.Lock()
        self.main_turn.acquire()
        self.live = num_slots
        self.abort = False
        self.error: BaseException | None = None
        self.order: list[int] = list(range(num_slots))
        self.pos = 0

    def hand_off(self) -> None:
        """End the current slot's turn: wake the next slot of the round, or the main thread after the last."""
        if self.abort:
            return
        self.pos += 1
        try:
            if self.pos < len(self.order):
                self.turns[self.order[self.pos]].release()
            else:
                self.main_turn.release()
        except RuntimeError:  # only while tearing down: the lock was released already
            if not self.abort:
                raise

    def wait_turn(self, slot: int) -> None:
        """Block until it is ``slot``'s turn; raise :class:`_Aborted` if the run is torn down."""
        self.turns[slot].acquire()
        if self.abort:
            raise _Aborted

    def release_all(self) -> None:
        """Tear down: wake every slot (they raise :class:`_Aborted`)."""
        self.abort = True
        for lock in self.turns:
            try:
                if lock.locked():
                    lock.release()
            except RuntimeError:  # released meanwhile by a slot's hand-off
                pass


def shared_batch(evaluate: Evaluator) -> Evaluator:
    """Wrap ``evaluate`` so that, inside :func:`run_lockstep`, its calls are batched with other jobs'.

    Args:
        evaluate: ``evaluate(states) -> (priors [B, A], values [B])`` (a search evaluator).

    Returns:
        An evaluator with the same contract. Called from a job of :func:`run_lockstep`, it
        posts its states and blocks until the main thread has evaluated them together with
        the other jobs' states (one call of ``evaluate`` per distinct evaluator per round);
        called anywhere else it calls ``evaluate`` directly.

    Raises:
        ValueError: if ``evaluate`` is not callable.
    """
    if not callable(evaluate):
        raise ValueError(f"evaluate must be callable, got {type(evaluate).__name__}")

    def batched(states: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        ctx = getattr(_local, "ctx", None)
        states = list(states)
        if ctx is None or not states:
            return evaluate(states)
        runner, slot = ctx
        runner.pending[slot] = (evaluate, states)
        runner.hand_off()
        runner.wait_turn(slot)
        return runner.results.pop(slot)

    return batched


def _serve_round(runner: _Runner, requests: list[tuple[int, tuple[Callable, list[Any]]]]) -> None:
    """Evaluate one round's requests, one call per distinct evaluator, and store the rows per slot."""
    groups: dict[int, list[tuple[int, Callable, list[Any]]]] = {}
    for slot, (fn, states) in requests:
        groups.setdefault(id(fn), []).append((slot, fn, states))
    for members in groups.values():
        fn = members[0][1]
        everything = [s for _, _, states in members for s in states]
        priors, values = fn(everything)
        priors = np.asarray(priors)
        values = np.asarray(values)
        if len(priors) != len(everything) or len(values) != len(everything):
            raise ValueError(
                f"evaluate returned {len(priors)} priors and {len(values)} values for {len(everything)} states"
            )
        start = 0
        for slot, _, states in members:
            end = start + len(states)
            runner.results[slot] = (priors[start:end], values[start:end])
            start = end


def run_lockstep(
    jobs: Sequence[Callable[[], Any]],
    parallel: int = 1,
    deadline: float | None = None,
) -> list[Any]:
    """Run ``jobs`` in ``parallel`` threads whose :func:`shared_batch` evaluations are answered together.

    Slot ``i`` runs jobs ``i, i + parallel, i + 2 parallel, ...`` one after the other. In
    each round every running slot, in slot order, runs until it posts a request (or runs out
    of jobs); then the main thread evaluates the requests (one call per distinct evaluator)
    and starts the next round. One thread runs at a time, and the rounds do not depend on
    thread timing.

    Args:
        jobs: callables taking no argument; each returns one result.
        parallel: threads (>= 1). 1 runs the jobs in order in the calling thread, unbatched.
        deadline: a ``time.perf_counter()`` value after which no new job starts (a job that
            has started finishes); None for no limit.

    Returns:
        The jobs' results in job order; ``None`` for jobs skipped because of ``deadline``.

    Raises:
        ValueError: if ``parallel`` is not an int >= 1.
        Exception: the first exception raised by a job or an evaluator (the others stop).
    """
    parallel = check_int("parallel", parallel, 1)
    results: list[Any] = [None] * len(jobs)
    if parallel == 1 or len(jobs) <= 1:
        for j, job in enumerate(jobs):
            if deadline is not None and time.perf_counter() > deadline:
                break
            results[j] = job()
        return results
    num_slots = min(parallel, len(jobs))
    runner = _Runner(num_slots)

    def slot_main(slot: int) -> None:
        _local.ctx = (runner, slot)
        try:
            runner.wait_turn(slot)
            for j in range(slot, len(jobs), num_slots):
                if runner.error is not None or (deadline is not None and time.perf_counter() > deadline):
                    break
                results[j] = jobs[j]()
        except _Aborted:
            return
        except BaseException as err:  # handed to the main thread, which re-raises it
            if runner.error is None:
                runner.error = err
        finally:
            _local.ctx = None
        runner.live -= 1
        runner.hand_off()

    threads = [threading.Thread(target=slot_main, args=(i,), daemon=True) for i in range(num_slots)]
    for t in threads:
        t.start()
    try:
        runner.turns[0].release()
        while True:
            runner.main_turn.acquire()
            if runner.error is not None or runner.live == 0:
                break
            requests = sorted(runner.pending.items())
            runner.pending.clear()
            _serve_round(runner, requests)
            runner.order = [slot for slot, _ in requests]
            runner.pos = 0
            runner.turns[runner.order[0]].release()
    finally:
        if runner.live > 0:
            runner.release_all()
        for t in threads:
            t.join()
    if runner.error is not None:
        raise runner.error
    return results


class CachedEvaluator:
    """Remember an evaluator's answer per state (states are hashable by the model protocol).

    Positions repeat across self-play games (openings) and within a tree (transpositions);
    while the net does not change, their evaluation does not either. Build a new one after
    every training phase.

    Args:
        evaluate: ``evaluate(states) -> (priors [B, A], values [B])``.
        max_size: entries kept (>= 1); the cache is emptied when it overflows.

    Attributes:
        hits, misses: states answered from the cache, and states sent to ``evaluate``.
    """

    def __init__(self, evaluate: Evaluator, max_size: int = 100_000) -> None:
        if not callable(evaluate):
            raise ValueError(f"evaluate must be callable, got {type(evaluate).__name__}")
        self.max_size = check_int("max_size", max_size, 1)
        self._evaluate = evaluate
        self._cache: dict[Any, tuple[np.ndarray, float]] = {}
        self.hits = 0
        self.misses = 0

    def __call__(self, states: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(priors [B, A], values [B])`` for ``states``, evaluating only the unseen ones."""
        states = list(states)
        if not states:
            return self._evaluate(states)
        cache = self._cache
        missing = list(dict.fromkeys(s for s in states if s not in cache))
        if missing:
            priors, values = self._evaluate(missing)
            priors = np.asarray(priors, dtype=np.float32)
            values = np.asarray(values, dtype=np.float32)
            if len(cache) + len(missing) > self.max_size:
                cache.clear()
            found = {s: (priors[i], float(values[i])) for i, s in enumerate(missing)}
            cache.update(found)
        else:
            found = {}
        self.misses += len(missing)
        self.hits += len(states) - len(missing)
        rows = [found[s] if s in found else cache[s] for s in states]
        return np.stack([r[0] for r in rows]), np.array([r[1] for r in rows], dtype=np.float32)
