"""Context optimisation: semantic tool search and most-used-first ordering.

An agent facing hundreds of tools should see the few that matter. :class:`ToolIndex`
ranks tools by TF-IDF similarity of a task description to each tool's name,
description, labels and category (word 1–2-grams plus character n-grams, so
``restart_cell`` matches "restart the cell" and "outage" matches "outages").
:class:`UsageCounter` remembers which tools each client calls, so listings can
put its habitual tools first.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer


class Describable(Protocol):
    """What a tool must tell to be found (:class:`netmcp.registry.ToolDescriptor` does)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def labels(self) -> Sequence[str]: ...

    @property
    def category(self) -> str: ...


def words(text: str) -> str:
    """``text`` in lower case with identifiers split into words.

    >>> words("restart_cell, getEntityKPIs")
    'restart cell, get entity kpis'
    """
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return re.sub(r"[_\-./]+", " ", text).lower()


def tool_text(tool: Describable) -> str:
    """The text a tool is searched by: its name in words, description, labels and category."""
    return " ".join([words(tool.name), tool.description, *tool.labels, tool.category])


class _Vectoriser:
    """Word and character TF-IDF; the mean of the two cosines scores a pair of texts in [0, 1]."""

    def __init__(self, corpus: Sequence[str]) -> None:
        self._parts = [
            TfidfVectorizer(preprocessor=words, token_pattern=r"(?u)\b\w+\b", ngram_range=(1, 2),
                            sublinear_tf=True),
            TfidfVectorizer(preprocessor=words, analyzer="char_wb", ngram_range=(3, 5),
                            sublinear_tf=True),
        ]
        for part in self._parts:
            part.fit(corpus)

    def transform(self, texts: Sequence[str]) -> list[Any]:
        """One L2-normalised sparse matrix per part, a row per text."""
        return [part.transform(texts) for part in self._parts]

    @staticmethod
    def similarity(rows: list[Any], columns: list[Any]) -> np.ndarray:
        """Rows × columns scores in [0, 1]."""
        total = sum((r @ c.T).toarray() for r, c in zip(rows, columns, strict=True))
        return np.clip(np.asarray(total) / len(rows), 0.0, 1.0)


def text_similarity(a: str, b: str) -> float:
    """Similarity of two texts in [0, 1] under TF-IDF fitted on the pair.

    >>> text_similarity("restart a cell", "restart the cell") > text_similarity("restart a cell", "UPF")
    True
    """
    if not (a.strip() and b.strip()):
        return 0.0
    vectoriser = _Vectoriser([a, b])
    return float(vectoriser.similarity(vectoriser.transform([a]), vectoriser.transform([b]))[0, 0])


class ToolIndex:
    """Ranks tools by relevance to a task described in words.

    Parameters
    ----------
    tools
        The tools to search; a name that occurs twice is indexed once (the first).

    Examples
    --------
    >>> from netmcp.registry import ToolDescriptor
    >>> index = ToolIndex([
    ...     ToolDescriptor(name="restart_cell", description="Restart a cell that is down."),
    ...     ToolDescriptor(name="scale_upf", description="Add UPF capacity under load.")])
    >>> index.search("cell down", k=1)[0][0]
    'restart_cell'
    """

    def __init__(self, tools: Iterable[Describable]) -> None:
        unique = {t.name: t for t in reversed(list(tools))}
        self.names: list[str] = sorted(unique)
        texts = [tool_text(unique[n]) for n in self.names]
        self._vectoriser = _Vectoriser(texts) if texts else None
        self._matrix = self._vectoriser.transform(texts) if self._vectoriser else []

    def search(self, query: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` tools most relevant to ``query``, best first, as ``(name, score in [0, 1])``.

        Equal scores keep name order, so the answer is deterministic.
        """
        if self._vectoriser is None or not query.strip() or k <= 0:
            return []
        scores = self._vectoriser.similarity(self._matrix, self._vectoriser.transform([query])).ravel()
        best = np.argsort(-scores, kind="stable")[:k]
        return [(self.names[i], round(float(scores[i]), 6)) for i in best]


class UsageCounter:
    """Per-client tool call counts, for listing a client's most-used tools first.

    Memory is bounded: at most ``max_clients`` clients (least recently recording
    forgotten first), each with at most ``max_tools`` distinct tools counted.

    Examples
    --------
    >>> usage = UsageCounter()
    >>> for tool in ["b", "c", "c"]:
    ...     usage.record("agent-1", tool)
    >>> usage.order("agent-1", ["a", "b", "c", "d"])
    ['c', 'b', 'a', 'd']
    """

    def __init__(self, *, max_clients: int = 1000, max_tools: int = 1000) -> None:
        self.max_clients, self.max_tools = max_clients, max_tools
        self._counts: OrderedDict[str, Counter[str]] = OrderedDict()

    def record(self, client_id: str, tool: str) -> None:
        """Count one call of ``tool`` by ``client_id``."""
        counts = self._counts.pop(client_id, None) or Counter()
        if tool in counts or len(counts) < self.max_tools:
            counts[tool] += 1
        self._counts[client_id] = counts
        while len(self._counts) > self.max_clients:
            self._counts.popitem(last=False)

    def order(self, client_id: str, names: Sequence[str]) -> list[str]:
        """``names``, the client's most-called first; ties (and unknown clients) keep the given order."""
        counts = self._counts.get(client_id)
        if not counts:
            return list(names)
        return sorted(names, key=lambda n: -counts[n])

    def __len__(self) -> int:
        """How many clients are remembered."""
        return len(self._counts)
