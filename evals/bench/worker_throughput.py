"""End-to-end throughput of Celery workers: investigations per minute for 1, 2 and 3 workers.

Simulates one tiny incident into a store, then for each worker count starts that many
``sleuth worker --concurrency 1`` processes on ``SLEUTH_QUEUE=redis://127.0.0.1:6379/15`` sharing
one job store, enqueues distinct alarms, sends one wake-up task per job and waits until all are
done. Throughput is measured from the first claim to the last completion (worker start-up is not
counted). The offline reasoner, no COE draft. Needs the scale extra and a Redis on loopback.
Run: ``python -m evals.bench.worker_throughput [--jobs 24]``. The machine this was written on has
2 cores shared with other work: figures are noisy, and more than 2 CPU-bound workers cannot scale.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REDIS_URL = "redis://127.0.0.1:6379/15"


def _sleuth(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([sys.executable, "-m", "agent.cli", *args], check=True, env=env, capture_output=True)


def _round(root: Path, store: Path, workers: int, jobs: int) -> float:
    from agent.service.dispatch import CeleryDispatch, celery_app
    from agent.service.payloads import AlarmEvent, AlarmSource, AlarmStatus
    from agent.service.queue import InvestigationQueue

    queue_path = root / f"q{workers}.sqlite"
    name = f"sleuth-bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "SLEUTH_QUEUE": REDIS_URL, "SLEUTH_CELERY_QUEUE": name, "HF_HUB_OFFLINE": "1"}
    env["SLEUTH_DATA_DIR"] = str(root / "data")
    command = [sys.executable, "-m", "agent.cli", "worker", "--store", str(store), "--queue", str(queue_path)]
    command += ["--concurrency", "1", "--reasoner", "offline", "--no-draft-report"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        store_q = InvestigationQueue(queue_path)
        dispatch = CeleryDispatch(celery_app(REDIS_URL, queue=name), queue=name)
        for index in range(jobs):
            store_q.enqueue(
                AlarmEvent(
                    source=AlarmSource.EVENTBRIDGE,
                    message_id=f"bench-{index}",
                    alarm_name=f"bench-alarm-{index}",
                    status=AlarmStatus.FIRING,
                    time=datetime.now(UTC),
                    service="frontend",
                )
            )
            dispatch.wake()
        deadline = time.monotonic() + 900
        while store_q.counts().get("done", 0) < jobs:
            if time.monotonic() > deadline:
                raise SystemExit(f"{workers} worker(s): not done in 15 minutes: {store_q.counts()}")
            time.sleep(0.5)
        with sqlite3.connect(queue_path) as con:
            first, last = con.execute("SELECT min(claimed_at), max(updated_at) FROM jobs").fetchone()
        return jobs / ((last - first) / 60.0)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=24, help="investigations per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sleuth-bench-workers-") as tmp:
        root = Path(tmp)
        scenario, store = root / "scenario", root / "store.duckdb"
        _sleuth(
            "simulate",
            "--fault",
            "dependency_throttling",
            "--service",
            "visits",
            "--size",
            "tiny",
            "--seed",
            "1",
            "--out",
            str(scenario),
        )
        _sleuth("import", "--data", str(scenario), "--store", str(store))
        print(
            f"Celery workers on Redis, {args.jobs} offline investigations per round, {os.cpu_count()} cores"
        )
        for workers in (1, 2, 3):
            rate = _round(root, store, workers, args.jobs)
            print(f"  {workers} worker(s): {rate:6.1f} investigations/min")


if __name__ == "__main__":
    main()
