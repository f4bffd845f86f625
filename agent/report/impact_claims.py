"""What the report says about customer impact: the measured impact, or why none was measured."""

from __future__ import annotations

from agent.report.evidence_book import EvidenceBook
from agent.report.model import PLACEHOLDER, Claim, CustomerImpact
from agent.report.wording import duration_phrase
from mcp_server.analysis.models import EvidenceKind
from mcp_server.telemetry import TimeWindow


def unmeasured_claims(
    book: EvidenceBook,
    entry: str,
    after: list[int],
    totals: list[int],
    bads: list[int],
    baseline: float,
    query: str,
    window: TimeWindow,
    *,
    slowed: bool = False,
    unrecorded: bool = False,
) -> list[Claim]:
    """Why no impact was measured, with the counts that show it, and the question for the team
    (asked by the slowdown's claim instead when requests slowed). ``unrecorded``: the spans never
    say how a request ended, so their zero failures are no measurement at all."""
    total, bad = sum(totals[i] for i in after), sum(bads[i] for i in after)
    ask = f"{PLACEHOLDER}: describe the impact customers saw or reported."
    if not total:
        return [Claim(text=f"No requests to {entry} were counted in the data. {ask}", needs_human_input=True)]
    if unrecorded:
        counted = (
            f"{total:,} requests to {entry} were traced from the onset on, but none of their spans says how it "
            "ended (no status code, HTTP or gRPC status), so how many failed is unknown"
        )
    else:
        counted = f"{bad:,} of {total:,} requests to {entry} failed ({bad / total:.1%}) from the onset on, against {baseline:.2%} before"
    ev = book.add(
        EvidenceKind.SLO,
        counted + ("" if slowed or unrecorded else ": no bucket clearly worse than the baseline"),
        source_query=f"{query} over {window.start.isoformat()}..{window.end.isoformat()}",
        service=entry,
        value=None if unrecorded else float(bad),
        baseline=None if unrecorded else baseline,
    )
    if slowed:
        return [Claim(text=f"{counted}." if unrecorded else f"{counted}: no more than usual.", evidence=[ev])]
    worse = "" if unrecorded else ", and no bucket was clearly worse than that baseline"
    text = f"Customer impact could not be measured: {counted}{worse}. {ask}"
    return [Claim(text=text, evidence=[ev], needs_human_input=True)]


def impact_claims(impact: CustomerImpact, what: str, evidence: list[str]) -> list[Claim]:
    who = f"customers calling {', '.join(impact.functions)} on" if impact.functions else "customers of"
    ongoing = "" if impact.end is not None else " and had not recovered by the end of the data"
    claims = [
        Claim(
            text=(
                f"For {duration_phrase(impact.duration_seconds or 0)}{ongoing}, {who} {impact.entry_service} were "
                f"affected: {impact.failed_requests:,} of {impact.total_requests:,} requests {what} "
                f"({(impact.failed_fraction or 0):.1%}; {impact.excess_failed_requests:,} more than the baseline "
                f"rate would explain)."
            ),
            evidence=evidence,
        ),
        Claim(
            text=f"{PLACEHOLDER}: which customers (accounts, regions, tiers) were affected and whether any data was lost.",
            needs_human_input=True,
        ),
    ]
    return claims
