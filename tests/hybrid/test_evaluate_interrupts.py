"""Stopping a sweep stops its workers.

A sweep runs in a child process with two pool workers busy on ``toy-hang`` (which marks
its start in ``TOY_STARTED_DIR``, then sleeps). Its descendants — the workers and
multiprocessing's resource tracker — are recorded, the parent gets a signal, and every
one of them must be gone within seconds: after SIGKILL because each worker watches its
parent, after SIGTERM and SIGINT because the parent stops them before it exits.
"""

import multiprocessing
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from hybrid.evaluate.signals import Terminated, exit_status, terminate_as_interrupt
from hybrid.evaluate.sweep import _stop_processes

from .conftest import ROOT, hybrid_cmd

JOBS = 2
STARTUP_S = 120  # two spawned workers importing torch on a busy machine
GONE_S = 10

def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (left := _alive(procs)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


class Sweep:
    """A sweep in a child process (its own session), its output files and its recorded descendants."""

    def __init__(self, cmd: list[str], tmp_path: Path):
        self.started = tmp_path / "started"
        self.started.mkdir()
        self.stdout = tmp_path / "stdout.txt"
        self.stderr = tmp_path / "stderr.txt"
        env = dict(os.environ, TOY_STARTED_DIR=str(self.started))
        # Files, not pipes: a leaked worker holding a pipe open would hang the reads.
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            # A job started in the background by a non-interactive shell (as CI may run the
            # tests) inherits SIGINT ignored, and Python keeps it so: give the sweep Ctrl-C back.
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True,
                                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.descendants: list[psutil.Process] = []

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()

    def wait_until_workers_busy(self) -> tuple[list[psutil.Process], list[psutil.Process]]:
        """Wait until ``JOBS`` workers run a task; record and return (workers, resource trackers)."""
        deadline = time.monotonic() + STARTUP_S
        while len(list(self.started.iterdir())) < JOBS:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the sweep's workers did not start (exit {self.proc.poll()}):\n{self.output()}")
            time.sleep(0.05)
        self.descendants = psutil.Process(self.proc.pid).children(recursive=True)
        worker_pids = {int(p.name) for p in self.started.iterdir()}
        workers = [p for p in self.descendants if p.pid in worker_pids]
        trackers = [p for p in self.descendants if "resource_tracker" in " ".join(p.cmdline())]
        assert len(workers) == JOBS, self.descendants
        assert len(trackers) == 1, self.descendants
        return workers, trackers

    def cleanup(self) -> None:
        """Kill the child and every descendant recorded or still reachable (only what this test started)."""
        if self.proc.poll() is None:
            try:
                self.descendants += psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
            self.proc.kill()
        self.proc.wait()
        for p in _alive(self.descendants):
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.fixture
def start_sweep(tmp_path):
    sweeps: list[Sweep] = []

    def start(cmd: list[str]) -> Sweep:
        sweep = Sweep(cmd, tmp_path)
        sweeps.append(sweep)
        return sweep

    yield start
    for sweep in sweeps:
        sweep.cleanup()


def _compare_cmd(tmp_path: Path) -> list[str]:
    return hybrid_cmd() + ["compare", "--task", "toy", "--methods", "toy-hang", "--sizes", "1,2,3,4", "--seeds", "1",
                           "--jobs", str(JOBS), "--no-energy", "--no-progress", "--out", str(tmp_path / "out")]


def test_sigkill_of_the_parent_ends_its_workers_and_resource_tracker(start_sweep, tmp_path):
    sweep = start_sweep(_compare_cmd(tmp_path))
    sweep.wait_until_workers_busy()
    os.kill(sweep.proc.pid, signal.SIGKILL)
    assert sweep.proc.wait(GONE_S) == -signal.SIGKILL
    left = _wait_gone(sweep.descendants, GONE_S)
    assert not left, f"still running {GONE_S} s after the parent was killed: {[p.cmdline() for p in left]}"


@pytest.mark.parametrize(
    ("sig", "to_group", "status"),
    [
        (signal.SIGTERM, False, 143),  # kill PID: the parent alone
        (signal.SIGINT, False, 130),  # kill -INT PID
        # Ctrl-C in a terminal: SIGINT to the parent and to every other process of its group
        (signal.SIGINT, True, 130),
    ],
    ids=["sigterm", "sigint", "ctrl-c"],
)
def test_sigterm_and_sigint_stop_the_workers_and_exit_with_the_signal_status(
    start_sweep, tmp_path, sig, to_group, status
):
    sweep = start_sweep(_compare_cmd(tmp_path))
    sweep.wait_until_workers_busy()
    if to_group:
        os.killpg(sweep.proc.pid, sig)
    else:
        os.kill(sweep.proc.pid, sig)
    try:
        rc = sweep.proc.wait(GONE_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the sweep still runs {GONE_S} s after {sig.name}:\n{sweep.output()}")
    assert rc == status, sweep.output()
    assert "hybrid: interrupted" in sweep.stderr.read_text() and "rerun the same command to resume" in sweep.output()
    left = _wait_gone(sweep.descendants, GONE_S)
    assert not left, f"still running {GONE_S} s after the parent exited: {[p.cmdline() for p in left]}"
    # Workers leave Ctrl-C to the parent: no worker prints a KeyboardInterrupt of its own.
    assert "Traceback" not in sweep.stderr.read_text(), sweep.output()


def _hold_until_killed(ready: str, ignore_sigterm: bool) -> None:
    if ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Path(ready).touch()
    time.sleep(60)


def test_stop_processes_kills_a_worker_that_ignores_sigterm(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hold_until_killed, args=(str(tmp_path / f"ready{i}"), i == 1)) for i in range(2)]
    try:
        for p in procs:
            p.start()
        # wait for both to be ready (pytest-timeout bounds the wait); one that died is a failure
        while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
            assert all(p.is_alive() for p in procs), "a process exited before it was ready"
            time.sleep(0.02)
        _stop_processes(procs, grace=0.5)
        assert [p.exitcode for p in procs] == [-signal.SIGTERM, -signal.SIGKILL]
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()


def test_exit_status_is_128_plus_the_signal():
    assert exit_status(KeyboardInterrupt()) == 130
    assert exit_status(Terminated()) == 143
    assert isinstance(Terminated(), KeyboardInterrupt)
    with pytest.raises(TypeError, match="exc must be a KeyboardInterrupt"):
        exit_status(RuntimeError("boom"))


@pytest.fixture
def sigterm_handler():
    """A recognisable SIGTERM handler for the test, and the original one back afterwards."""

    def previous(signum, frame):  # pragma: no cover - never called
        raise AssertionError("the previous handler should not run")

    original = signal.signal(signal.SIGTERM, previous)
    yield previous
    signal.signal(signal.SIGTERM, original if original is not None else signal.SIG_DFL)


def test_sigterm_raises_terminated_inside_and_the_previous_handler_is_back_after(sigterm_handler):
    with terminate_as_interrupt():
        assert signal.getsignal(signal.SIGTERM) is not sigterm_handler
    assert signal.getsignal(signal.SIGTERM) is sigterm_handler

    with pytest.raises(Terminated):
        with terminate_as_interrupt():
            signal.raise_signal(signal.SIGTERM)
            time.sleep(5)  # the handler runs before this line ends (it does not wait 5 s)
    assert signal.getsignal(signal.SIGTERM) is sigterm_handler


def test_terminate_as_interrupt_does_nothing_outside_the_main_thread(sigterm_handler):
    seen: list[object] = []

    def body():
        with terminate_as_interrupt():
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert seen == [sigterm_handler]
    assert signal.getsignal(signal.SIGTERM) is sigterm_handler
