"""Load check for alarm intake: 500 notifications with duplicates, redeliveries and a crash.

Starts ``sleuth serve`` on loopback (intake only: ``--workers 0``), sends 500 EventBridge and
Alertmanager notifications from 8 threads (redeliveries of the same event id, the same alarm
firing again within the dedup window, resolutions), kills the service with SIGKILL midway,
restarts it, and lets senders retry what failed (as SNS and Alertmanager do). Then it checks the
durable queue: exactly one investigation per distinct alarm firing, every delivery recorded
once, nothing lost. Run: ``python -m evals.bench.alarm_load``.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

SECRET = "load-check-secret"


@dataclass(frozen=True)
class Notification:
    route: str
    body: bytes
    message_id: str
    alarm: str
    firing: bool


def _eventbridge(event_id: str, alarm: str, state: str, minute: int) -> bytes:
    return json.dumps(
        {
            "version": "0",
            "id": event_id,
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "time": f"2026-01-01T10:{minute:02d}:00Z",
            "region": "eu-west-1",
            "detail": {
                "alarmName": alarm,
                "state": {
                    "value": state,
                    "reason": "load check",
                    "timestamp": f"2026-01-01T10:{minute:02d}:00Z",
                },
                "configuration": {
                    "metrics": [
                        {"metricStat": {"metric": {"name": "Fault", "dimensions": {"Service": "visits"}}}}
                    ]
                },
            },
        }
    ).encode()


def _alertmanager(alarm: str, status: str, minute: int) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "status": status,
            "groupKey": alarm,
            "alerts": [
                {
                    "status": status,
                    "labels": {"alertname": alarm, "service": "billing"},
                    "annotations": {"summary": "load check"},
                    "startsAt": f"2026-01-01T10:{minute:02d}:00Z",
                    "endsAt": f"2026-01-01T10:{minute + 20:02d}:00Z",
                    "fingerprint": alarm,
                }
            ],
        }
    ).encode()


def build_notifications(distinct_alarms: int, seed: int) -> list[Notification]:
    """Each alarm fires once; some are redelivered, re-fire within the window, or resolve."""
    rng = random.Random(seed)
    out: list[Notification] = []
    for index in range(distinct_alarms):
        alarm = f"load-alarm-{index:03d}"
        minute = rng.randrange(0, 30)
        if index % 2 == 0:
            first = Notification(
                "/alarms/eventbridge",
                _eventbridge(f"eb-{index}", alarm, "ALARM", minute),
                f"eb-{index}",
                alarm,
                True,
            )
            out.append(first)
            if rng.random() < 0.4:
                out.append(first)  # redelivery: same id
            if rng.random() < 0.3:
                out.append(
                    Notification(
                        "/alarms/eventbridge",
                        _eventbridge(f"eb-{index}-again", alarm, "ALARM", minute + 5),
                        f"eb-{index}-again",
                        alarm,
                        True,
                    )
                )
            if rng.random() < 0.3:
                out.append(
                    Notification(
                        "/alarms/eventbridge",
                        _eventbridge(f"eb-{index}-ok", alarm, "OK", minute + 9),
                        f"eb-{index}-ok",
                        alarm,
                        False,
                    )
                )
        else:
            body = _alertmanager(alarm, "firing", minute)
            out.append(Notification("/alarms/alertmanager", body, alarm, alarm, True))
            if rng.random() < 0.7:
                out.append(Notification("/alarms/alertmanager", body, alarm, alarm, True))  # redelivery
            if rng.random() < 0.3:
                out.append(
                    Notification(
                        "/alarms/alertmanager", _alertmanager(alarm, "resolved", minute), alarm, alarm, False
                    )
                )
    rng.shuffle(out)
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(port: int, queue: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent.cli",
            "serve",
            "--port",
            str(port),
            "--queue",
            str(queue),
            "--workers",
            "0",
            "--secret",
            SECRET,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the service did not start within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alarms", type=int, default=300, help="distinct alarms (about 500 notifications)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    notifications = build_notifications(args.alarms, args.seed)[:500]
    expected_jobs = len({n.alarm for n in notifications if n.firing})
    expected_deliveries = len({(n.route, n.message_id, n.firing) for n in notifications})

    workdir = Path(tempfile.mkdtemp(prefix="sleuth-load-"))
    queue = workdir / "queue.sqlite"
    port = _free_port()
    holder = {"process": _start(port, queue)}
    lock = threading.Lock()
    sent = iter(range(len(notifications)))
    retries = 0
    restarted = threading.Event()

    def sender() -> None:
        nonlocal retries
        with httpx.Client(timeout=5.0) as client:
            while True:
                with lock:
                    index = next(sent, None)
                if index is None:
                    return
                note = notifications[index]
                while True:
                    try:
                        response = client.post(
                            f"http://127.0.0.1:{port}{note.route}",
                            content=note.body,
                            headers={"x-sleuth-token": SECRET},
                        )
                        if response.status_code == 202:
                            break
                        raise RuntimeError(f"{note.route} answered {response.status_code}: {response.text}")
                    except httpx.TransportError:
                        with lock:
                            retries += 1
                        restarted.wait(10)

    started = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    while _count(queue) < len(notifications) // 2:
        time.sleep(0.01)
    holder["process"].send_signal(signal.SIGKILL)  # a crash, not a clean shutdown
    holder["process"].wait()
    holder["process"] = _start(port, queue)
    restarted.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    holder["process"].terminate()
    holder["process"].wait()

    with sqlite3.connect(queue) as con:
        jobs = con.execute("SELECT count(*), count(DISTINCT alarm_name) FROM jobs").fetchone()
        deliveries = con.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    ok = jobs[0] == expected_jobs == jobs[1] and deliveries == expected_deliveries
    print(
        f"notifications: {len(notifications)} from {args.threads} threads in {elapsed:.2f}s "
        f"({len(notifications) / elapsed:.0f}/s), killed and restarted once, {retries} sends retried"
    )
    print(f"investigations: {jobs[0]} (expected {expected_jobs}, distinct alarms {jobs[1]})")
    print(f"deliveries recorded: {deliveries} (expected {expected_deliveries})")
    print("result: " + ("PASS none lost, none duplicated" if ok else "FAIL"))
    if not ok:
        raise SystemExit(1)


def _count(queue: Path) -> int:
    try:
        with sqlite3.connect(queue, timeout=5) as con:
            return int(con.execute("SELECT count(*) FROM deliveries").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


if __name__ == "__main__":
    main()
