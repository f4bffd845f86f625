"""The importer redacts before it stores: no secret reaches the DuckDB store, whatever carries it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mcp_server.backends.base import LogQuery, MetricQuery
from mcp_server.backends.local import LocalBackend, parallel_decode
from mcp_server.telemetry import TimeWindow
from tests.mcp_server.backends.local.otlp_requests import T0, log_record, metric, request, span

SPEC = "name: leaky\nwindow: {start: '2026-01-01T10:00:00Z', end: '2026-01-01T10:30:00Z'}\n"
PASSWORD = "SuperSecretPw"
WINDOW = TimeWindow(
    start=datetime.fromtimestamp(T0 / 1e9 - 600, UTC), end=datetime.fromtimestamp(T0 / 1e9 + 600, UTC)
)


def _kv(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _leaky_scenario(directory: Path) -> Path:
    traces, logs, metrics = request("traces"), request("logs"), request("metrics")
    log_record(logs)["body"] = {"stringValue": f"db_url=postgres://app:{PASSWORD}@db.internal/visits"}
    log_record(logs)["attributes"].append(_kv("db.password", "hunter2xyz"))
    logs["resourceLogs"][0]["resource"]["attributes"].append(_kv("deploy.token", "ghp_" + "r" * 36))
    s = span(traces)
    s["attributes"].append(_kv("http.request.header.authorization", "Bearer sk-proj-" + "b" * 40))
    s["status"]["message"] = "login as admin@example.com failed"
    s["events"][0]["attributes"].append(_kv("exception.stacktrace", "AKIAIOSFODNN7EXAMPLE at Foo.java:1"))
    s["links"][0]["attributes"].append(_kv("api_key", "c" * 24))
    metric(metrics, 0)["gauge"]["dataPoints"][0]["attributes"].append(_kv("client_secret", "d" * 20))
    (directory / "scenario.yaml").write_text(
        SPEC + "description: 'paged via xoxb-1234567890-abcdefghijklmnop'\n"
        "trigger: {text: 'cpu high, token: e1e1e1e1e1e1e1e1e1e1'}\n"
    )
    change = {
        "time": "2026-01-01T10:05:00Z",
        "service": "api",
        "kind": "config",
        "description": "set REDIS_URL=redis://:f2f2f2f2f2f2@cache:6379",
    }
    (directory / "changes.jsonl").write_text(json.dumps(change) + "\n")
    for name, req in (("traces", traces), ("logs", logs), ("metrics", metrics)):
        (directory / f"{name}.jsonl").write_text(json.dumps(req) + "\n")
    return directory


def store_tables(store: Path) -> str:
    """Every stored row as text (the file itself is compressed, so its bytes alone prove little)."""
    with duckdb.connect(str(store), read_only=True) as con:
        tables = [
            name for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        ]
        return "\n".join(str(con.execute(f'SELECT * FROM "{name}"').fetchall()) for name in tables)


SECRETS = [
    PASSWORD,
    "hunter2xyz",
    "r" * 36,
    "b" * 40,
    "admin@example.com",
    "AKIAIOSFODNN7EXAMPLE",
    "c" * 24,
    "d" * 20,
    "abcdefghijklmnop",
    "e1e1e1e1e1e1e1e1e1e1",
    "f2f2f2f2f2f2",
]


def test_no_secret_of_any_record_file_or_description_reaches_the_store(tmp_path: Path) -> None:
    directory = _leaky_scenario(tmp_path)
    store = tmp_path / "store.duckdb"

    with LocalBackend(store) as backend:
        backend.import_scenario(directory)
        body = backend.query_logs(LogQuery(window=WINDOW))[0].body

    assert body == "db_url=postgres://app:[REDACTED:password]@db.internal/visits"
    dumped = store_tables(store) + store.read_bytes().decode("latin-1")
    assert [secret for secret in SECRETS if secret in dumped] == []


def test_a_metric_series_keyed_by_a_redacted_attribute_is_still_one_queryable_series(tmp_path: Path) -> None:
    directory = _leaky_scenario(tmp_path)

    with LocalBackend.from_scenario(directory) as backend:
        series = backend.query_metrics(MetricQuery(name="cpu", window=WINDOW, group_by=["client_secret"]))

    assert [s.attributes for s in series] == [{"client_secret": "[REDACTED:secret]"}]
    assert [p.value for p in series[0].points] == [42.5]


def test_files_decoded_by_worker_processes_are_redacted_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _leaky_scenario(tmp_path)
    monkeypatch.setattr(parallel_decode, "PARALLEL_THRESHOLD_BYTES", 0)
    monkeypatch.setenv("SLEUTH_IMPORT_WORKERS", "2")
    store = tmp_path / "store.duckdb"

    with LocalBackend(store) as backend:
        backend.import_scenario(directory)

    assert [secret for secret in SECRETS if secret in store_tables(store)] == []
