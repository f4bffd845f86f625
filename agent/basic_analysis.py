"""A small rule-based analysis over the backend protocol, used when the analysis engine is absent.

It answers the first questions of every investigation (where do errors originate, what changed,
which SLOs breach, which alarms fired) with plain backend queries and simple rules. The engine
(``mcp_server.analysis.engine``) supersedes it; :func:`agent.analysis.default_analysis` picks the
engine whenever it is importable.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from agent.analysis import number_evidence
from agent.state import Scope, Source, SourceFindings
from mcp_server.analysis.models import (
    Evidence,
    EvidenceKind,
    Hypothesis,
    KnowledgeRef,
    Mitigation,
    MitigationKind,
)
from mcp_server.analysis.slos import evaluate_slos
from mcp_server.analysis.taxonomy import FaultType
from mcp_server.backends.base import LogQuery, TelemetryBackend
from mcp_server.errors import SleuthError
from mcp_server.scenario import ScenarioSpec, Trigger
from mcp_server.telemetry import AlarmState, ChangeKind, Severity, TimeWindow

_FAULT_WORDS: list[tuple[re.Pattern[str], FaultType]] = [
    (re.compile(r"throttl|rate exceeded|throughputexceeded|exceeds the allowed throughput|too many requests|\b429\b", re.I),
     FaultType.DEPENDENCY_THROTTLING),
    (re.compile(r"certificate|x509|ssl|tls handshake", re.I), FaultType.CERTIFICATE_EXPIRY),
    (re.compile(r"pool|acquire connection", re.I), FaultType.CONNECTION_POOL_EXHAUSTION),
    (re.compile(r"timed? ?out|deadline exceeded", re.I), FaultType.DOWNSTREAM_TIMEOUT_RETRY_STORM),
    (re.compile(r"out of memory|oom|heap", re.I), FaultType.MEMORY_LEAK),
]  # fmt: skip
_LOG_SAMPLE = 500


class BasicAnalysis:
    name = "basic"
    sources: tuple[Source, ...] = (Source.TRACES, Source.LOGS, Source.CHANGES, Source.SLOS_ALARMS)

    def scope(
        self,
        backend: TelemetryBackend,
        spec: ScenarioSpec | None,
        trigger: Trigger,
        window: TimeWindow | None,
    ) -> Scope:
        chosen = window or (spec.window if spec else None) or backend.time_range()
        if chosen is None:
            raise SleuthError("the backend holds no telemetry: import a scenario first (sleuth data import)")
        return Scope(
            question=trigger.text,
            symptom=trigger.text,
            services=[trigger.service] if trigger.service else [],
            window=chosen,
            known_services=backend.list_services(),
        )

    def gather(self, source: Source, backend: TelemetryBackend, scope: Scope) -> SourceFindings:
        evidence: list[Evidence] = []
        if source is Source.TRACES:
            for origin in backend.error_origins(scope.window, limit=20):
                where = f" calling {origin.peer}" if origin.peer else ""
                evidence.append(
                    Evidence(
                        kind=EvidenceKind.ERROR_ORIGIN,
                        service=origin.service,
                        description=f"{origin.count} errors originate in {origin.service} {origin.operation}{where}: "
                        f"{origin.sample_exception or origin.sample_message}"[:300],
                        time=origin.first_seen,
                        value=float(origin.count),
                        source_query=f"error_origins(service={origin.service!r})",
                        attributes={
                            "operation": origin.operation,
                            "peer": origin.peer,
                            "hosts": origin.hosts,
                            "message": origin.sample_message,
                            "exception": origin.sample_exception,
                        },
                    )
                )
        elif source is Source.LOGS:
            query = LogQuery(window=scope.window, min_severity=Severity.ERROR, limit=_LOG_SAMPLE)
            by_service: dict[str, Counter[str]] = defaultdict(Counter)
            for record in backend.query_logs(query):
                by_service[record.service][re.sub(r"\d+", "N", record.body)[:160]] += 1
            for service, patterns in sorted(by_service.items()):
                text, count = patterns.most_common(1)[0]
                evidence.append(
                    Evidence(
                        kind=EvidenceKind.LOG_PATTERN,
                        service=service,
                        description=f"{sum(patterns.values())} error logs in {service}; most common: {text}",
                        value=float(count),
                        source_query=f"query_logs(service={service!r}, min_severity='ERROR')",
                    )
                )
        elif source is Source.CHANGES:
            for change in backend.list_changes(scope.window):
                evidence.append(
                    Evidence(
                        kind=EvidenceKind.CHANGE,
                        service=change.service,
                        description=f"{change.kind.value} of {change.service} {change.version or ''} "
                        f"{change.description}".strip(),
                        time=change.time,
                        source_query=f"list_changes(service={change.service!r})",
                        attributes={"change_kind": change.kind.value, "version": change.version},
                    )
                )
        elif source is Source.SLOS_ALARMS:
            for status in evaluate_slos(backend, scope.window):
                if status.breaching:
                    evidence.append(
                        Evidence(
                            kind=EvidenceKind.SLO,
                            service=status.definition.service,
                            description=f"SLO {status.definition.name} breaching: attainment "
                            f"{status.attainment:.4f} against goal {status.definition.goal}",
                            value=status.attainment,
                            baseline=status.definition.goal,
                            source_query=f"get_slo(name={status.definition.name!r})",
                        )
                    )
            for alarm in backend.list_alarms(AlarmState.ALARM):
                evidence.append(
                    Evidence(
                        kind=EvidenceKind.ALARM,
                        service=alarm.service,
                        description=f"alarm {alarm.name} in ALARM: {alarm.state_reason or alarm.description}",
                        source_query=f"get_alarm_history(name={alarm.name!r})",
                    )
                )
        return SourceFindings(source=source, evidence=number_evidence(source, evidence))

    def rank(self, scope: Scope, findings: list[SourceFindings]) -> list[Hypothesis]:
        evidence = [ev for f in findings for ev in f.evidence]
        origins = [ev for ev in evidence if ev.kind is EvidenceKind.ERROR_ORIGIN]
        total = sum(ev.value or 0.0 for ev in origins) or 1.0
        scores: dict[str, float] = defaultdict(float)
        for ev in origins:
            scores[ev.service or ""] += (ev.value or 0.0) / total
        for ev in evidence:
            if ev.kind is EvidenceKind.CHANGE and ev.service in scores:
                scores[ev.service or ""] += 0.3
        hypotheses: list[Hypothesis] = []
        for service, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])):
            cited = [ev for ev in evidence if ev.service == service]
            fault = self._fault_type(cited)
            top = max(
                (ev for ev in cited if ev.kind is EvidenceKind.ERROR_ORIGIN), key=lambda e: e.value or 0.0
            )
            hypotheses.append(
                Hypothesis(
                    rank=len(hypotheses) + 1,
                    service=service,
                    fault_type=fault,
                    confidence=round(min(0.95, 0.2 + 0.6 * min(score, 1.0)), 3),
                    summary=f"{fault.value.replace('_', ' ')} in {service}: {top.description}"[:300],
                    onset=top.time,
                    evidence=cited[:8],
                    scores={"error_share": round(score, 3)},
                )
            )
        return hypotheses

    @staticmethod
    def _fault_type(evidence: list[Evidence]) -> FaultType:
        text = " ".join(
            str(ev.attributes.get("message", "")) + " " + str(ev.attributes.get("exception", ""))
            for ev in evidence
            if ev.kind is EvidenceKind.ERROR_ORIGIN
        )
        for pattern, fault in _FAULT_WORDS:
            if pattern.search(text):
                return fault
        kinds = {ev.attributes.get("change_kind") for ev in evidence if ev.kind is EvidenceKind.CHANGE}
        if ChangeKind.DEPLOYMENT.value in kinds:
            return FaultType.BAD_DEPLOYMENT
        if kinds & {ChangeKind.CONFIG.value, ChangeKind.FEATURE_FLAG.value}:
            return FaultType.CONFIG_CHANGE
        return FaultType.ERROR_EXCEPTION

    def mitigate(
        self,
        scope: Scope,
        hypotheses: list[Hypothesis],
        findings: list[SourceFindings],
        knowledge: list[KnowledgeRef],
    ) -> list[Mitigation]:
        if not hypotheses:
            return []
        top = hypotheses[0]
        changes = [
            ev
            for f in findings
            for ev in f.evidence
            if ev.kind is EvidenceKind.CHANGE and ev.service == top.service
        ]
        sop = next((k.doc_id for k in knowledge if k.doc_type == "sop"), None)
        steps = [
            Mitigation(
                order=1,
                kind=MitigationKind.ROLLBACK,
                action=f"roll back {top.service} to the version before {changes[-1].description}"
                if changes
                else f"nothing to roll back: no change to {top.service} in the window",
                target=top.service,
                applicable=bool(changes),
                risk="low: returns to a known-good version" if changes else "",
                sop=sop,
            ),
            Mitigation(
                order=2,
                kind=MitigationKind.SHIFT_AWAY,
                action=f"shift traffic away from the failing part of {top.service}"
                + (f" ({top.component})" if top.component else ""),
                target=top.component or top.service,
                risk="remaining capacity must absorb the shifted load",
                sop=sop,
            ),
            Mitigation(
                order=3,
                kind=MitigationKind.SCALE_UP,
                action=f"scale up {top.service} or raise its dependency's capacity",
                target=top.service,
                risk="treats the symptom; the cause may recur",
                sop=sop,
            ),
            Mitigation(
                order=4,
                kind=MitigationKind.RESTART,
                action=f"restart unhealthy {top.service} hosts",
                target=top.service,
                risk="recurrence is likely if the cause is in code or configuration",
                sop=sop,
            ),
        ]
        return steps

    def look(self, backend: TelemetryBackend, scope: Scope, service: str | None, text: str) -> list[Evidence]:
        query = LogQuery(window=scope.window, service=service, text=text or None, limit=20)
        records = backend.query_logs(query)
        where = service or "all services"
        description = f"{len(records)} log lines in {where} matching {text!r}" + (
            f"; first: {records[0].body[:200]}" if records else ""
        )
        return [
            Evidence(
                kind=EvidenceKind.NOTE,
                service=service,
                description=description,
                value=float(len(records)),
                source_query=f"query_logs(service={service!r}, text={text!r})",
            )
        ]
