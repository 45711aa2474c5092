"""Delexicalisation and augmentation for NS-VQA's question parser (:mod:`hybrid.neural.vqa.question_parser`).

**Sample efficiency by delexicalisation** (anonymisation, a standard semantic-parsing
technique). CLEVR's questions come from 90 templates whose placeholders are filled with
attribute values; a network that must learn every value in every template position needs
many annotated programs. So before encoding, the question is rewritten with a
:class:`Lexicon`:

1. *canonical words*: synonyms become one canonical word, longest phrase first (``ball`` ->
   ``sphere``, ``shiny``/``metallic`` -> ``metal``, ``object`` -> ``thing``, ``to the left
   of``/``on the left side of``/``left of`` -> ``left``, ``in front of`` -> ``front``);
   plurals read as singulars (``blocks`` -> ``cube``, ``objects`` -> ``thing``: number carries
   no program information in CLEVR), and ``how big`` is left alone;
2. *slots*: each attribute-value word (colour, shape, size, material, relation) becomes a
   placeholder numbered per category in order of first occurrence of each distinct value:
   ``"the big red ball left of the red cube"`` -> ``"the <size0> <color0> <shape0>
   <relation0> the <color0> <shape1>"``.

The target tokens' values are rewritten with the same placeholders (``filter_color[red]`` ->
``filter_color[<color0>]``); a value the question does not mention (rare) stays literal. The
network then learns each template once rather than once per value combination, and after
decoding the placeholders are mapped back to the question's values (:func:`relexicalize`).

**Augmentation** (:func:`augment`), since 3 examples of a template cannot show every subset
of its optional words: in each epoch an example may be replaced by a variant with some
optional values left out (a colour word and its ``filter_color[<color0>]`` token go; a shape
word becomes ``thing``) or with two placeholders of a category merged into one (as when two
values are equal). Both are exact rewrites of (question, program) pairs that use only the
``[values]`` format of tokens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hybrid.neural.vqa.text import tokenize

_TOKEN = re.compile(r"^([^\[\]]*)\[([^\[\]]*)\]$")
_PLACEHOLDER = re.compile(r"^<([a-z_]+)(\d+)>$")


# ============================================================================ lexicon


@dataclass(frozen=True)
class Lexicon:
    """The words delexicalisation knows: synonym phrases, attribute values, optional words.

    Attributes:
        synonyms: ``phrase -> canonical words`` (space-separated tokens, e.g. ``"to the left
            of" -> "left"``, ``"balls" -> "sphere"``); matched longest first, left to right,
            the output not matched again (so ``"how big" -> "how big"`` shields a word).
        values: ``canonical word -> (category, value)`` for every word that names a value,
            e.g. ``"red" -> ("color", "red")``.
        blanks: the categories whose words are optional in a description, each with the
            word that stands in when the value is left out (``""``: none), e.g. ``{"color":
            "", "shape": "thing"}``. Used by training-time augmentation (see
            :meth:`QuestionParser.fit`).
    """

    synonyms: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    blanks: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def clevr(cls) -> Lexicon:
        """CLEVR's lexicon: ``synonyms.json``, the scene vocabulary, plurals read as singulars.

        Number carries no program information in CLEVR's templates, so ``"balls"`` and
        ``"objects"`` become ``"sphere"`` and ``"thing"``. Colour, size, material and shape
        words are optional in a description (an absent shape reads ``"thing"``). ``"how
        big"`` (CLEVR's "how big is it?") is kept as it is: that ``big`` names no value.
        """
        from hybrid.tasks.clevr.scene import RELATIONS, load_json, vocabulary

        voc = vocabulary()
        synonyms = load_json("synonyms.json")
        syn: dict[str, str] = {}
        for canonical, phrases in synonyms.items():
            for phrase in [canonical, *phrases]:
                key = " ".join(tokenize(phrase))
                if key and key != canonical:
                    syn[key] = canonical
        for canonical in [*voc.shapes, "thing"]:
            for phrase in {canonical, *synonyms.get(canonical, ())}:
                if " " not in phrase:
                    syn[phrase + "s"] = canonical
        syn["how big"] = "how big"
        values: dict[str, tuple[str, str]] = {}
        for category, words in (
            ("color", voc.colors),
            ("shape", voc.shapes),
            ("size", voc.sizes),
            ("material", voc.materials),
            ("relation", RELATIONS),
        ):
            for w in words:
                values[w] = (category, w)
        blanks = {"color": "", "size": "", "material": "", "shape": "thing"}
        return cls(synonyms=syn, values=values, blanks=blanks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able (and ``torch.load(weights_only=True)``-able) form, read by :meth:`from_dict`."""
        return {
            "synonyms": [[k, v] for k, v in self.synonyms.items()],
            "values": [[k, c, v] for k, (c, v) in self.values.items()],
            "blanks": [[k, v] for k, v in self.blanks.items()],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lexicon:
        """The lexicon written by :meth:`to_dict`.

        Raises:
            ValueError: ``data`` is not in that form.
        """
        try:
            syn = {str(k): str(v) for k, v in data["synonyms"]}
            values = {str(k): (str(c), str(v)) for k, c, v in data["values"]}
            blanks = {str(k): str(v) for k, v in data.get("blanks", ())}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"data must be a Lexicon dict (synonyms, values), got {type(data).__name__}") from exc
        return cls(synonyms=syn, values=values, blanks=blanks)

    def canonical(self, words: Sequence[str]) -> list[str]:
        """``words`` with every synonym phrase replaced by its canonical words (longest match first)."""
        longest = max((k.count(" ") + 1 for k in self.synonyms), default=1)
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(longest, len(words) - i), 0, -1):
                repl = self.synonyms.get(" ".join(words[i : i + n]))
                if repl is not None:
                    out.extend(repl.split())
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return out


