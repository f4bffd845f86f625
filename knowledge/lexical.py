"""Lexical scoring (Okapi BM25) so exact names such as ``ProvisionedThroughputExceededException`` hit.

Tokens are lower-cased words; an identifier written in CamelCase or snake_case also yields its parts
(``provisioned``, ``throughput``...), so both the exact name and a paraphrase of it match. A light
suffix stripper folds ``throttled``/``throttling``/``throttles`` together.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+(?:\.\d+)?")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SUFFIXES = ("ations", "ation", "ing", "ies", "ed", "es", "s", "e", "y")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "this",
        "to",
        "too",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


def stem(word: str) -> str:
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for raw in _TOKEN.findall(text.replace("_", " ")):
        lower = raw.lower()
        parts = _CAMEL.findall(raw) if not raw.islower() and not raw.isupper() else []
        if len(parts) > 1:
            tokens.append(lower)  # the whole identifier, unstemmed: an exact name is a strong signal
            tokens.extend(stem(p.lower()) for p in parts if p.lower() not in STOPWORDS)
        elif lower not in STOPWORDS:
            tokens.append(stem(lower))
    return tokens


class Bm25Index:
    """An in-memory BM25 index over keyed texts; small enough to rebuild whenever the store changes."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._lengths: dict[str, int] = {}
        self._postings: dict[str, dict[str, int]] = {}

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, key: str, text: str) -> None:
        self.remove(key)
        counts = Counter(tokenize(text))
        self._lengths[key] = sum(counts.values())
        for term, count in counts.items():
            self._postings.setdefault(term, {})[key] = count

    def remove(self, key: str) -> None:
        if self._lengths.pop(key, None) is None:
            return
        for term in list(self._postings):
            posting = self._postings[term]
            if posting.pop(key, None) is not None and not posting:
                del self._postings[term]

    def add_many(self, items: Iterable[tuple[str, str]]) -> None:
        for key, text in items:
            self.add(key, text)

    def score(self, query: str, allowed: set[str] | None = None) -> dict[str, float]:
        """BM25 score of every key sharing a term with the query (restricted to ``allowed`` if given)."""
        return {key: value for key, (value, _) in self.score_with_coverage(query, allowed).items()}

    def score_with_coverage(
        self, query: str, allowed: set[str] | None = None
    ) -> dict[str, tuple[float, float]]:
        """BM25 score and coverage per key: the idf-weighted share of the query's terms the text holds.

        Coverage tells a match on the query's point from a match on one incidental word. A query term
        found nowhere counts as unmatched, with the idf of a term seen once.
        """
        n = len(self._lengths)
        if n == 0:
            return {}
        average = sum(self._lengths.values()) / n
        scores: dict[str, float] = {}
        matched: dict[str, float] = {}
        total_idf = 0.0
        for term in set(tokenize(query)):
            posting = self._postings.get(term, {})
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            total_idf += idf
            for key, tf in posting.items():
                if allowed is not None and key not in allowed:
                    continue
                norm = tf + self.k1 * (1 - self.b + self.b * self._lengths[key] / average)
                scores[key] = scores.get(key, 0.0) + idf * tf * (self.k1 + 1) / norm
                matched[key] = matched.get(key, 0.0) + idf
        return {key: (value, matched[key] / total_idf) for key, value in scores.items()}
