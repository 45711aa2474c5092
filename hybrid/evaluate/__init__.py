"""The shared evaluator: tasks x methods x sizes x seeds, measured, stored and reported."""

from hybrid.evaluate.api import compare
from hybrid.evaluate.meter import Meter, PhaseMeasure, record_flops, record_ops, resolve_device
from hybrid.evaluate.protocols import FAMILIES, Method, MetricSpec, Task
from hybrid.evaluate.registry import get_method, get_task, methods_for, register_method, register_task, tasks
from hybrid.evaluate.report import write_report
from hybrid.evaluate.store import ResultStore, RunConfig, RunRecord, StoreError, records_to_rows
from hybrid.evaluate.sweep import SweepOutcome, execute_run, plan_grid, run_sweep

__all__ = [
    "FAMILIES",
    "Meter",
    "Method",
    "MetricSpec",
    "PhaseMeasure",
    "ResultStore",
    "RunConfig",
    "RunRecord",
    "StoreError",
    "SweepOutcome",
    "Task",
    "compare",
    "execute_run",
    "get_method",
    "get_task",
    "methods_for",
    "plan_grid",
    "record_flops",
    "record_ops",
    "records_to_rows",
    "register_method",
    "register_task",
    "resolve_device",
    "run_sweep",
    "tasks",
    "write_report",
]