def split_token(token: str) -> tuple[str, list[str]]:
    """``"relate[left]"`` -> ``("relate", ["left"])``; a token without values gives ``(token, [])``."""
    m = _TOKEN.match(token)
    if m is None:
        return token, []
    return m.group(1), m.group(2).split(",")


def _join_token(name: str, values: Sequence[str]) -> str:
    return f"{name}[{','.join(values)}]" if values else name


def delexicalize(question: str, lexicon: Lexicon) -> tuple[list[str], dict[str, str]]:
    """Tokenize ``question``, canonicalise synonyms and replace attribute values by placeholders.

    Args:
        question: the question text.
        lexicon: the words to replace (e.g. :meth:`Lexicon.clevr`).

    Returns:
        ``(words, slots)``: the delexicalised words and ``placeholder -> value``, e.g.
        ``(["is", "the", "<shape0>", "<color0>", "?"], {"<shape0>": "sphere", "<color0>": "red"})``.
    """
    words = lexicon.canonical(tokenize(question))
    slots: dict[str, str] = {}
    by_value: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}
    out = []
    for w in words:
        hit = lexicon.values.get(w)
        if hit is None:
            out.append(w)
            continue
        if hit not in by_value:
            category, value = hit
            k = counts.get(category, 0)
            counts[category] = k + 1
            by_value[hit] = f"<{category}{k}>"
            slots[by_value[hit]] = value
        out.append(by_value[hit])
    return out, slots


def delexicalize_program(tokens: Sequence[str], slots: Mapping[str, str]) -> list[str]:
    """Replace each token value that ``slots`` holds by its placeholder (the first, if several).

    Args:
        tokens: program tokens, e.g. ``["exist", "filter_color[red]", "scene"]``.
        slots: ``placeholder -> value``, as :func:`delexicalize` gives.

    Returns:
        The tokens with placeholders, e.g. ``["exist", "filter_color[<color0>]", "scene"]``.
    """
    inverse: dict[str, str] = {}
    for ph, value in slots.items():
        inverse.setdefault(value, ph)
    out = []
    for t in tokens:
        name, values = split_token(t)
        out.append(_join_token(name, [inverse.get(v, v) for v in values]))
    return out


def relexicalize(tokens: Sequence[str], slots: Mapping[str, str]) -> list[str]:
    """Replace placeholders in the tokens' values by the question's values (the inverse of
    :func:`delexicalize_program`); a placeholder ``slots`` lacks stays as it is."""
    out = []
    for t in tokens:
        name, values = split_token(t)
        out.append(_join_token(name, [slots.get(v, v) for v in values]))
    return out


