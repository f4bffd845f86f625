"""The evidence a report may cite: the investigation's own, plus what the drafter measures itself.

Every claim in a report cites ids from this book. Evidence the drafter adds (failed-request counts,
per-host traffic shares, recovery time) gets ``rep-N`` ids and a ``source_query`` naming the backend
call that reproduces it, exactly like the engine's evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from mcp_server.analysis.models import Evidence, EvidenceKind, Hypothesis, InvestigationResult


class EvidenceBook:
    def __init__(self, result: InvestigationResult) -> None:
        self._items: dict[str, Evidence] = {}
        self._hypothesis_ids: dict[int, list[str]] = {}
        self._counter = 0
        for item in result.evidence:
            self._keep(item)
        for hypothesis in result.hypotheses:
            self._hypothesis_ids[hypothesis.rank] = [self._keep(item) for item in hypothesis.evidence]

    def _keep(self, item: Evidence) -> str:
        if item.id and item.id in self._items:
            return item.id
        if not item.id:
            existing = next(
                (
                    e.id
                    for e in self._items.values()
                    if e.model_dump(exclude={"id"}) == item.model_dump(exclude={"id"})
                ),
                None,
            )
            if existing:
                return existing
            item = item.model_copy(update={"id": self._next_id("ev-auto")})
        self._items[item.id] = item
        return item.id

    def _next_id(self, prefix: str) -> str:
        while True:
            self._counter += 1
            candidate = f"{prefix}-{self._counter}"
            if candidate not in self._items:
                return candidate

    def add(
        self,
        kind: EvidenceKind,
        description: str,
        *,
        source_query: str,
        service: str | None = None,
        time: datetime | None = None,
        value: float | None = None,
        baseline: float | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> str:
        """Record a fact the drafter measured; returns its id."""
        item = Evidence(
            id=self._next_id("rep"),
            kind=kind,
            service=service,
            description=description,
            time=time,
            value=value,
            baseline=baseline,
            source_query=source_query,
            attributes=attributes or {},
        )
        self._items[item.id] = item
        return item.id

    def get(self, evidence_id: str) -> Evidence | None:
        return self._items.get(evidence_id)

    def hypothesis_ids(self, hypothesis: Hypothesis) -> list[str]:
        return list(self._hypothesis_ids.get(hypothesis.rank, []))

    def find(
        self,
        kinds: Iterable[EvidenceKind],
        *,
        service: str | None = None,
        within: Iterable[str] | None = None,
        limit: int = 3,
    ) -> list[str]:
        """Ids of evidence of the given kinds (optionally about one service), best-cited first."""
        wanted = set(kinds)
        pool = list(within) if within is not None else list(self._items)
        found = [
            evidence_id
            for evidence_id in pool
            if (item := self._items.get(evidence_id)) is not None
            and item.kind in wanted
            and (service is None or item.service in (service, None))
        ]
        return found[:limit]

    def about(self, kind: EvidenceKind, text: str, limit: int = 1) -> list[str]:
        """Ids of evidence of ``kind`` whose description mentions ``text`` (e.g. an alarm's name)."""
        found = [e.id for e in self._items.values() if e.kind == kind and text in e.description]
        return found[:limit]

    def items(self, cited: set[str] | None = None) -> list[Evidence]:
        """All evidence, or only the cited ids, in the order recorded."""
        return [e for e in self._items.values() if cited is None or e.id in cited]
