"""Words in, integer ids out: the tokenizer and vocabulary every VQA network shares.

CLEVR questions are lower-cased and split into words and punctuation
(``"Is the big ball red?"`` -> ``["is", "the", "big", "ball", "red", "?"]``).
A :class:`Vocab` maps tokens to ids with four reserved entries (``<PAD>`` 0, ``<START>``
1, ``<END>`` 2, ``<UNK>`` 3); a word never seen in training encodes as ``<UNK>``, so an
unknown word never crashes a model (it may only make its answer worse).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import torch

PAD, START, END, UNK = "<PAD>", "<START>", "<END>", "<UNK>"
SPECIALS: tuple[str, ...] = (PAD, START, END, UNK)

_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-case ``text`` and split it into words and single punctuation marks.

    Args:
        text: a question.

    Returns:
        The tokens, e.g. ``["what", "color", "is", "it", "?"]``.

    Raises:
        TypeError: ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _WORD.findall(text.lower())


class Vocab:
    """A token <-> id table with the reserved tokens of :data:`SPECIALS` first.

    Args:
        tokens: the tokens to index, in order (duplicates and specials are skipped).

    Attributes:
        itos: id -> token.
        stoi: token -> id.
    """

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        self.itos: list[str] = list(SPECIALS)
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        for t in tokens:
            self.add(t)

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_count: int = 1) -> Vocab:
        """A vocabulary of every token seen at least ``min_count`` times, in first-seen order."""
        counts: dict[str, int] = {}
        for seq in sequences:
            for t in seq:
                counts[t] = counts.get(t, 0) + 1
        return cls(t for t, c in counts.items() if c >= min_count)

    def add(self, token: str) -> int:
        """Add ``token`` (if new) and return its id."""
        if not isinstance(token, str):
            raise TypeError(f"token must be a str, got {type(token).__name__}")
        if token not in self.stoi:
            self.stoi[token] = len(self.itos)
            self.itos.append(token)
        return self.stoi[token]

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def encode(self, tokens: Sequence[str], *, start: bool = False, end: bool = False) -> list[int]:
        """Ids of ``tokens`` (unknown ones as ``<UNK>``), optionally framed by ``<START>``/``<END>``."""
        unk = self.stoi[UNK]
        ids = [self.stoi.get(t, unk) for t in tokens]
        return ([self.stoi[START]] if start else []) + ids + ([self.stoi[END]] if end else [])

    def decode(self, ids: Iterable[int], *, strip: bool = True) -> list[str]:
        """Tokens of ``ids``; with ``strip``, stop at ``<END>`` and drop ``<PAD>``/``<START>``."""
        out = []
        for i in ids:
            t = self.itos[int(i)]
            if strip and t == END:
                break
            if strip and t in (PAD, START):
                continue
            out.append(t)
        return out

    def to_dict(self) -> dict[str, list[str]]:
        """A JSON-able form (``{"itos": [...]}``), read back by :meth:`from_dict`."""
        return {"itos": list(self.itos)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[str]]) -> Vocab:
        """The vocabulary written by :meth:`to_dict`.

        Raises:
            ValueError: ``data`` has no ``itos`` list starting with :data:`SPECIALS`.
        """
        itos = list(data.get("itos", ())) if isinstance(data, Mapping) else []
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a Vocab dict needs 'itos' starting with {SPECIALS}, got {itos[:4]!r}")
        return cls(itos[len(SPECIALS) :])


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id sequences into a ``(batch, max_len)`` long tensor.

    Args:
        sequences: id lists (each at least one id).
        pad_id: the padding id.

    Returns:
        ``(ids, lengths)``: the padded ids and each sequence's length.

    Raises:
        ValueError: no sequences, or an empty one.
    """
    if not sequences:
        raise ValueError("sequences must hold at least one sequence")
    lengths = [len(s) for s in sequences]
    if min(lengths) == 0:
        raise ValueError("every sequence needs at least one id")
    out = torch.full((len(sequences), max(lengths)), pad_id, dtype=torch.long)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return out, torch.as_tensor(lengths, dtype=torch.long)
