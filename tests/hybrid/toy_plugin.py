"""A toy task and methods for evaluator tests, loaded through HYBRID_PLUGINS.

The task: estimate the mean (3.0) of normal samples. Its metric depends on the seed's
data, so two backends agree only if they ran the same seeds on the same data. The methods
are scikit-learn estimators whose classes declare their family, registered under the same
family (the registry checks that the two agree whenever it builds one).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from hybrid.evaluate.meter import record_ops
from hybrid.evaluate.protocols import MetricSpec
from hybrid.evaluate.registry import register_method, register_task


class ToyTask:
    """Estimate the mean ``loc`` of normal samples; ``score`` reads the method's ``estimate_``."""

    name = "toy"
    metrics = (MetricSpec("acc", "1 / (1 + |error|)", True, 0.9), MetricSpec("err", "|error|", False, 0.1))

    def __init__(self, loc: float = 3.0):
        self.loc = loc

    def params(self):
        return {"loc": self.loc}

    def train_set(self, n, seed):
        return np.random.default_rng(seed).normal(self.loc, 1.0, n)

    def test_set(self, seed):
        return self.loc

    def score(self, method, test):
        err = abs(method.estimate_ - test)
        return {"acc": 1.0 / (1.0 + err), "err": err}


class MeanMethod(BaseEstimator):
    """The sample mean, after sleeping ``delay`` seconds."""

    family = "hybrid"

    def __init__(self, delay: float = 0.0):
        self.delay = delay

    def fit(self, data):
        if self.delay:
            time.sleep(self.delay)
        record_ops("additions", len(data))
        self.estimate_ = float(np.mean(data))
        return self


class HangingMethod(BaseEstimator):
    """The sample mean; with ``TOY_STARTED_DIR`` set, it first marks its start there (a file named
    by its pid) and sleeps ``delay`` seconds, so that a test can stop a sweep with its workers busy."""

    family = "hybrid"

    def __init__(self, delay: float = 60.0):
        self.delay = delay

    def fit(self, data):
        started = os.environ.get("TOY_STARTED_DIR")
        if started:
            (Path(started) / str(os.getpid())).touch()
            time.sleep(self.delay)
        self.estimate_ = float(np.mean(data))
        return self


class FirstValueMethod(BaseEstimator):
    """The first sample."""

    family = "deep"

    def fit(self, data):
        self.estimate_ = float(data[0])
        return self


class BrokenMethod(BaseEstimator):
    """The first sample; raises when given ``TOY_BREAK_AT`` samples or more."""

    family = "deep"

    def fit(self, data):
        if len(data) >= int(os.environ.get("TOY_BREAK_AT", "2")):
            raise RuntimeError("toy failure on purpose")
        self.estimate_ = float(data[0])
        return self


class DyingMethod(BaseEstimator):
    """The first sample; its process kills itself (SIGKILL, as the kernel's out-of-memory killer does)
    when given ``TOY_DIE_AT`` samples or more and run inside a sweep's worker."""

    family = "deep"

    def fit(self, data):
        if len(data) >= int(os.environ.get("TOY_DIE_AT", "2")) and multiprocessing.parent_process() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        self.estimate_ = float(data[0])
        return self


register_task("toy", lambda **p: ToyTask(**p), "toy: estimate a mean", quick_sizes=(2, 8), quick_seeds=2)
register_method("toy-mean", lambda task, seed, device, **p: MeanMethod(**p), family="hybrid",
                tasks=("toy",), description="sample mean")
register_method("toy-slow", lambda task, seed, device, **p: MeanMethod(delay=0.4, **p), family="hybrid",
                tasks=("toy",), description="sample mean, slowly")
register_method("toy-first", lambda task, seed, device, **p: FirstValueMethod(), family="deep",
                tasks=("toy",), description="first sample")
register_method("toy-broken", lambda task, seed, device, **p: BrokenMethod(), family="deep",
                tasks=("toy",), description="raises for n >= TOY_BREAK_AT")
register_method("toy-hang", lambda task, seed, device, **p: HangingMethod(**p), family="hybrid",
                tasks=("toy",), description="sample mean; hangs 60 s if TOY_STARTED_DIR is set")
register_method("toy-die", lambda task, seed, device, **p: DyingMethod(), family="deep",
                tasks=("toy",), description="its worker process dies for n >= TOY_DIE_AT")
