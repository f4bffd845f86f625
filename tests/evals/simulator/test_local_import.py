"""Simulated scenarios import into the local DuckDB backend without loss."""

from __future__ import annotations

from evals.simulator import load_topology
from mcp_server.backends.base import SpanQuery
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import load_ground_truth, load_scenario_spec, read_yaml_list
from mcp_server.telemetry import TimeWindow
from tests.evals.simulator.conftest import ScenarioFactory
from tests.evals.simulator.reading import read_logs, read_spans


def _metric_points(directory) -> int:  # type: ignore[no-untyped-def]
    import orjson

    total = 0
    for line in (directory / "metrics.jsonl").read_bytes().splitlines():
        for rm in orjson.loads(line)["resourceMetrics"]:
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    body = m.get("gauge") or m.get("sum") or m.get("histogram")
                    total += len(body["dataPoints"])
    return total


def test_every_record_of_a_scenario_arrives_in_the_local_backend(simulated: ScenarioFactory) -> None:
    directory = simulated("dependency_throttling", "visits", red_herrings=True)
    spans = read_spans(directory)
    with LocalBackend() as backend:
        summary = backend.import_scenario(directory)
        assert summary.spans == len(spans)
        assert summary.logs == len(read_logs(directory))
        assert summary.metric_points == _metric_points(directory)
        assert summary.changes == len((directory / "changes.jsonl").read_text().splitlines()) == 1
        assert summary.slos == len(read_yaml_list(directory / "slos.yaml", "slos"))
        assert summary.alarms == len(read_yaml_list(directory / "alarms.yaml", "alarms"))
        assert backend.list_services() == sorted(load_topology().services)
        assert backend.count_spans() == len(spans)


def test_a_span_keeps_its_attributes_resource_and_exception_through_import(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("dependency_throttling", "visits", red_herrings=True)
    written = next(
        s for s in read_spans(directory) if s.error and s.events and s.name.startswith("DynamoDB.")
    )
    with LocalBackend() as backend:
        backend.import_scenario(directory)
        trace = backend.get_trace(written.trace_id)
    stored = next(s for s in trace if s.span_id == written.span_id)
    assert stored.service == "visits" and stored.operation == written.name
    assert stored.host == written.host and stored.availability_zone == written.az
    assert stored.attributes["aws.dynamodb.table_names"] == ["Visits"]
    assert stored.events[0].attributes["exception.type"] == written.events[0]["exception.type"]
    assert stored.is_error
    assert (stored.start_time_unix_nano, stored.end_time_unix_nano) == (written.start, written.end)


def test_the_backend_finds_the_errors_starting_at_the_root_cause(simulated: ScenarioFactory) -> None:
    directory = simulated("dependency_throttling", "visits", red_herrings=True)
    truth = load_ground_truth(directory)
    spec = load_scenario_spec(directory)
    assert truth is not None and truth.onset is not None
    with LocalBackend() as backend:
        backend.import_scenario(directory)
        origins = backend.error_origins(TimeWindow(start=truth.onset, end=spec.window.end), limit=3)
        alarm = backend.alarm_history(spec.trigger.alarm or "visits-5xx-errors")
        failing = backend.query_spans(SpanQuery(service="visits", errors_only=True, limit=5))
    assert origins[0].service == "visits" and "Visits" in (origins[0].peer or "")
    assert alarm.history, "the alarm keeps the state history the simulator evaluated"
    assert failing
