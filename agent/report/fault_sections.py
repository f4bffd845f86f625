"""The fault-specific section of a COE: the evidence, graph and mitigation a human would add for the
top hypothesis' fault type.

- bad_deployment: the deployment (version, previous version, id) and the error-rate step it caused;
- az_impairment: the per-zone split, and a zonal shift away from the named zone;
- certificate_expiry: the TLS handshake failures and the time the certificate stopped being accepted;
- memory_leak and dependency_throttling: see :mod:`agent.report.fault_metrics`.

Everything is read through the telemetry backend port: services, zones, metrics and versions come
from the data, never from names written here. A section whose data is absent is left out, so the
report never shows a graph of nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from agent.report.charts import draw_lines
from agent.report.evidence_book import EvidenceBook
from agent.report.fault_metrics import (
    SectionInputs,
    cache_section,
    finish,
    memory_section,
    throttling_section,
)
from agent.report.impact import Measurements, Series, incident_began
from agent.report.model import PLACEHOLDER, Chart, ChartMarker, Claim, FaultSection
from mcp_server.analysis.models import EvidenceKind as K
from mcp_server.analysis.models import InvestigationResult
from mcp_server.backends.base import LogQuery, SpanGroup, SpanStatsQuery, TelemetryBackend
from mcp_server.errors import SleuthError
from mcp_server.taxonomy import FaultType as F
from mcp_server.telemetry import ChangeKind, SpanKind, TimeWindow

TLS_PATTERN = r"(?i)certificate|x509|pkix|ssl|tls|handshake"
_TLS = re.compile(TLS_PATTERN)

Builder = Callable[[SectionInputs], FaultSection | None]


def _error_rates(
    backend: TelemetryBackend, service: str, window: TimeWindow, bucket: int, group: SpanGroup
) -> dict[str, list[tuple[datetime, int, int]]]:
    stats = backend.span_stats(
        SpanStatsQuery(
            window=window, bucket_seconds=bucket, service=service, kinds=[SpanKind.SERVER], group_by=[group]
        )
    )
    out: dict[str, list[tuple[datetime, int, int]]] = {}
    for b in stats:
        key = str(b.group.get(group) or "")
        if key:
            out.setdefault(key, []).append((b.bucket_start, b.count, b.errors))
    return out


def _body(text: str) -> str:
    """A log line's message: the ``msg`` of a JSON line, else the line, cut to a readable length."""
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            text = str(parsed.get("msg") or parsed.get("message") or text)
    return text[:160]


def _rate(rows: list[tuple[datetime, int, int]]) -> tuple[int, int, float]:
    total, errors = sum(r[1] for r in rows), sum(r[2] for r in rows)
    return errors, total, errors / total if total else 0.0


