from __future__ import annotations

import socket
import sys

import pytest

from tests.simulated_reports import SimulatedReports


@pytest.fixture(scope="session")
def simulated_reports(tmp_path_factory: pytest.TempPathFactory) -> SimulatedReports:
    """Simulated incidents and their reports, made once per session for every module reading them."""
    return SimulatedReports(tmp_path_factory.mktemp("simulated-reports"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # moto imports aws_xray_sdk, whose module-level recorder opens a UDP socket for a local X-Ray
    # daemon and never closes it: the interpreter then warns about it at exit, after every test.
    core = sys.modules.get("aws_xray_sdk.core")
    emitter = getattr(getattr(core, "xray_recorder", None), "emitter", None)
    udp = getattr(emitter, "_socket", None)
    if isinstance(udp, socket.socket):
        udp.close()
