"""The quirks of real telemetry, each as real data shows it, and none of them in a plan that asks for none."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
import yaml

from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from evals.simulator.quirks import QuirkError, Quirks
from mcp_server.scenario import load_ground_truth, load_scenario_spec
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import ChangeEvent, ChangeKind, to_nanos
from tests.evals.simulator.reading import read_logs, read_points, read_spans
from tests.evals.simulator.test_faults import onset_ns

MIN = 60 * 10**9
BASE = ScenarioPlan(
    name="q",
    faults=(FaultSpec(FaultType.ERROR_EXCEPTION, "visits", onset_fraction=0.6),),
    seed=31,
    size="tiny",
    minutes=12,
    red_herrings=False,
)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("quirks")
    plans = {
        "plain": BASE,
        "observed": replace(
            BASE, quirks=Quirks(partial_coverage=True, span_detail="bare", mixed_precision=True)
        ),
        "bare": replace(BASE, quirks=Quirks(span_detail="bare")),
        "no_status": replace(BASE, quirks=Quirks(span_detail="no_status")),
        "chronic": replace(BASE, size="default", minutes=16, quirks=Quirks(chronic_errors=2)),
        "previous": replace(
            BASE,
            minutes=14,
            faults=(FaultSpec(FaultType.ERROR_EXCEPTION, "visits", onset_fraction=0.75),),
            quirks=Quirks(previous_incident=True),
        ),
        "metrics": replace(BASE, quirks=Quirks(signals="metrics")),
        "five": replace(BASE, minutes=15, quirks=Quirks(metric_period_s=300)),
        "plain15": replace(BASE, minutes=15),
        "train": replace(
            BASE,
            minutes=16,
            faults=(FaultSpec(FaultType.BAD_DEPLOYMENT, "visits", onset_fraction=0.6),),
            quirks=Quirks(extra_deployments=3),
        ),
    }
    return {name: write_scenario(replace(plan, name=name), root / name) for name, plan in plans.items()}


def test_a_plan_without_quirks_has_no_quirk_tags_and_every_quirk_has_its_tag() -> None:
    assert Quirks().tags() == []
    every = Quirks(
        chronic_errors=1,
        partial_coverage=True,
        span_detail="mixed",
        previous_incident=True,
        mixed_precision=True,
        signals="metrics",
        metric_period_s=300,
        extra_deployments=2,
    )
    assert len(every.tags()) == 8 and all(tag.startswith("quirk-") for tag in every.tags())


def test_quirks_that_change_only_what_is_kept_leave_the_traffic_and_the_metrics_as_they_were(
    made: dict[str, Path],
) -> None:
    plain, observed = made["plain"], made["observed"]
    assert (plain / "metrics.jsonl").read_bytes() == (observed / "metrics.jsonl").read_bytes()
    full = {s.span_id: s for s in read_spans(plain)}
    kept = read_spans(observed)
    assert 0 < len(kept) < len(full)
    at = onset_ns(plain)
    assert min(s.start for s in kept) >= at - 100 * 10**9 and max(s.start for s in kept) < at + 140 * 10**9
    for span in kept:
        original = full[span.span_id]
        assert span.start <= original.start < span.start + 10**6  # truncated, never moved
        assert span.kind == 0 and not span.attributes and not span.error  # bare: names, ids and times


def test_bare_spans_hold_only_names_ids_and_times_and_errors_stay_visible_in_logs(
    made: dict[str, Path],
) -> None:
    directory = made["bare"]
    for line in (directory / "traces.jsonl").read_bytes().splitlines():
        for rs in orjson.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for span in ss["spans"]:
                    assert set(span) == {
                        "traceId",
                        "spanId",
                        "parentSpanId",
                        "name",
                        "startTimeUnixNano",
                        "endTimeUnixNano",
                    }
    at = onset_ns(directory)
    assert [
        row
        for row in read_logs(directory)
        if row.service == "visits" and row.severity == "ERROR" and row.time > at
    ]


def test_spans_without_status_show_errors_only_as_http_status_attributes(made: dict[str, Path]) -> None:
    spans = read_spans(made["no_status"])
    assert spans and all(s.kind == 0 and not s.error and not s.events for s in spans)
    assert not any("error.type" in s.attributes for s in spans)
    failed = [
        s for s in spans if s.service == "visits" and s.attributes.get("http.response.status_code") == 500
    ]
    assert failed and min(s.start for s in failed) >= onset_ns(made["no_status"]) - 5 * MIN


def test_mixed_precision_truncates_each_services_timestamps_to_its_own_unit(made: dict[str, Path]) -> None:
    directory = made["observed"]
    units: dict[str, int] = {}
    for span in read_spans(directory):
        exact = max(u for u in (1, 10**3, 10**6) if span.start % u == 0 and span.end % u == 0)
        units[span.service] = min(units.get(span.service, exact), exact)
    assert len(set(units.values())) >= 2
    text_logs = [row for row in read_logs(directory) if not row.body.startswith("{")]
    assert text_logs and all(row.time % 10**6 == 0 for row in text_logs)
    window = load_scenario_spec(directory).window
    assert window.start.microsecond != 0


def test_chronic_errors_log_at_the_same_rate_before_and_after_the_onset_and_are_labelled(
    made: dict[str, Path],
) -> None:
    directory = made["chronic"]
    truth = load_ground_truth(directory)
    assert truth is not None
    labelled = [label for label in truth.red_herrings if label.startswith("chronic errors in ")]
    assert len(labelled) == 2
    at = onset_ns(directory)
    start = to_nanos(load_scenario_spec(directory).window.start)
    for label in labelled:
        service = label.split()[3].rstrip(":")
        assert service != "visits"
        times = [
            row.time
            for row in read_logs(directory)
            if row.service == service and row.severity == "ERROR" and "X-Client-Version" in row.body
        ]
        before = sum(1 for t in times if t < at) / ((at - start) / MIN)
        after = sum(1 for t in times if t >= at) / ((start + 16 * MIN - at) / MIN)
        assert 0.5 <= before <= 5.0 and 0.5 <= after <= 5.0


def test_the_previous_incident_recovers_before_the_onset_on_another_service(made: dict[str, Path]) -> None:
    directory = made["previous"]
    truth = load_ground_truth(directory)
    assert truth is not None
    [label] = [h for h in truth.red_herrings if h.startswith("recovery of ")]
    service = label.split()[2]
    assert service != truth.root_cause.service
    assert "before this incident's onset" in label


def test_metrics_only_writes_no_traces_and_no_logs(made: dict[str, Path]) -> None:
    directory = made["metrics"]
    assert (directory / "traces.jsonl").read_bytes() == b"" and (directory / "logs.jsonl").read_bytes() == b""
    assert read_points(directory, "http.server.request.count")
    assert "quirk-metrics-only" in load_scenario_spec(directory).tags


def test_five_minute_metrics_hold_three_points_per_series_and_keep_the_totals(made: dict[str, Path]) -> None:
    coarse = read_points(made["five"], "http.server.request.count")
    fine = read_points(made["plain15"], "http.server.request.count")
    assert sum(p.value for p in coarse) == sum(p.value for p in fine)
    series = Counter((p.host, p.attributes.get("operation")) for p in coarse)
    assert max(series.values()) <= math.ceil(15 / 5)
    times = sorted({p.time for p in coarse})
    assert all((b - a) % (5 * MIN) == 0 for a, b in itertools.pairwise(times))
    alarms = yaml.safe_load((made["five"] / "alarms.yaml").read_text())["alarms"]
    # threshold alarms see the metrics' five-minute periods; a burn alert evaluates its SLI each minute
    assert {a["period_seconds"] for a in alarms if "slo" not in a} == {300}
    assert {a["period_seconds"] for a in alarms if "slo" in a} == {60}


def test_a_release_train_deploys_several_services_alike_and_only_the_defective_one_fails(
    made: dict[str, Path],
) -> None:
    directory = made["train"]
    deploys = [
        ChangeEvent.model_validate_json(line)
        for line in (directory / "changes.jsonl").read_text().splitlines()
    ]
    train = [c for c in deploys if c.kind == ChangeKind.DEPLOYMENT]
    assert len(train) == 4 and "visits" in {c.service for c in train}
    assert all(re.fullmatch(r"Deploy \S+ \d+\.\d+\.0 \(rolling, \d+ hosts\)", c.description) for c in train)
    assert all(c.time.microsecond == 0 for c in train)
    assert max(c.time for c in train) - min(c.time for c in train) <= timedelta(minutes=2)
    truth = load_ground_truth(directory)
    assert truth is not None
    healthy = [h for h in truth.red_herrings if "released together with the others" in h]
    assert len(healthy) == 3
    spans = read_spans(directory)
    for change in train:  # every release rolled out ...
        assert change.version in {s.version for s in spans if s.service == change.service}
    throwing = {s.service for s in spans if "NullPointerException" in str(s.events)}
    assert throwing == {"visits"}  # ... and only the defective one throws


def test_a_quirk_setting_that_does_not_exist_is_refused_by_name() -> None:
    with pytest.raises(QuirkError, match="span_detail 'partial'"):
        Quirks(span_detail="partial")
    with pytest.raises(QuirkError, match="metric_period_s 120"):
        Quirks(metric_period_s=120)


@pytest.mark.parametrize(
    "quirks",
    [
        Quirks(
            chronic_errors=1,
            partial_coverage=True,
            span_detail="mixed",
            previous_incident=True,
            mixed_precision=True,
            extra_deployments=2,
        ),
        Quirks(signals="metrics", metric_period_s=300, extra_deployments=1),
    ],
    ids=["traces-and-logs", "metrics"],
)
def test_a_plan_with_quirks_writes_the_same_bytes_every_time(tmp_path: Path, quirks: Quirks) -> None:
    plan = replace(BASE, minutes=10, quirks=quirks)
    first = write_scenario(plan, tmp_path / "a")
    second = write_scenario(plan, tmp_path / "b")
    for path in sorted(first.iterdir()):
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name