def _deployment(x: SectionInputs) -> FaultSection | None:
    top, backend, m, book, markers = x.top, x.backend, x.m, x.book, x.markers
    began = incident_began(m)
    # the onset estimate can lag or lead the deployment by minutes: allow a few minutes either way
    latest = (began or m.window.end) + timedelta(minutes=5)
    deploys = [
        c
        for c in x.result.changes
        if c.service == top.service and c.kind == ChangeKind.DEPLOYMENT and c.time <= latest
    ]
    if not deploys:
        return None
    change = max(deploys, key=lambda c: c.time)
    version = change.version or "an unnamed version"
    previous = change.previous_version
    rows = _error_rates(backend, top.service, m.window, 60, "service").get(top.service, [])
    before = [r for r in rows if r[0] < change.time - timedelta(seconds=60)]
    after = [r for r in rows if r[0] >= change.time]
    b_err, b_tot, b_rate = _rate(before)
    a_err, a_tot, a_rate = _rate(after)
    ident = f" ({change.id})" if change.id else ""
    deploy_ev = book.add(
        K.CHANGE,
        f"{change.kind.value} of {top.service} {previous or '?'} → {version}{ident} at {change.time:%H:%M:%S} UTC"
        + (f" by {change.actor}" if change.actor else ""),
        source_query=f"list_changes(service={top.service!r})",
        service=top.service,
        time=change.time,
    )
    claims = [
        Claim(
            text=f"{top.service} went from {previous or 'its previous version'} to {version}{ident} at "
            f"{change.time:%H:%M:%S} UTC" + (f", deployed by {change.actor}" if change.actor else "") + ".",
            evidence=[deploy_ev],
        )
    ]
    if a_tot:
        step_ev = book.add(
            K.ERROR_RATE,
            f"{top.service} server error rate {b_rate:.2%} ({b_err} of {b_tot}) before the deployment, "
            f"{a_rate:.1%} ({a_err} of {a_tot}) after it",
            source_query=f"span_stats(service={top.service!r}, kinds=[SERVER], bucket_seconds=60)",
            service=top.service,
            time=change.time,
            value=a_rate,
            baseline=b_rate,
        )
        claims.append(
            Claim(
                text=f"Its server error rate stepped from {b_rate:.2%} ({b_err} of {b_tot} requests) before the "
                f"deployment to {a_rate:.1%} ({a_err} of {a_tot}) after it.",
                evidence=[step_ev],
            )
        )
    chart = None
    if rows:
        series = Series(
            top.service, [r[0] for r in rows], [100.0 * r[2] / r[1] if r[1] else 0.0 for r in rows]
        )
        marks = [ChartMarker(label=f"change: {top.service} {version}", time=change.time)] + [
            mk for mk in markers if not mk.label.startswith("change")
        ]
        chart = Chart(
            id="fault-deployment",
            title=f"Error rate of {top.service} around the deployment of {version}",
            caption="Failed server requests per minute, percent; the deployment is marked.",
            svg=draw_lines("Error rate (%)", "% errors", [series], marks),
            markers=marks,
            evidence=claims[-1].evidence,
        )
    target = f" to {previous}" if previous else ""
    return finish(
        F.BAD_DEPLOYMENT,
        f"The deployment of {top.service} {version}",
        claims,
        chart,
        f"Roll {top.service} back{target}, undoing deployment {change.id or version}.",
        [deploy_ev],
    )


def _zones(x: SectionInputs) -> FaultSection | None:
    top, backend, m, book, markers = x.top, x.backend, x.m, x.book, x.markers
    began = incident_began(m) or m.window.start
    per_zone = _error_rates(backend, top.service, m.window, m.bucket_seconds, "availability_zone")
    if len(per_zone) < 2:
        return None
    during = {z: _rate([r for r in rows if r[0] >= began]) for z, rows in per_zone.items()}
    named = top.component if top.component in per_zone else max(during, key=lambda z: during[z][2])
    query = f"span_stats(service={top.service!r}, kinds=[SERVER], group_by=['availability_zone'])"
    claims = []
    for zone in sorted(per_zone, key=lambda z: (z != named, z)):
        errors, total, rate = during[zone]
        ev = book.add(
            K.HOST_SKEW,
            f"{top.service} in {zone}: {errors} of {total} requests failed ({rate:.1%}) from {began:%H:%M} UTC",
            source_query=query,
            service=top.service,
            time=began,
            value=rate,
            attributes={"availability_zone": zone},
        )
        claims.append(
            Claim(
                text=f"{zone}: {errors:,} of {total:,} requests to {top.service} failed ({rate:.1%}).",
                evidence=[ev],
            )
        )
    others = [during[z][2] for z in per_zone if z != named]
    claims.insert(
        0,
        Claim(
            text=f"The failures were concentrated in {named}: {during[named][2]:.1%} of its requests failed, "
            f"against at most {max(others):.1%} in the other {len(others)} zone(s).",
            evidence=[e for c in claims for e in c.evidence],
        ),
    )
    series = [
        Series(zone, [r[0] for r in rows], [100.0 * r[2] / r[1] if r[1] else 0.0 for r in rows])
        for zone, rows in sorted(per_zone.items(), key=lambda kv: (kv[0] != named, kv[0]))
    ]
    chart = Chart(
        id="fault-zones",
        title=f"Error rate of {top.service} per availability zone",
        caption=f"Failed server requests per {m.bucket_seconds // 60}-minute bucket, percent, one line per zone.",
        svg=draw_lines("Error rate by zone (%)", "% errors", series, markers),
        markers=markers,
        evidence=claims[0].evidence,
    )
    return finish(
        F.AZ_IMPAIRMENT,
        f"Availability zone {named}",
        claims,
        chart,
        f"Start a zonal shift of {top.service}'s load balancer away from {named}, so the healthy zones "
        "take its traffic; shift back only when the zone's error rate is at baseline. Removing single "
        "hosts does not help: every host in the zone is affected.",
        claims[0].evidence,
    )


