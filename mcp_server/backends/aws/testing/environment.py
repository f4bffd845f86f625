"""A scenario in moto and responders for every boto3 client made in this process.

``load_scenario`` answers through the clients it builds; a command under test (``sleuth
investigate --backend aws``) builds its own from a fresh ``boto3.Session``. Inside
:func:`scenario_environment` every new botocore session gets the loaded scenario's responders
as built-in handlers (the way moto installs itself), so those clients read the same scenario:
moto for what moto models, responders for the rest.

    with scenario_environment(directory) as loaded:
        CliRunner().invoke(app, ["investigate", "--backend", "aws", "--region", "us-east-1", ...])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

from botocore import handlers

from mcp_server.backends.aws.testing.scenario_loader import LoadedScenario, load_scenario


@contextmanager
def scenario_environment(directory: str | Path, **options: Any) -> Iterator[LoadedScenario]:
    from moto import mock_aws

    with mock_aws():
        loaded = load_scenario(directory, **options)
        extra = [pair for r in loaded.responders.values() for pair in r.event_handlers()]
        extra += loaded.extra_handlers
        with patch.object(handlers, "BUILTIN_HANDLERS", [*handlers.BUILTIN_HANDLERS, *extra]):
            try:
                yield loaded
            finally:
                for client in loaded.clients.all():
                    client.close()
