"""The scenario directory contract: files, OTLP/JSON shape, foundation models, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import yaml
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from evals.simulator import FaultSpec, ScenarioPlan, write_scenario
from mcp_server.scenario import load_ground_truth, load_scenario_spec, read_yaml_list
from mcp_server.taxonomy import FaultType
from mcp_server.telemetry import Alarm, AlarmState, ChangeEvent, SloDefinition
from tests.evals.simulator.conftest import ScenarioFactory
from tests.evals.simulator.reading import read_logs, read_spans

FILES = [
    "scenario.yaml",
    "traces.jsonl",
    "metrics.jsonl",
    "logs.jsonl",
    "changes.jsonl",
    "slos.yaml",
    "alarms.yaml",
]
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def test_a_scenario_directory_holds_every_file_of_the_contract(simulated: ScenarioFactory) -> None:
    directory = simulated("bad_deployment", "customers", red_herrings=True)
    assert sorted(p.name for p in directory.iterdir()) == sorted(FILES)


def test_every_line_parses_as_an_otlp_export_request_with_no_unknown_fields(
    simulated: ScenarioFactory,
) -> None:
    directory = simulated("bad_deployment", "customers", red_herrings=True)
    messages: list[tuple[str, type[Message]]] = [
        ("traces.jsonl", ExportTraceServiceRequest),
        ("logs.jsonl", ExportLogsServiceRequest),
        ("metrics.jsonl", ExportMetricsServiceRequest),
    ]
    for name, message in messages:
        lines = (directory / name).read_text().splitlines()
        assert lines, name
        for line in lines:
            json_format.Parse(line, message(), ignore_unknown_fields=False)


def test_ids_are_lowercase_hex_and_64_bit_integers_are_decimal_strings(simulated: ScenarioFactory) -> None:
    directory = simulated("bad_deployment", "customers", red_herrings=True)
    first = orjson.loads((directory / "traces.jsonl").read_bytes().splitlines()[0])
    span = first["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert HEX32.match(span["traceId"]) and HEX16.match(span["spanId"])
    assert isinstance(span["startTimeUnixNano"], str) and span["startTimeUnixNano"].isdigit()
    assert isinstance(span["kind"], int)
    for row in read_spans(directory):
        assert HEX32.match(row.trace_id) and HEX16.match(row.span_id)
        assert row.parent_id == "" or HEX16.match(row.parent_id)
        assert row.end >= row.start
    metrics = (directory / "metrics.jsonl").read_text()
    assert '"asInt":"' in metrics and '"count":"' in metrics and '"bucketCounts":["' in metrics


def test_resources_name_the_service_host_zone_and_pod(simulated: ScenarioFactory) -> None:
    directory = simulated("bad_deployment", "customers", red_herrings=True)
    first = orjson.loads((directory / "traces.jsonl").read_bytes().splitlines()[0])
    keys = {kv["key"] for kv in first["resourceSpans"][0]["resource"]["attributes"]}
    assert {"service.name", "host.name", "cloud.availability_zone", "k8s.pod.name", "service.version"} <= keys


def test_scenario_files_validate_against_the_foundation_models(simulated: ScenarioFactory) -> None:
    directory = simulated("bad_deployment", "customers", red_herrings=True)
    spec = load_scenario_spec(directory)
    truth = load_ground_truth(directory)
    assert truth is not None
    assert truth.root_cause.service == "customers" and truth.root_cause.fault_type == FaultType.BAD_DEPLOYMENT
    assert truth.onset is not None and spec.window.contains(truth.onset)
    assert truth.propagation[0] == "customers" and "frontend" in truth.propagation
    changes = [
        ChangeEvent.model_validate_json(line)
        for line in (directory / "changes.jsonl").read_text().splitlines()
    ]
    assert any(c.service == "customers" and c.time < truth.onset for c in changes)
    slos = [SloDefinition.model_validate(s) for s in read_yaml_list(directory / "slos.yaml", "slos")]
    assert {s.sli.value for s in slos} == {"availability", "latency"}
    alarms = [Alarm.model_validate(a) for a in read_yaml_list(directory / "alarms.yaml", "alarms")]
    assert all(a.history for a in alarms)
    assert any(
        a.state == AlarmState.ALARM or any(h.new_state == AlarmState.ALARM for h in a.history) for a in alarms
    )


def test_the_investigation_view_of_a_scenario_hides_the_ground_truth(simulated: ScenarioFactory) -> None:
    directory = simulated("bad_deployment", "customers", red_herrings=True)
    spec = load_scenario_spec(directory)
    assert "ground_truth" not in spec.model_dump()
    shown = json.dumps(spec.model_dump(mode="json")) + (directory / "alarms.yaml").read_text()
    assert "bad_deployment" not in shown


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    plan = ScenarioPlan(
        name="same",
        faults=(FaultSpec(FaultType.DEPENDENCY_THROTTLING, "visits"),),
        seed=11,
        size="tiny",
        minutes=8,
        red_herrings=True,
    )
    first = write_scenario(plan, tmp_path / "a")
    second = write_scenario(plan, tmp_path / "b")
    for name in FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_different_seed_writes_different_traffic(tmp_path: Path) -> None:
    plan = ScenarioPlan(
        name="x", faults=(FaultSpec(FaultType.ERROR_EXCEPTION, "visits"),), seed=1, size="tiny", minutes=6
    )
    first = write_scenario(plan, tmp_path / "a")
    other = ScenarioPlan(name="x", faults=plan.faults, seed=2, size="tiny", minutes=6)
    second = write_scenario(other, tmp_path / "b")
    assert (first / "traces.jsonl").read_bytes() != (second / "traces.jsonl").read_bytes()


def test_logs_mix_json_and_plain_text_and_some_carry_no_trace_id(simulated: ScenarioFactory) -> None:
    logs = read_logs(simulated("bad_deployment", "customers", red_herrings=True))
    json_bodies = [row for row in logs if row.body.startswith("{")]
    text_bodies = [row for row in logs if not row.body.startswith("{")]
    assert json_bodies and text_bodies
    assert any(row.trace_id for row in logs) and any(row.trace_id is None for row in logs)
    assert {row.severity for row in logs} >= {"INFO", "WARN", "ERROR"}


def test_spans_follow_the_semantic_conventions_for_http_database_and_aws_calls(
    simulated: ScenarioFactory,
) -> None:
    spans = read_spans(simulated("bad_deployment", "customers", red_herrings=True))
    server = next(s for s in spans if s.kind == 2 and s.service == "customers")
    assert {"http.route", "http.request.method", "http.response.status_code"} <= server.attributes.keys()
    sql = next(s for s in spans if s.attributes.get("db.system") == "postgresql")
    assert {"db.operation", "db.statement", "db.name", "server.address"} <= sql.attributes.keys()
    dynamo = next(s for s in spans if s.attributes.get("db.system") == "dynamodb")
    assert dynamo.attributes["rpc.service"] == "DynamoDB" and dynamo.attributes["aws.dynamodb.table_names"]
    client = next(s for s in spans if s.kind == 3 and "peer.service" in s.attributes)
    assert client.attributes["peer.service"] in {
        "api-gateway",
        "auth",
        "customers",
        "vets",
        "visits",
        "payments",
        "inventory",
        "billing",
        "appointments",
        "payment-provider",
        "email-provider",
    }


def test_scenario_yaml_is_plain_yaml_with_utc_offsets(simulated: ScenarioFactory) -> None:
    raw = yaml.safe_load(
        (simulated("bad_deployment", "customers", red_herrings=True) / "scenario.yaml").read_text()
    )
    assert raw["window"]["start"].endswith("Z") and raw["window"]["end"].endswith("Z")
    assert raw["trigger"]["kind"] in {"alarm", "slo", "question"}