def _host(x: SectionInputs) -> FaultSection | None:
    """One bad host, with its zone: a host alone in its zone cannot be told from a zonal impairment."""
    top, backend, m, book, markers = x.top, x.backend, x.m, x.book, x.markers
    began = incident_began(m) or m.window.start
    per_host = _error_rates(backend, top.service, m.window, m.bucket_seconds, "host")
    if len(per_host) < 2:
        return None
    during = {h: _rate([r for r in rows if r[0] >= began]) for h, rows in per_host.items()}
    host = top.component if top.component in per_host else max(during, key=lambda h: during[h][2])
    placed = backend.span_stats(
        SpanStatsQuery(
            window=m.window,
            bucket_seconds=max(60, int(m.window.duration.total_seconds())),
            service=top.service,
            kinds=[SpanKind.SERVER],
            group_by=["host", "availability_zone"],
        )
    )
    zone_of = {str(b.group.get("host")): str(b.group.get("availability_zone") or "") for b in placed}
    zone = zone_of.get(host, "")
    query = f"span_stats(service={top.service!r}, kinds=[SERVER], group_by=['host', 'availability_zone'])"
    errors, total, rate = during[host]
    others = {h: v for h, v in during.items() if h != host}
    ev = book.add(
        K.HOST_SKEW,
        f"{top.service} on {host} ({zone or 'zone unknown'}): {errors} of {total} requests failed ({rate:.1%}) "
        f"from {began:%H:%M} UTC; other hosts at most {max(v[2] for v in others.values()):.1%}",
        source_query=query,
        service=top.service,
        time=began,
        value=rate,
        attributes={"host": host, "availability_zone": zone},
    )
    claims = [
        Claim(
            text=f"The failures were on {host}"
            + (f" in {zone}" if zone else "")
            + f": {errors:,} of {total:,} of its requests failed ({rate:.1%}), against at most "
            f"{max(v[2] for v in others.values()):.1%} on the other {len(others)} host(s).",
            evidence=[ev],
        )
    ]
    neighbours = [h for h in others if zone and zone_of.get(h) == zone]
    if neighbours:
        claims.append(
            Claim(
                text=f"Other {top.service} hosts in {zone} ({', '.join(neighbours)}) stayed healthy, so the fault "
                "is the host, not the zone.",
                evidence=[ev],
            )
        )
    elif zone:
        claims.append(
            Claim(
                text=f"{PLACEHOLDER}: {host} is the only {top.service} host in {zone}, so an impairment of {zone} "
                "would look the same in this data. Check the provider's health events and other resources in "
                f"{zone} before choosing between replacing the host and a zonal shift away from {zone}.",
                evidence=[ev],
                needs_human_input=True,
            )
        )
    series = [
        Series(
            f"{h} ({zone_of.get(h, '?')})",
            [r[0] for r in rows],
            [100.0 * r[2] / r[1] if r[1] else 0.0 for r in rows],
        )
        for h, rows in sorted(per_host.items(), key=lambda kv: (kv[0] != host, kv[0]))
    ]
    chart = Chart(
        id="fault-hosts",
        title=f"Error rate of {top.service} per host",
        caption=f"Failed server requests per {m.bucket_seconds // 60}-minute bucket, percent, one line per host "
        "(its zone in brackets).",
        svg=draw_lines("Error rate by host (%)", "% errors", series, markers),
        markers=markers,
        evidence=[ev],
    )
    caveat = (
        "" if neighbours or not zone else f" If {zone} itself is impaired, shift away from the zone instead."
    )
    return finish(
        F.SINGLE_HOST_FAILURE,
        f"Host {host}" + (f" in {zone}" if zone else ""),
        claims,
        chart,
        f"Take {host} out of {top.service}'s load balancer and replace it.{caveat}",
        [ev],
    )


