"""Sweeps: the grid task x method x n_train x seed, run locally or on Ray.

Each run is executed by :func:`execute_run` — build the task and the method from the
registry, draw the data, fit under the meter's ``train`` phase, score under its
``inference`` phase — in a worker process (local pool), on a Ray worker, or inline
(``jobs=1``). The parent writes each finished run to the store at once; runs already
stored are skipped, so an interrupted sweep resumes where it stopped.

Pool workers do not outlive the sweep: on any exception in the parent (Ctrl-C included,
and SIGTERM under :func:`hybrid.evaluate.signals.terminate_as_interrupt`) the parent
stops them before passing it on, and a worker whose parent died without a word
(SIGKILL, a crash) exits by itself within seconds.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing
import multiprocessing.process
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from hybrid.evaluate.footprint import latency_per_example, model_footprint, stopping_of, summarise_stopping
from hybrid.evaluate.meter import Meter
from hybrid.evaluate.registry import get_method, get_task, load_plugins, methods_for
from hybrid.evaluate.store import ResultStore, RunConfig, RunRecord

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class SweepOutcome:
    """What a sweep did: runs executed now, skipped as already stored, and failed."""

    ran: int
    skipped: int
    failed: int


def plan_grid(
    tasks: Sequence[str],
    methods: Sequence[str] | None,
    sizes: Sequence[int],
    seeds: int | Sequence[int],
    device: str,
    *,
    task_params: dict[str, dict[str, Any]] | None = None,
    method_params: dict[str, dict[str, Any]] | None = None,
) -> list[RunConfig]:
    """Expand the grid into run configs.

    Args:
        tasks: task names.
        methods: method names, or ``None`` for every method registered for each task.
        sizes: training-set sizes (positive integers).
        seeds: a count (seeds ``0..k-1``) or an explicit list.
        device: a resolved device string.
        task_params: per-task constructor parameters.
        method_params: per-method hyper-parameters (override the registered defaults).

    Raises:
        ValueError: on unknown tasks or methods, a method that does not apply to a
            task, or sizes/seeds that are not positive.
    """
    sizes = [int(n) for n in sizes]
    if not sizes or any(n <= 0 for n in sizes):
        raise ValueError(f"sizes must be positive integers, got {list(sizes)}")
    if isinstance(seeds, int):
        if seeds <= 0:
            raise ValueError(f"seeds must be a positive count, got {seeds}")
        seed_list = list(range(seeds))
    else:
        seed_list = [int(s) for s in seeds]
        if not seed_list or any(s < 0 for s in seed_list):
            raise ValueError(f"seeds must be non-negative integers, got {seed_list}")
    task_params = task_params or {}
    method_params = method_params or {}
    configs: list[RunConfig] = []
    for task_name in tasks:
        entry = get_task(task_name)
        task = entry.factory(**task_params.get(task_name, {}))
        names = list(methods) if methods else sorted(methods_for(task_name))
        if not names:
            raise ValueError(f"no methods are registered for task {task_name!r}")
        for method_name in names:
            m = get_method(method_name, task_name)
            params = {**m.defaults, **method_params.get(method_name, {})}
            for n in sizes:
                for seed in seed_list:
                    configs.append(
                        RunConfig(
                            task=task_name,
                            task_params=task.params(),
                            method=method_name,
                            method_params=params,
                            family=m.family,
                            n_train=n,
                            seed=seed,
                            device=device,
                        )
                    )
    unique = {c.key(): c for c in configs}
    return list(unique.values())


def quick_grid(
    device: str,
    tasks: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    sizes: Sequence[int] | None = None,
    seeds: int | None = None,
) -> list[RunConfig]:
    """The runs of ``compare --quick``: each task at its registered quick settings.

    Args:
        device: a resolved device string.
        tasks: task names (default: every task registered ``in_quick``).
        methods: method names for every task (default: each task's quick methods, with
            their quick parameter overrides).
        sizes: training-set sizes for every task (default: each task's quick sizes).
        seeds: seed count for every task (default: each task's quick count).

    Returns:
        The run configs, the tasks in the order given (or by name).
    """
    from hybrid.evaluate.registry import quick_methods
    from hybrid.evaluate.registry import tasks as registered

    names = list(tasks) if tasks else sorted(name for name, entry in registered().items() if entry.in_quick)
    configs: list[RunConfig] = []
    for name in names:
        entry = get_task(name)
        chosen = list(methods) if methods else quick_methods(name)
        overrides = {m: (entry.quick_methods or {}).get(m, {}) for m in chosen}
        configs += plan_grid([name], chosen, sizes or entry.quick_sizes, seeds or entry.quick_seeds, device,
                             task_params={name: entry.quick_params}, method_params=overrides)
    return configs



def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_quick(configs: Sequence[RunConfig]) -> list[str]:
    """Markdown lines saying how ``compare --quick``'s runs differ from each task's full settings.

    Per task: its pillar, sizes and seeds, its quick parameters, and per method the
    parameters ``--quick`` overrides, beside the registered ones.
    """
    lines = ["**Quick settings.** These runs are `--quick`'s, reduced to take minutes; the full settings "
             "are each task's and method's registered ones (`hybrid reproduce overview` runs them, "
             "docs/overview.md gives its figures):", ""]
    for task in dict.fromkeys(c.task for c in configs):
        entry = get_task(task)
        mine = [c for c in configs if c.task == task]
        sizes = sorted({c.n_train for c in mine})
        seeds = len({c.seed for c in mine})
        full = entry.factory().params() if entry.quick_params else {}
        params = ", ".join(f"{k}={_short(v)} (full: {_short(full.get(k, '-'))})"
                           for k, v in entry.quick_params.items()) or "as registered"
        lines.append(f"- `{task}` ({entry.pillar}): sizes {', '.join(map(str, sizes))}; {seeds} seed(s); "
                     f"task parameters {params}.")
        for method, overrides in (entry.quick_methods or {}).items():
            if not overrides:
                continue
            registered = get_method(method).defaults
            said = "; ".join(f"{k}={_short(v)} (full: {_short(registered[k]) if k in registered else 'its default'})"
                             for k, v in overrides.items())
            lines.append(f"    - `{method}`: {said}")
    return lines + [""]


def execute_run(config: RunConfig, *, track_energy: bool = True, count_flops: bool = True) -> RunRecord:
    """Execute one run and return its record; an exception becomes a ``failed`` record."""
    load_plugins()
    host = socket.gethostname()
    try:
        task = get_task(config.task).factory(**config.task_params)
        entry = get_method(config.method, config.task)
        method = entry.factory(task, seed=config.seed, device=config.device, **config.method_params)
        train = task.train_set(config.n_train, config.seed)
        test = task.test_set(config.seed)
        meter = Meter(config.device, count_flops=count_flops, track_energy=track_energy)
        with meter.phase("train"):
            method.fit(train)
        with meter.phase("inference"):
            scores = dict(task.score(method, test))
        details = {"score": scores.pop("details", None)}
        audit = getattr(task, "audit", None)
        if audit is not None:  # evaluator-side checks, outside the method's metered cost
            checks = dict(audit(method, test))
            details["audit"] = checks.pop("details", None)
            scores.update(checks)
        train_measures = meter.phases["train"].to_dict() | summarise_stopping(stopping_of(method))
        inference_measures = meter.phases["inference"].to_dict() | _footprint(task, method, test, details)
        count_examples = getattr(task, "test_examples", None)
        if count_examples is not None:
            inference_measures["examples"] = int(count_examples(test))
        return RunRecord(
            config=config,
            status="ok",
            metrics={k: float(v) for k, v in scores.items()},
            train=train_measures,
            inference=inference_measures,
            details=details,
            host=host,
            finished_at=time.time(),
        )
    except Exception as exc:
        tb = traceback.format_exc(limit=-8)
        return RunRecord(
            config=config,
            status="failed",
            error=f"{type(exc).__name__}: {exc}\n{tb}",
            host=host,
            finished_at=time.time(),
        )


def _footprint(task, method, test, details: dict[str, Any]) -> dict[str, Any]:
    """The fitted model's size and its inference latency per example (at batch 1 and the task's batch).

    Measured after the metered phases. A task that cannot time its inference
    (no ``latency_call``) gets no latency; a measurement that raises is noted in
    ``details["footprint_error"]`` and leaves the run ``ok``.
    """
    out: dict[str, Any] = {}
    try:
        out.update(model_footprint(method))
        details["networks"] = out.pop("networks")
        call = getattr(task, "latency_call", None)
        if call is not None:
            batch = int(getattr(task, "inference_batch", 1))
            out["latency_s_b1"] = latency_per_example(call(method, test, 1), 1)
            out["latency_batch"] = batch
            out["latency_s_batch"] = latency_per_example(call(method, test, batch), batch) if batch > 1 else (
                out["latency_s_b1"])
    except Exception as exc:
        details["footprint_error"] = f"{type(exc).__name__}: {exc}"
    return out


#: How often a pool worker checks that the process that started it is still alive (seconds).
_PARENT_POLL_S = 0.5
#: ``prctl`` option: the signal the kernel sends this process when its parent thread dies (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def _init_worker(threads: int, parent_pid: int | None = None) -> None:
    """Set up a pool worker: end it with its parent, leave Ctrl-C to the parent, and set torch's thread count.

    Args:
        threads: torch intra-op threads for this worker.
        parent_pid: the pid of the sweep process that started the pool; ``None`` skips the parent watch.
    """
    # Ctrl-C in a terminal reaches the whole process group: the parent turns it into a
    # KeyboardInterrupt and stops the workers itself, so a worker must not die mid-queue-read
    # with a traceback of its own (or carry on after catching it in a task).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover
        pass


def _die_with_parent(parent_pid: int) -> None:
    """Make this process exit soon after ``parent_pid``, its parent, dies, however it dies (SIGKILL included).

    Two watches: on Linux the kernel's parent-death signal (instant, but tied to the parent
    *thread* that spawned us — see ``_run_pool``); on every POSIX system a daemon thread that
    polls ``os.getppid()``, which changes when an orphan is re-parented. The spawn start
    method makes the sweep process the direct parent of each worker, so the two pids match.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # pragma: no cover - no prctl in this libc: the poll still runs
            pass
    # The parent may have died before the prctl took effect: then nothing would signal us.
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_poll_parent, args=(parent_pid,), name="hybrid-parent-watch", daemon=True).start()


