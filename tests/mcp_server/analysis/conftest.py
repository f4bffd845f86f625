from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server.backends.local import LocalBackend
from tests.mcp_server.analysis.synthetic import Fault, Options, build_scenario


@pytest.fixture(scope="session")
def scenario_factory(tmp_path_factory: pytest.TempPathFactory):
    """Builds (and caches) a synthetic scenario and returns (directory, backend)."""
    cache: dict[str, tuple[Path, LocalBackend]] = {}

    def make(name: str, fault: Fault, options: Options | None = None) -> tuple[Path, LocalBackend]:
        if name not in cache:
            directory = build_scenario(tmp_path_factory.mktemp(name), fault, options)
            cache[name] = (directory, LocalBackend.from_scenario(directory))
        return cache[name]

    yield make
    for _, backend in cache.values():
        backend.close()