def _certificate(x: SectionInputs) -> FaultSection | None:
    top, backend, m, book, markers = x.top, x.backend, x.m, x.book, x.markers
    origins = [
        o
        for o in backend.error_origins(m.window, limit=200)
        if _TLS.search(f"{o.sample_exception} {o.sample_message}")
        and (o.peer in (None, top.service) or o.service == top.service)
    ]
    logs = backend.query_logs(LogQuery(window=m.window, regex=TLS_PATTERN, limit=5000))
    logs = [r for r in logs if r.service == top.service or top.service in r.body]
    if not origins and not logs:
        return None
    times = [o.first_seen for o in origins] + [
        datetime.fromtimestamp(r.time_unix_nano / 1e9, tz=m.window.start.tzinfo) for r in logs
    ]
    first = min(times)
    claims: list[Claim] = []
    if origins:
        calls = sum(o.count for o in origins)
        callers = sorted({o.service for o in origins})
        sample = origins[0]
        ev = book.add(
            K.ERROR_ORIGIN,
            f"{calls} calls to {top.service} from {', '.join(callers)} failed the TLS handshake from "
            f"{min(o.first_seen for o in origins):%H:%M:%S} UTC: {sample.sample_exception} {sample.sample_message}".strip(),
            source_query=f"error_origins(start={m.window.start.isoformat()}, end={m.window.end.isoformat()})",
            service=top.service,
            time=min(o.first_seen for o in origins),
            value=float(calls),
        )
        claims.append(
            Claim(
                text=f"{calls:,} calls from {', '.join(callers)} to {top.service} failed the TLS handshake: "
                f"{(sample.sample_exception + ': ' + sample.sample_message).strip(': ')}.",
                evidence=[ev],
            )
        )
    if logs:
        ev = book.add(
            K.LOG_PATTERN,
            f"{len(logs)} log lines about the certificate from {first:%H:%M:%S} UTC, e.g. '{_body(logs[0].body)}'",
            source_query=f"query_logs(regex={TLS_PATTERN!r})",
            service=top.service,
            time=first,
            value=float(len(logs)),
        )
        claims.append(
            Claim(
                text=f"{len(logs):,} log lines report the rejected certificate, e.g. '{_body(logs[0].body)}'.",
                evidence=[ev],
            )
        )
    cited = [e for c in claims for e in c.evidence]
    claims.insert(
        0,
        Claim(
            text=f"{top.service}'s certificate was rejected as expired from {first:%H:%M:%S} UTC: it expired at "
            f"{first:%H:%M} UTC or just before (confirm its notAfter date on the certificate itself).",
            evidence=cited,
        ),
    )
    bucket = m.bucket_seconds
    start = m.window.start.replace(second=0, microsecond=0)
    counts: dict[datetime, int] = {}
    for t in times[len(origins) :]:
        key = start + timedelta(seconds=bucket * int((t - start).total_seconds() // bucket))
        counts[key] = counts.get(key, 0) + 1
    chart = None
    if counts:
        axis = [
            start + timedelta(seconds=bucket * i)
            for i in range(int(m.window.duration.total_seconds() // bucket) + 1)
        ]
        marks = [ChartMarker(label="onset", time=first), *[mk for mk in markers if mk.label != "onset"]]
        chart = Chart(
            id="fault-tls",
            title=f"TLS errors about {top.service}'s certificate",
            caption=f"Log lines reporting the certificate, per {bucket // 60}-minute bucket; the first failure is marked.",
            svg=draw_lines(
                "TLS errors",
                "lines",
                [Series("TLS errors", axis, [float(counts.get(t, 0)) for t in axis])],
                marks,
            ),
            markers=marks,
            evidence=cited,
        )
    return finish(
        F.CERTIFICATE_EXPIRY,
        f"The expired certificate of {top.service}",
        claims,
        chart,
        f"Issue and deploy a new certificate for {top.service} and confirm its callers' handshakes succeed; "
        "then find why the automatic renewal did not run.",
        cited,
    )


BUILDERS: dict[F, Builder] = {
    F.BAD_DEPLOYMENT: _deployment,
    F.AZ_IMPAIRMENT: _zones,
    F.SINGLE_HOST_FAILURE: _host,
    F.CERTIFICATE_EXPIRY: _certificate,
    F.MEMORY_LEAK: memory_section,
    F.DEPENDENCY_THROTTLING: throttling_section,
    F.CACHE_FAILURE: cache_section,
}


def fault_section(
    result: InvestigationResult,
    backend: TelemetryBackend,
    m: Measurements,
    book: EvidenceBook,
    markers: list[ChartMarker],
) -> FaultSection | None:
    """The section for the top hypothesis' fault type, or None (no builder, or no data for it)."""
    top = result.hypotheses[0] if result.hypotheses else None
    builder = BUILDERS.get(top.fault_type) if top is not None else None
    if top is None or builder is None:
        return None
    try:
        return builder(SectionInputs(result, top, backend, m, book, markers))
    except SleuthError:
        return None
