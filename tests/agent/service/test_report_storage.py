"""SLEUTH_REPORTS: results and drafted reports in a configured directory or in S3 (moto, in process).

A worker uploads the job's files after the investigation; an intake on another host (another,
empty local results directory) serves the report by fetching it from the bucket.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from starlette.testclient import TestClient

from agent.service.compose import ServeSettings, build_service, build_worker, open_results
from agent.service.queue import InvestigationQueue, JobStatus
from agent.service.report_storage import ReportStorageError, parse_reports
from mcp_server.backends.local import LocalBackend
from tests.agent.service.samples import frontend_alarm

BUCKET = "sleuth-reports"
SECRET = "reports-secret"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def test_a_worker_uploads_its_report_to_s3_and_an_intake_on_another_host_serves_it(
    tmp_path: Path, backend: LocalBackend, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    queue_path = tmp_path / "worker-host" / "queue.sqlite"
    worker_settings = ServeSettings(
        queue=queue_path, reasoner="offline", draft_report=True, reports=f"s3://{BUCKET}/teams/payments"
    )
    queue = InvestigationQueue(queue_path, rng=random.Random(0))
    _, job_id = queue.enqueue(frontend_alarm())
    assert job_id is not None

    build_worker(worker_settings, queue, backend).drain()

    job = queue.get(job_id)
    assert job is not None and job.status == JobStatus.DONE and job.result is not None
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert f"teams/payments/{job_id}/result.json" in keys
    html_key = f"teams/payments/{job_id}/{job.result['report']}"
    assert html_key in keys
    uploaded = s3.get_object(Bucket=BUCKET, Key=html_key)
    assert uploaded["ContentType"] == "text/html; charset=utf-8"

    # another host: the job store as it sees it (a copy here; one PostgreSQL in production), its own
    # empty results directory beside it, the same bucket
    intake_queue = tmp_path / "intake-host" / "queue.sqlite"
    intake_queue.parent.mkdir()
    with sqlite3.connect(queue_path) as source, sqlite3.connect(intake_queue) as copy:
        source.backup(copy)
    intake_settings = worker_settings.model_copy(
        update={"queue": intake_queue, "workers": 0, "secret": SECRET}
    )
    service = build_service(intake_settings, {}, backend=backend)
    with TestClient(service.app) as client:
        page = client.get(f"/investigations/{job_id}/report", headers={"authorization": f"Bearer {SECRET}"})

    assert page.status_code == 200
    assert page.text == uploaded["Body"].read().decode()
    assert (intake_queue.parent / "results" / job_id / "result.json").exists()  # fetched on demand


def test_a_directory_keeps_results_and_reports_there(
    tmp_path: Path, backend: LocalBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    shared = tmp_path / "shared-volume" / "sleuth-reports"
    settings = ServeSettings(queue=tmp_path / "q.sqlite", reasoner="offline", reports=str(shared))
    queue = InvestigationQueue(settings.queue, rng=random.Random(0))
    _, job_id = queue.enqueue(frontend_alarm())

    build_worker(settings, queue, backend).drain()

    job = queue.get(str(job_id))
    assert job is not None and job.result is not None
    assert (shared / str(job_id) / "result.json").exists()
    assert (shared / str(job_id) / job.result["report"]).exists()
    assert not (tmp_path / "results").exists()


def test_a_missing_bucket_is_one_line_at_start(tmp_path: Path, s3: Any) -> None:
    settings = ServeSettings(queue=tmp_path / "q.sqlite", reports="s3://no-such-bucket/x")

    with pytest.raises(ReportStorageError, match=r"^SLEUTH_REPORTS=s3://no-such-bucket/x: .*404"):
        open_results(settings, None)


@pytest.mark.parametrize(
    ("value", "message"),
    [("s3://", "expected s3://bucket/prefix"), ("gs://bucket/x", "expected s3://bucket/prefix")],
)
def test_a_bad_reports_value_is_one_line(value: str, message: str) -> None:
    with pytest.raises(ReportStorageError, match=message):
        parse_reports(value)


def test_a_reports_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("")
    with pytest.raises(ReportStorageError, match="is a file"):
        parse_reports(str(tmp_path / "reports"))


def test_a_failed_upload_fails_the_attempt_so_it_is_retried_not_reported_done(
    tmp_path: Path, backend: LocalBackend, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLEUTH_DATA_DIR", str(tmp_path / "data"))
    settings = ServeSettings(queue=tmp_path / "q.sqlite", reasoner="offline", reports=f"s3://{BUCKET}/p")
    queue = InvestigationQueue(settings.queue, rng=random.Random(0))
    _, job_id = queue.enqueue(frontend_alarm())
    worker = build_worker(settings, queue, backend)
    s3.delete_bucket(Bucket=BUCKET)  # gone after start-up (deleted, or permissions revoked)

    worker.run_once()

    job = queue.get(str(job_id))
    assert job is not None and job.status == JobStatus.QUEUED and job.attempts == 1
    assert re.match(
        rf"ReportStorageError: could not upload \S+ of {job_id} to s3://{BUCKET}/p: .*NoSuchBucket",
        job.error or "",
    )
