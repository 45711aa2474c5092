"""Registry of tasks and of the methods that apply to each.

Built-in pillars register themselves when their ``hybrid.<pillar>.register`` module
is imported. Your own tasks and methods register the same way from any module; name
that module in the ``HYBRID_PLUGINS`` environment variable (comma-separated) or in an
installed package's ``hybrid.plugins`` entry point, and worker processes (local pool
or Ray) will load it too.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from hybrid.evaluate.protocols import FAMILIES, Method, Task

BUILTIN_MODULES = ("hybrid.regression.register", "hybrid.vqa.register", "hybrid.planning.register")


@dataclass(frozen=True)
class TaskEntry:
    """A registered task: ``factory(**params) -> Task``.

    ``pillar`` names the part of the toolkit it belongs to (``regression``, ``visual QA``,
    ``planning``; a plug-in task's own name by default). ``quick_params`` are the task's
    parameters in ``compare --quick``; ``quick_methods`` (method -> parameter overrides),
    when set, are the methods ``--quick`` runs on it, with reduced settings.
    """

    name: str
    factory: Callable[..., Task]
    description: str
    quick_sizes: tuple[int, ...] = (8, 32, 128)
    quick_seeds: int = 2
    in_quick: bool = True
    pillar: str = ""
    quick_params: dict[str, Any] = field(default_factory=dict)
    quick_methods: dict[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class FamilyCheckedFactory:
    """A method factory that checks the family each built method declares.

    Calling it calls ``factory(task, seed=..., device=..., **params)`` and returns the method.

    Raises:
        TypeError: the built method's ``family`` (read from it: a class attribute, or a
            meta-estimator's property) is not the ``family`` it was registered under.
    """

    name: str
    factory: Callable[..., Method]
    family: str

    def __call__(self, task: Task, **kwargs: Any) -> Method:
        """Build the method for ``task`` (``seed``, ``device`` and its parameters as keywords)."""
        method = self.factory(task, **kwargs)
        declared = getattr(method, "family", None)
        if declared != self.family:
            raise TypeError(
                f"method {self.name!r} is registered as family {self.family!r}, but its factory built a "
                f"{type(method).__name__} whose family is {declared!r}: declare family on the class and "
                "register it with the same one"
            )
        return method


@dataclass(frozen=True)
class MethodEntry:
    """A registered method: ``factory(task, seed=..., device=..., **params) -> Method``.

    ``factory`` is a :class:`FamilyCheckedFactory`: the family here, known before any method
    is built (for listings and run configurations), is checked against the family each
    built method declares. ``in_quick=False``: ``compare --quick`` leaves the method out
    unless ``--methods`` names it.
    """

    name: str
    factory: Callable[..., Method]
    family: str
    tasks: tuple[str, ...]
    description: str
    defaults: dict[str, Any] = field(default_factory=dict)
    in_quick: bool = True


_TASKS: dict[str, TaskEntry] = {}
_METHODS: dict[str, MethodEntry] = {}
_loaded = False


def register_task(
    name: str,
    factory: Callable[..., Task],
    description: str,
    *,
    quick_sizes: tuple[int, ...] = (8, 32, 128),
    quick_seeds: int = 2,
    in_quick: bool = True,
    pillar: str | None = None,
    quick_params: Mapping[str, Any] | None = None,
    quick_methods: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Register a task under ``name``.

    ``quick_sizes``/``quick_seeds`` drive ``compare --quick``; ``in_quick=False`` leaves a
    task out of it (a larger variant of a task that is already in). ``pillar``: the
    toolkit part it belongs to (default: ``name``). ``quick_params``: the task's
    parameters under ``--quick``; ``quick_methods``: ``{method: parameter overrides}`` that
    ``--quick`` runs on it (default: the methods registered ``in_quick``, as registered).
    """
    if not name or not isinstance(name, str):
        raise ValueError("task name must be a non-empty string")
    chosen = None if quick_methods is None else {m: dict(p) for m, p in quick_methods.items()}
    _TASKS[name] = TaskEntry(name, factory, description, tuple(quick_sizes), int(quick_seeds), in_quick,
                             pillar or name, dict(quick_params or {}), chosen)


def register_method(
    name: str,
    factory: Callable[..., Method],
    *,
    tasks: tuple[str, ...] | list[str],
    description: str,
    estimator: type | None = None,
    family: str | None = None,
    defaults: dict[str, Any] | None = None,
    in_quick: bool = True,
) -> None:
    """Register a method for the given tasks.

    Args:
        name: the method's registry name.
        factory: ``factory(task, seed=..., device=..., **params)`` returning an unfitted
            method, a scikit-learn estimator whose class declares ``family``; it may be
            such a class itself when its constructor takes those arguments.
        tasks: the task names the method applies to.
        description: one line for listings.
        estimator: the class of the estimator ``factory`` builds (or wraps): the registry
            reads the method's ``family`` from it. Not needed when ``factory`` is that class.
        family: one of :data:`~hybrid.evaluate.protocols.FAMILIES`, only for a factory whose
            class is not given; when both are given they must agree. Listings and run
            configurations need the family before any method is built; each built method's
            own ``family`` is checked against it (:class:`FamilyCheckedFactory`).
        defaults: hyper-parameters passed to ``factory`` unless a run overrides them.
        in_quick: ``False`` leaves the method out of ``compare --quick`` (unless ``--methods``
            names it): a variant whose runs would multiply the quick path's time.

    Raises:
        ValueError: an empty ``name``, no family to be found, an unknown one, or a
            ``family`` that contradicts the class's.
    """
    if not name or not isinstance(name, str):
        raise ValueError("method name must be a non-empty string")
    source = estimator if estimator is not None else factory if isinstance(factory, type) else None
    declared = getattr(source, "family", None) if source is not None else None
    if declared is not None and not isinstance(declared, str):
        declared = None  # a property (a meta-estimator's family comes from what it wraps)
    if declared is not None and family is not None and family != declared:
        raise ValueError(f"method {name!r}: family={family!r} but {source.__name__}.family is {declared!r}")
    family = declared if declared is not None else family
    if family is None:
        raise ValueError(f"method {name!r}: give estimator= (a class declaring family) or family=")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    checked = FamilyCheckedFactory(name, factory, family)
    _METHODS[name] = MethodEntry(name, checked, family, tuple(tasks), description, dict(defaults or {}),
                                 bool(in_quick))


def load_plugins() -> None:
    """Import built-in pillars, ``HYBRID_PLUGINS`` modules and ``hybrid.plugins`` entry points (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for module in filter(None, (m.strip() for m in os.environ.get("HYBRID_PLUGINS", "").split(","))):
        importlib.import_module(module)
    for ep in metadata.entry_points(group="hybrid.plugins"):
        ep.load()


def tasks() -> dict[str, TaskEntry]:
    """All registered tasks by name."""
    load_plugins()
    return dict(_TASKS)


def methods_for(task: str) -> dict[str, MethodEntry]:
    """The registered methods that apply to ``task``, by name."""
    load_plugins()
    return {name: m for name, m in _METHODS.items() if task in m.tasks}


def quick_methods(task: str) -> list[str]:
    """The methods ``compare --quick`` runs on ``task`` without ``--methods``.

    The task's ``quick_methods`` when it names them, else those registered ``in_quick``.
    """
    chosen = get_task(task).quick_methods
    if chosen is not None:
        return list(chosen)
    return [name for name, m in methods_for(task).items() if m.in_quick]


def get_task(name: str) -> TaskEntry:
    """The task entry called ``name``.

    Raises:
        ValueError: naming the unknown task and the known ones.
    """
    load_plugins()
    if name not in _TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_TASKS)) or 'none'}")
    return _TASKS[name]


def get_method(name: str, task: str | None = None) -> MethodEntry:
    """The method entry called ``name``, checked to apply to ``task`` if given.

    Raises:
        ValueError: naming the unknown method, or the task it does not apply to.
    """
    load_plugins()
    if name not in _METHODS:
        raise ValueError(
            f"unknown method {name!r}; known methods: {', '.join(sorted(_METHODS)) or 'none'}"
        )
    entry = _METHODS[name]
    if task is not None and task not in entry.tasks:
        applicable = ", ".join(sorted(methods_for(task))) or "none"
        raise ValueError(f"method {name!r} does not apply to task {task!r}; it takes: {applicable}")
    return entry
