"""Hybrid ranking: fuse dense (embedding) and lexical (BM25) evidence into one list of documents.

Both lists are first collapsed to documents (a document's rank is that of its best chunk), then fused
with reciprocal rank fusion. An identifier in the query (``ProvisionedThroughputExceededException``,
``ERR_CERT_DATE_INVALID``, ``OOMKilled``) found verbatim in a document puts that document first:
an exact error name is the strongest evidence an on-call engineer can type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.chunks import Chunk
from knowledge.lexical import tokenize

RRF_K = 20  # small: with tens of documents, rank 1 vs rank 5 should matter
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 0.8
EXACT_BONUS = 1.0
COVERAGE_POWER = 2.0
SNIPPET_CHARS = 320

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.:-]{6,}")


@dataclass
class DocEvidence:
    doc_id: str
    dense_chunk: str | None = None
    dense_score: float = float("-inf")
    lexical_chunk: str | None = None
    lexical_score: float = 0.0
    coverage: float = 0.0
    exact_terms: list[str] = field(default_factory=list)
    exact_chunk: str | None = None
    fused: float = 0.0


def identifiers_in(query: str) -> list[str]:
    """Words that look like code names: CamelCase with 2+ humps, snake/SCREAMING_CASE, or with digits."""
    found = []
    for word in _IDENTIFIER.findall(query):
        word = word.strip(".:-")
        humps = len(re.findall(r"[A-Z][a-z]", word))
        if humps >= 2 or "_" in word or (re.search(r"\d", word) and re.search(r"[A-Za-z]", word)):
            found.append(word)
    return found


def fuse(
    chunks: dict[str, Chunk],
    dense: dict[str, float],
    lexical: dict[str, tuple[float, float]],
    query: str,
) -> list[DocEvidence]:
    """Documents ordered best first from chunk-level dense similarities and lexical scores."""
    evidence: dict[str, DocEvidence] = {}
    for chunk_id, score in dense.items():
        chunk = chunks.get(chunk_id)
        if chunk is None:
            continue
        item = evidence.setdefault(chunk.doc_id, DocEvidence(chunk.doc_id))
        if score > item.dense_score:
            item.dense_score, item.dense_chunk = score, chunk_id
    for chunk_id, (score, coverage) in lexical.items():
        chunk = chunks.get(chunk_id)
        if chunk is None:
            continue
        item = evidence.setdefault(chunk.doc_id, DocEvidence(chunk.doc_id))
        if score > item.lexical_score:
            item.lexical_score, item.lexical_chunk, item.coverage = score, chunk_id, coverage

    dense_order = sorted((e for e in evidence.values() if e.dense_chunk), key=lambda e: -e.dense_score)
    lexical_order = sorted((e for e in evidence.values() if e.lexical_chunk), key=lambda e: -e.lexical_score)
    for rank, item in enumerate(dense_order, start=1):
        item.fused += DENSE_WEIGHT / (RRF_K + rank)
    for rank, item in enumerate(lexical_order, start=1):
        # Weighted by coverage: sharing one incidental word with the query is weak evidence.
        item.fused += LEXICAL_WEIGHT * item.coverage**COVERAGE_POWER / (RRF_K + rank)

    names = identifiers_in(query)
    if names:
        # Any chunk holding an identifier verbatim shares tokens with the query, so it is in ``lexical``.
        for chunk_id in sorted(lexical, key=lambda c: -lexical[c][0]):
            chunk = chunks.get(chunk_id)
            if chunk is None:
                continue
            lowered = chunk.text.lower()
            found = [n for n in names if n.lower() in lowered]
            item = evidence[chunk.doc_id]
            if len(found) > len(item.exact_terms):
                item.exact_terms, item.exact_chunk = found, chunk_id
        for item in evidence.values():
            if item.exact_terms:
                item.fused += EXACT_BONUS * len(item.exact_terms) / len(names)
    return sorted(evidence.values(), key=lambda e: (-e.fused, e.doc_id))


def best_chunk(item: DocEvidence) -> str:
    """The chunk to show: the lexical one when it carries the exact name, else the closest in meaning."""
    if item.exact_chunk:
        return item.exact_chunk
    return item.dense_chunk or item.lexical_chunk or ""


def snippet(chunk: Chunk, query: str, limit: int = SNIPPET_CHARS) -> str:
    """The part of a chunk's body nearest the first query term it contains, cut to ``limit`` characters."""
    body = chunk.body
    terms = set(tokenize(query))
    start = 0
    lines = body.splitlines(keepends=True)
    offset = 0
    for line in lines:
        if terms & set(tokenize(line)):
            start = offset
            break
        offset += len(line)
    if len(body) - start < limit:
        start = max(0, len(body) - limit)
        newline = body.rfind("\n", 0, start)
        start = newline + 1 if start and newline >= 0 else start
    text = " ".join(body[start : start + limit].split())
    prefix = "… " if start else ""
    suffix = " …" if start + limit < len(body) else ""
    return prefix + text + suffix