def _renumber(words: list[str], target: list[str]) -> tuple[list[str], list[str]]:
    """Placeholders renumbered per category in order of first occurrence in ``words``."""
    mapping: dict[str, str] = {}
    counts: dict[str, int] = {}
    for w in words:
        m = _PLACEHOLDER.match(w)
        if m and w not in mapping:
            k = counts.get(m.group(1), 0)
            counts[m.group(1)] = k + 1
            mapping[w] = f"<{m.group(1)}{k}>"
    words = [mapping.get(w, w) for w in words]
    target = [_join_token(n, [mapping.get(v, v) for v in vals]) for n, vals in map(split_token, target)]
    return words, target


def augment(
    words: Sequence[str],
    target: Sequence[str],
    blanks: Mapping[str, str],
    rng: np.random.Generator,
    p: float = 0.5,
    p_merge: float = 0.3,
) -> tuple[list[str], list[str]]:
    """A new, consistent delexicalised (question, program) pair from an annotated one.

    Two rewrites, each valid for any question the delexicaliser could have produced, and
    each using only the ``[values]`` format of tokens:

    * *drop*: a placeholder qualifies when its category is in ``blanks``, it occurs once in
      ``words`` and once in ``target``, in a token whose only value it is
      (``filter_color[<color0>]``); each qualifying one is dropped with probability ``p``:
      its word becomes ``blanks[category]`` (or goes) and its token goes. "the <size0>
      <color0> <shape0>" with ``filter_shape[<shape0>]``, ``filter_color[<color0>]``,
      ``filter_size[<size0>]`` may become "the <size0> thing" with ``filter_size[<size0>]``.
    * *merge*: with probability ``p_merge``, two placeholders of one category become one,
      everywhere (what the question and program read when the two values are equal), so
      the network sees repeated values in every position.

    Placeholders are then renumbered per category in order of first occurrence.

    Args:
        words: delexicalised question words (see :func:`delexicalize`).
        target: delexicalised program tokens (see :func:`delexicalize_program`).
        blanks: optional categories and their stand-in words (:attr:`Lexicon.blanks`).
        rng: the random generator.
        p: the probability of dropping each qualifying placeholder.
        p_merge: the probability of merging two placeholders of a category.

    Returns:
        ``(words, target)``, possibly unchanged.
    """
    in_words: dict[str, int] = {}
    for w in words:
        if _PLACEHOLDER.match(w):
            in_words[w] = in_words.get(w, 0) + 1
    carriers: dict[str, list[int]] = {}
    alone: set[str] = set()
    for i, t in enumerate(target):
        vals = split_token(t)[1]
        for v in vals:
            if _PLACEHOLDER.match(v):
                carriers.setdefault(v, []).append(i)
        if len(vals) == 1:
            alone.add(vals[0])
    drop = {
        ph
        for ph, n in in_words.items()
        if n == 1
        and ph in alone
        and len(carriers.get(ph, ())) == 1
        and _PLACEHOLDER.match(ph).group(1) in blanks
        and rng.random() < p
    }
    new_words = []
    for w in words:
        if w in drop:
            stand_in = blanks[_PLACEHOLDER.match(w).group(1)]
            if stand_in:
                new_words.append(stand_in)
        else:
            new_words.append(w)
    gone = {carriers[ph][0] for ph in drop}
    new_target = [t for i, t in enumerate(target) if i not in gone]
    if rng.random() < p_merge:
        by_category: dict[str, list[str]] = {}
        for ph in dict.fromkeys(w for w in new_words if _PLACEHOLDER.match(w)):
            by_category.setdefault(_PLACEHOLDER.match(ph).group(1), []).append(ph)
        pairs = [phs for phs in by_category.values() if len(phs) >= 2]
        if pairs:
            phs = pairs[int(rng.integers(len(pairs)))]
            keep, gone_ph = (phs[j] for j in rng.choice(len(phs), size=2, replace=False))
            new_words = [keep if w == gone_ph else w for w in new_words]
            new_target = [
                _join_token(n, [keep if v == gone_ph else v for v in vals]) for n, vals in map(split_token, new_target)
            ]
    if new_words == list(words) and new_target == list(target):
        return list(words), list(target)
    return _renumber(new_words, new_target)


def _present(words: Sequence[str]) -> dict[str, str]:
    """The placeholders among ``words`` (as a slots-like mapping)."""
    return {w: "" for w in words if _PLACEHOLDER.match(w)}
