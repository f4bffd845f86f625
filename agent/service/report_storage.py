"""Where investigation results and drafted reports are kept: ``SLEUTH_REPORTS`` (``--reports``).

- unset: ``results/`` beside the job store (one host);
- a directory path: that directory (e.g. a volume every intake and worker mounts);
- ``s3://bucket/prefix``: an S3 bucket. Workers still write ``<results>/<job id>/`` locally, then
  upload every file of it to ``s3://bucket/prefix/<job id>/<file>``; an intake on another host
  that is asked for a result or report it does not have downloads that job's files first.

A failed upload fails the attempt (retried with backoff, then dead-lettered), so a result is never
reported finished while its report exists only on a worker's disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from agent.service.payloads import AlarmEvent
from agent.service.worker import Investigator, Progress
from mcp_server.errors import SleuthError

_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json", ".md": "text/markdown"}


class ReportStorageError(SleuthError):
    """The configured report storage cannot be used (bad value, missing bucket, failed upload)."""


class RemoteResults(Protocol):
    where: str

    def publish(self, job_id: str, directory: Path) -> list[str]:
        """Copy every file of ``directory`` (one job's results) to the remote store."""
        ...

    def fetch(self, job_id: str, directory: Path) -> bool:
        """Copy the job's files from the remote store into ``directory``; False when it has none."""
        ...


class S3Results:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.where = f"s3://{bucket}/{self.prefix}".rstrip("/")

    def _key(self, job_id: str, name: str = "") -> str:
        return "/".join(part for part in (self.prefix, job_id, name) if part)

    def check(self) -> None:
        """Fail at start-up, in one line, when the bucket cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # botocore raises many kinds for auth, network and missing buckets
            raise ReportStorageError(f"SLEUTH_REPORTS={self.where}: {_one_line(exc)}") from None

    def publish(self, job_id: str, directory: Path) -> list[str]:
        names: list[str] = []
        for path in sorted(p for p in directory.iterdir() if p.is_file()):
            extra = {"ContentType": _CONTENT_TYPES.get(path.suffix, "application/octet-stream")}
            try:
                self.client.upload_file(str(path), self.bucket, self._key(job_id, path.name), ExtraArgs=extra)
            except Exception as exc:  # boto3 transfer errors come in many kinds
                raise ReportStorageError(
                    f"could not upload {path.name} of {job_id} to {self.where}: {_one_line(exc)}"
                ) from None
            names.append(path.name)
        return names

    def fetch(self, job_id: str, directory: Path) -> bool:
        prefix = self._key(job_id) + "/"
        try:
            listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
            keys = [item["Key"] for item in listed.get("Contents", [])]
            if keys:
                directory.mkdir(parents=True, exist_ok=True)
            for key in keys:
                name = key[len(prefix) :]
                if name and "/" not in name:
                    self.client.download_file(self.bucket, key, str(directory / name))
        except Exception as exc:  # as above: one line naming the store
            raise ReportStorageError(f"could not read {job_id} from {self.where}: {_one_line(exc)}") from None
        return bool(keys)


def _one_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def parse_reports(value: str | None) -> tuple[Path | None, tuple[str, str] | None]:
    """``SLEUTH_REPORTS`` as (a directory, None) or (None, (bucket, prefix)); (None, None) when unset."""
    text = (value or "").strip()
    if not text:
        return None, None
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        if not bucket:
            raise ReportStorageError(f"SLEUTH_REPORTS={text!r}: expected s3://bucket/prefix or a directory")
        return None, (bucket, prefix)
    if "://" in text:
        raise ReportStorageError(f"SLEUTH_REPORTS={text!r}: expected s3://bucket/prefix or a directory")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise ReportStorageError(f"SLEUTH_REPORTS={text}: is a file; give a directory or s3://bucket/prefix")
    return path, None


def open_remote_results(bucket: str, prefix: str, client: Any = None) -> S3Results:
    """The S3 store (credentials, region and ``AWS_ENDPOINT_URL`` from the usual AWS chain), checked."""
    if client is None:
        import boto3

        client = boto3.client("s3")
    remote = S3Results(client, bucket, prefix)
    remote.check()
    return remote


class PublishingInvestigator:
    """Runs an investigator, then uploads the job's result directory to the remote store."""

    def __init__(self, investigate: Investigator, results_dir: Path, remote: RemoteResults) -> None:
        self.investigate = investigate
        self.results_dir = Path(results_dir)
        self.remote = remote

    def __call__(self, job_id: str, event: AlarmEvent, progress: Progress) -> dict[str, Any]:
        summary: dict[str, Any] = self.investigate(job_id, event, progress)
        self.remote.publish(job_id, self.results_dir / job_id)
        return summary
