"""CLEVR's question templates and synonyms, loaded and compiled for the question generator.

:func:`load_templates` and :func:`template_families` are re-exported by
:mod:`hybrid.tasks.clevr.questions`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from hybrid.tasks.clevr.engine import (
    _ENDINGS,
    _FILTER_FAMILY,
    _FUNCTIONS,
    _RELATE_FAMILY,
    _TYPE_ATTRIBUTE,
    _TYPE_OF_LAST,
)
from hybrid.tasks.clevr.scene import data_path, load_json, vocabulary

# ============================================================================ templates


@lru_cache(maxsize=1)
def _all_templates() -> tuple[tuple[str, int, str], ...]:
    """Every template shipped with the package, as ``(filename, index, json text)``."""
    folder = data_path("templates")
    out = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            for i, template in enumerate(json.loads(entry.read_text(encoding="utf-8"))):
                out.append((entry.name, i, json.dumps(template)))
    return tuple(out)


def template_families() -> tuple[str, ...]:
    """The template families shipped with the package (file names without ``.json``), sorted."""
    return tuple(sorted({name[: -len(".json")] for name, _, _ in _all_templates()}))


def _select(templates: Iterable[str | tuple[str, int]] | str | None) -> tuple[tuple[str, int], ...]:
    """The ``(filename, index)`` keys a ``templates`` argument selects (see :func:`load_templates`)."""
    table = {(name, i) for name, i, _ in _all_templates()}
    everything = tuple((name, i) for name, i, _ in _all_templates())
    if templates is None:
        return everything
    if isinstance(templates, str):
        templates = [templates]
    try:
        items = list(templates)
    except TypeError:
        raise ValueError(
            f"templates must be None or a list of families or (file, index) pairs, got {templates!r}"
        ) from None
    families = template_families()
    chosen: list[tuple[str, int]] = []
    for item in items:
        if isinstance(item, str):
            family = item[: -len(".json")] if item.endswith(".json") else item
            if family not in families:
                raise ValueError(f"unknown template family {item!r}; families are {list(families)}")
            chosen.extend(key for key in everything if key[0] == family + ".json")
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
            name = item[0] if item[0].endswith(".json") else item[0] + ".json"
            index = item[1]
            if isinstance(index, bool) or not isinstance(index, int) or (name, index) not in table:
                raise ValueError(
                    f"unknown template {tuple(item)!r}; give (file, index) with a file of {list(families)}"
                )
            chosen.append((name, index))
        else:
            raise ValueError(f"templates items must be a family name or a (file, index) pair, got {item!r}")
    if not chosen:
        raise ValueError("templates selects no template")
    return tuple(dict.fromkeys(chosen))


def load_templates(templates: Iterable[str | tuple[str, int]] | str | None = None) -> dict[tuple[str, int], dict]:
    """CLEVR's question templates, by ``(filename, index within the file)``.

    Args:
        templates: ``None`` for all 90; or families and single templates: a family by name
            (``"zero_hop"``) or file name (``"zero_hop.json"``), a template as a pair
            ``("zero_hop.json", 2)`` (or ``("zero_hop", 2)``). A single string stands for a
            list of one.

    Returns:
        ``{(filename, index): template}``, in the files' order, each template a fresh dict
        as in the JSON (``text``, ``nodes``, ``params``, ``constraints``).

    Raises:
        ValueError: an unknown family or template, or an empty selection.
    """
    table = {(name, i): text for name, i, text in _all_templates()}
    return {key: json.loads(table[key]) for key in _select(templates)}


def _load_synonyms(synonyms: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    if synonyms is None:
        synonyms = load_json("synonyms.json")
    if not isinstance(synonyms, Mapping):
        raise ValueError(f"synonyms must be a dict word -> list of words, got {type(synonyms).__name__}")
    out = {}
    for word, options in synonyms.items():
        if (
            not isinstance(word, str)
            or isinstance(options, str)
            or not isinstance(options, Sequence)
            or not options
            or not all(isinstance(o, str) for o in options)
        ):
            raise ValueError(f"synonyms[{word!r}] must be a non-empty list of strings, got {options!r}")
        out[word] = tuple(options)
    return out


class _Step:
    """One template node, ready for the search."""

    __slots__ = ("kind", "function", "inputs", "params", "ending", "out_neq")

    def __init__(self, kind, function, inputs, params, ending, out_neq):
        self.kind = kind  # "plain", "param", "filter", "relate"
        self.function = function
        self.inputs = inputs
        self.params = params
        self.ending = ending  # "unique"/"count"/"exist"/None for the filter families
        self.out_neq = out_neq  # earlier template nodes whose output must differ from this one's


class _Template:
    """A template compiled for the search."""

    __slots__ = ("key", "text", "steps", "param_types", "nulls", "neq", "domain", "has_relate", "other_pairs")

    def __init__(self, key: tuple[str, int], template: Mapping[str, Any]) -> None:
        where = f"template {key}"
        try:
            self._compile(template)
        except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
            raise ValueError(f"{where} is malformed: {exc}") from None
        self.key = key

    def _compile(self, template: Mapping[str, Any]) -> None:
        text, nodes = template["text"], template["nodes"]
        if isinstance(text, str) or not text or not all(isinstance(t, str) for t in text):
            raise ValueError("'text' must be a non-empty list of strings")
        if not nodes:
            raise ValueError("'nodes' must be a non-empty list")
        self.text = tuple(text)
        self.param_types = {p["name"]: p["type"] for p in template["params"]}
        for name, ptype in self.param_types.items():
            if ptype not in _TYPE_ATTRIBUTE and ptype != "Relation":
                raise ValueError(f"param {name!r} has unknown type {ptype!r}")
        constraints = template.get("constraints", [])
        nulls, neq, out_neq = set(), [], {}
        for c in constraints:
            params = c["params"]
            if c["type"] == "NULL" and len(params) == 1 and params[0] in self.param_types:
                nulls.add(params[0])
            elif c["type"] == "NEQ" and len(params) == 2 and all(p in self.param_types for p in params):
                neq.append(tuple(params))
            elif (
                c["type"] == "OUT_NEQ"
                and len(params) == 2
                and all(type(i) is int and 0 <= i < len(nodes) for i in params)
            ):
                i, j = params
                out_neq.setdefault(max(i, j), []).append(min(i, j))
            else:
                raise ValueError(f"bad constraint {dict(c)!r}")
        self.nulls, self.neq = frozenset(nulls), tuple(neq)
        steps = []
        for k, node in enumerate(nodes):
            function, inputs, params = node["type"], tuple(node.get("inputs", ())), tuple(node.get("side_inputs", ()))
            if function not in _FUNCTIONS:
                raise ValueError(f"node {k} has unknown function {function!r}")
            if any(type(i) is not int or not 0 <= i < k for i in inputs) or len(inputs) != _FUNCTIONS[function][0]:
                raise ValueError(f"node {k} ({function}) has bad inputs {inputs}")
            if len(params) != _FUNCTIONS[function][1] or any(p not in self.param_types for p in params):
                raise ValueError(f"node {k} ({function}) has bad side inputs {params}")
            suffix = function.rpartition("_")[2]
            ending = suffix if suffix in _ENDINGS else None
            if function in _FILTER_FAMILY:
                kind = "filter"
            elif function in _RELATE_FAMILY:
                kind = "relate"
            elif params:
                kind, ending = "param", None
            else:
                kind, ending = "plain", None
            steps.append(_Step(kind, function, inputs, params, ending, tuple(out_neq.get(k, ()))))
        self.steps = tuple(steps)
        self.has_relate = any(s.function == "relate" for s in steps)
        self.domain = _answer_domain(steps[-1].function)
        names = set(self.param_types)
        base = {"<Z>", "<C>", "<M>", "<S>"}
        second = {"<Z2>", "<C2>", "<M2>", "<S2>"}
        self.other_pairs = (
            (("<Z>", "<Z2>"), ("<C>", "<C2>"), ("<M>", "<M2>"), ("<S>", "<S2>")) if names == base | second else ()
        )


def _answer_domain(function: str) -> tuple[str, ...]:
    """The answers a template ending in ``function`` can give, as strings."""
    kind = _TYPE_OF_LAST.get(function)
    if kind in ("exist", "compare_integer", "compare_attribute"):
        return ("yes", "no")
    if kind == "count":
        return tuple(str(i) for i in range(11))
    if kind == "query_attribute":
        return vocabulary().values(function[len("query_") :])
    raise ValueError(f"a template must end in a function that gives an answer, got {function!r}")


@cache
def _compiled(key: tuple[str, int]) -> _Template:
    """A package template compiled for the search (cached: templates are read-only)."""
    (template,) = load_templates([key]).values()
    return _Template(key, template)
