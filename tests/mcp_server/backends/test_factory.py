"""open_backend picks the local store or AWS and rejects what it does not know."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from mcp_server.backends.aws import AwsBackend, AwsBackendConfig
from mcp_server.backends.base import TelemetryBackend
from mcp_server.backends.factory import open_backend
from mcp_server.backends.local import LocalBackend
from mcp_server.errors import InputFileError, SleuthError


def test_a_local_store_file_is_opened_at_the_given_path(tmp_path: Path) -> None:
    backend = open_backend("local", path=tmp_path / "store.duckdb")

    assert isinstance(backend, LocalBackend) and isinstance(backend, TelemetryBackend)
    assert backend.list_services() == []
    backend.close()


def test_aws_is_built_from_an_injected_session_and_config_without_calling_aws() -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1")
    config = AwsBackendConfig(region="eu-west-1", max_attempts=3, read_timeout=7)

    backend = open_backend("aws", session=session, config=config)

    assert isinstance(backend, AwsBackend) and isinstance(backend, TelemetryBackend)
    cloudwatch = backend.clients.cloudwatch
    assert cloudwatch.meta.region_name == "eu-west-1"
    # botocore tries once; the backend's own retries (3 tries) stay within each call's deadline
    assert cloudwatch.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert backend.calls.config.max_attempts == 3
    assert cloudwatch.meta.config.read_timeout == 7
    backend.close()


def test_aws_settings_come_from_a_yaml_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "aws.yaml"
    settings.write_text(
        "log_groups:\n  orders: [/ecs/orders]\ninsights_max_log_groups: 5\n", encoding="utf-8"
    )
    monkeypatch.setenv("SLEUTH_AWS_CONFIG", str(settings))
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")

    config = AwsBackendConfig.from_env()

    assert (config.region, config.insights_max_log_groups, config.log_groups_for("orders")) == (
        "ap-southeast-2",
        5,
        ["/ecs/orders"],
    )


def test_a_bad_aws_settings_file_names_the_field(tmp_path: Path) -> None:
    settings = tmp_path / "aws.yaml"
    settings.write_text("insights_max_log_groups: 500\n", encoding="utf-8")

    with pytest.raises(InputFileError, match="insights_max_log_groups"):
        open_backend("aws", config_path=settings)


def test_unknown_kinds_and_options_are_refused_with_what_is_accepted() -> None:
    with pytest.raises(SleuthError, match="choose one of: local, aws"):
        open_backend("gcp")
    with pytest.raises(SleuthError, match="does not take option"):
        open_backend("aws", bucket="x")