def _poll_parent(parent_pid: int) -> None:
    """Exit the process at once (no cleanup: its results have no one to go to) when ``parent_pid`` is gone."""
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


def _execute_in_worker(config: RunConfig, track_energy: bool, count_flops: bool,
                       started_dir: str | None = None) -> RunRecord:
    if started_dir is not None:  # which run this worker is on, should the worker die (see _run_pool)
        with open(os.path.join(started_dir, str(os.getpid())), "w", encoding="utf-8") as f:
            f.write(config.key())
    return execute_run(config, track_energy=track_energy, count_flops=count_flops)


def run_sweep(
    configs: Iterable[RunConfig],
    store: ResultStore,
    *,
    backend: str = "local",
    jobs: int | None = None,
    ray_address: str | None = None,
    track_energy: bool = True,
    count_flops: bool = True,
    progress: bool = True,
) -> SweepOutcome:
    """Run every config not already stored, writing each record as it finishes.

    Args:
        configs: the runs (from :func:`plan_grid`).
        store: where records go.
        backend: ``"local"`` (process pool; ``jobs=1`` runs inline) or ``"ray"``.
        jobs: parallel runs (default: CPU count; on Ray, the CPUs of a local cluster).
        ray_address: a Ray cluster's address (``None`` starts a local Ray).
        track_energy: measure energy with CodeCarbon.
        count_flops: count torch FLOPs.
        progress: show a progress bar.

    Returns:
        What was run, skipped and failed.

    Raises:
        ValueError: on an unknown backend or ``jobs < 1``.
        KeyboardInterrupt: passed on (as is any other exception) after pending runs are
            cancelled and the pool's workers stopped (terminated, killed if still there after
            2 s); finished runs are already stored.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    jobs = os.cpu_count() or 1 if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    configs = list(configs)
    done = store.done_keys()
    todo = [c for c in configs if c.key() not in done]
    skipped = len(configs) - len(todo)
    failed = 0
    bar = tqdm(total=len(configs), initial=skipped, desc="runs", unit="run", disable=not progress)

    def finish(record: RunRecord) -> None:
        nonlocal failed
        store.put(record)
        failed += record.status != "ok"
        bar.set_postfix_str(f"{record.config.task}: {record.config.method} n={record.config.n_train} {record.status}")
        bar.update(1)

    try:
        if not todo:
            pass
        elif backend == "ray":
            _run_on_ray(todo, finish, jobs, ray_address, track_energy, count_flops)
        elif jobs == 1:
            for config in todo:
                finish(execute_run(config, track_energy=track_energy, count_flops=count_flops))
        else:
            _run_on_pool(todo, finish, jobs, track_energy, count_flops)
    finally:
        bar.close()
    return SweepOutcome(ran=len(todo), skipped=skipped, failed=failed)


#: Thread-count variables of the BLAS libraries numpy may use; read once, at import.
_BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _run_on_pool(todo, finish, jobs, track_energy, count_flops) -> None:
    threads = max(1, (os.cpu_count() or 1) // jobs)
    # Spawned workers read these when they import numpy (workers start on the first
    # submit): without them each worker's BLAS starts one thread per core, and `jobs`
    # workers oversubscribe the machine.
    saved = {v: os.environ.get(v) for v in _BLAS_THREAD_VARS}
    for v in _BLAS_THREAD_VARS:
        os.environ.setdefault(v, str(threads))
    try:
        _run_pool(todo, finish, jobs, threads, track_energy, count_flops)
    finally:
        for v, value in saved.items():
            if value is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = value


def _run_pool(todo, finish, jobs, threads, track_energy, count_flops) -> None:
    """Run ``todo`` on pools of ``jobs`` workers; a worker that dies fails its run, not the sweep.

    A worker killed mid-run (by the kernel for memory, by a segfault in a native library)
    breaks the whole pool. The runs the workers were on are then run again one at a time,
    each in a pool of its own: one whose worker dies a second time is recorded as failed,
    with the worker's exit code; the others finish, and the rest of ``todo`` goes on in a
    fresh pool.
    """
    import tempfile

    finished: set[str] = set()

    def done(record: RunRecord) -> None:
        finished.add(record.config.key())
        finish(record)

    with tempfile.TemporaryDirectory(prefix="hybrid-sweep-") as started_dir:
        pending = list(todo)
        while pending:
            broken = _run_pool_once(pending, done, jobs, threads, track_energy, count_flops, started_dir)
            if broken is None:
                return
            by_key = {c.key(): c for c in pending}
            in_flight = [by_key[k] for k in _started_keys(started_dir) if k in by_key and k not in finished]
            if not in_flight and not any(c.key() in finished for c in pending):
                raise RuntimeError(f"the sweep's worker processes die before they start a run ({broken})")
            for config in in_flight:  # alone now: a death is this run's
                died = _run_pool_once([config], done, 1, threads, track_energy, count_flops, started_dir)
                if died is not None and config.key() not in finished:
                    done(RunRecord(config=config, status="failed", host=socket.gethostname(), finished_at=time.time(),
                                   error=f"WorkerDied: the worker process running it died twice ({died}; "
                                         "killed for memory, or a crash in native code)"))
            pending = [c for c in pending if c.key() not in finished]


def _started_keys(started_dir: str) -> list[str]:
    """The run each worker last started (``_execute_in_worker`` writes one file per worker pid)."""
    keys = []
    for name in sorted(os.listdir(started_dir)):
        with open(os.path.join(started_dir, name), encoding="utf-8") as f:
            keys.append(f.read().strip())
        os.remove(os.path.join(started_dir, name))
    return keys


def _run_pool_once(todo, finish, jobs, threads, track_energy, count_flops, started_dir) -> str | None:
    """One pool over ``todo``: None when every run finished, else how its workers died (the pool broke)."""
    # Workers are spawned by submit(), in this thread (CPython 3.10-3.13, no max_tasks_per_child),
    # and the parent-death signal they set fires when the thread that spawned them ends. This
    # thread stays in this function until every worker has exited, so that signal fires only
    # when the whole process dies.
    pool = cf.ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(threads, os.getpid()),
    )
    futures: list[cf.Future] = []
    workers: dict[int, Any] = {}
    try:
        for config in todo:
            futures.append(pool.submit(_execute_in_worker, config, track_energy, count_flops, started_dir))
        # The executor has no public handle on its workers: `_processes` (pid -> Process) is the
        # only one, and shutdown() sets it to None, so take them now.
        workers = dict(getattr(pool, "_processes", None) or {})
        for fut in cf.as_completed(futures):
            try:
                record = fut.result()
            except cf.process.BrokenProcessPool:
                pool.shutdown(wait=True, cancel_futures=True)
                codes = sorted({p.exitcode for p in workers.values() if p.exitcode not in (None, 0)})
                return "exit code " + ", ".join(str(c) for c in codes) if codes else "no exit code"
            finish(record)
    except BaseException:
        # Without stopping the workers, the running tasks go on to the end and the
        # interpreter's exit hook waits for them.
        workers = workers or dict(getattr(pool, "_processes", None) or {})
        for fut in futures:
            fut.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        _stop_processes(list(workers.values()))
        raise
    pool.shutdown(wait=True)
    return None


#: Seconds a terminated worker gets to exit before it is killed.
_STOP_GRACE_S = 2.0


def _stop_processes(procs: Sequence[multiprocessing.process.BaseProcess], grace: float = _STOP_GRACE_S) -> None:
    """Terminate ``procs``, wait up to ``grace`` seconds for them to exit, then kill and reap the rest."""
    for proc in procs:
        proc.terminate()  # a no-op for a process that has already exited
    try:
        deadline = time.monotonic() + grace
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
    finally:  # even if a second Ctrl-C cuts the grace period short
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)


def _run_on_ray(todo, finish, jobs, address, track_energy, count_flops) -> None:
    try:
        import ray
    except ImportError:
        raise ValueError(
            "backend 'ray' needs Ray: pip install 'hybrid-toolkit[cluster]'"
        ) from None
    env = {k: os.environ[k] for k in ("HYBRID_PLUGINS", "HYBRID_CO2_COUNTRY") if k in os.environ}
    started_here = not ray.is_initialized()
    if started_here:
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "runtime_env": {"env_vars": env} if env else None,
        }
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=jobs, **kwargs)
    remote = ray.remote(num_cpus=1)(_execute_in_worker)
    pending = {remote.remote(c, track_energy, count_flops): c for c in todo}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                pending.pop(ref)
                finish(ray.get(ref))
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()
