"""Open the telemetry backend a command asked for (``--backend local|aws``): the one place a
backend is constructed for an entry point (``agent/wiring.py`` calls it).

open_backend("local")                          # the default store (.data/store.duckdb)
open_backend("local", path="x.duckdb")         # a store file
open_backend("local", scenario="scenarios/x")  # a scenario directory, imported in memory
open_backend("local", scenario="scenarios/x", path="x.duckdb")  # ... imported into a store file
open_backend("aws")                            # AWS_PROFILE / AWS_REGION / $SLEUTH_AWS_CONFIG
open_backend("aws", region="eu-west-1", config_path="aws.yaml", session=boto3.Session(...))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from mcp_server.backends.base import TelemetryBackend
from mcp_server.errors import SleuthError

BackendKind = Literal["local", "aws"]
BACKEND_KINDS: tuple[str, ...] = get_args(BackendKind)

_LOCAL_OPTIONS = {"path", "scenario", "read_only", "memory"}
_AWS_OPTIONS = {"config", "config_path", "region", "profile", "session"}


def open_backend(kind: str = "local", **options: Any) -> TelemetryBackend:
    """A backend of ``kind``; unknown kinds and options are errors that name what is accepted."""
    if kind == "local":
        _check_options(kind, options, _LOCAL_OPTIONS)
        return _open_local(**options)
    if kind == "aws":
        _check_options(kind, options, _AWS_OPTIONS)
        return _open_aws(**options)
    raise SleuthError(f"unknown backend {kind!r}; choose one of: {', '.join(BACKEND_KINDS)}")


def _check_options(kind: str, options: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise SleuthError(
            f"backend {kind!r} does not take option(s) {', '.join(unknown)}; it takes {', '.join(sorted(allowed))}"
        )


def _open_local(
    path: str | Path | None = None,
    scenario: str | Path | None = None,
    read_only: bool = False,
    memory: bool = False,
) -> TelemetryBackend:
    from mcp_server.backends.local import LocalBackend
    from mcp_server.config import default_store_path
    from mcp_server.scenario import load_scenario_spec

    if scenario is not None:
        if path is not None and Path(path).exists():
            name = load_scenario_spec(Path(scenario)).name
            with LocalBackend(path, read_only=True) as existing:
                held = existing.scenario_spec()
            if held is not None and held.name == name:
                raise SleuthError(
                    f"scenario {name!r} is already in {path}; drop --data to investigate the store "
                    "(importing it again would count every span twice)"
                )
        return LocalBackend.from_scenario(Path(scenario), path)
    if memory:  # an empty store in memory: nothing loaded yet
        return LocalBackend(None)
    return LocalBackend(Path(path) if path is not None else default_store_path(), read_only=read_only)


def _open_aws(
    config: Any = None,
    config_path: str | Path | None = None,
    region: str | None = None,
    profile: str | None = None,
    session: Any = None,
) -> TelemetryBackend:
    from mcp_server.backends.aws import AwsBackend, AwsBackendConfig
    from mcp_server.backends.aws.clients import check_credentials, session_for

    if config is None:
        base = AwsBackendConfig.from_file(config_path) if config_path else AwsBackendConfig.from_env()
        overrides = {k: v for k, v in (("region", region), ("profile", profile)) if v is not None}
        config = base.model_copy(update=overrides) if overrides else base
    if not isinstance(config, AwsBackendConfig):
        raise SleuthError("the aws backend's config option must be an AwsBackendConfig")
    if session is None:  # a bad profile, no region or no credentials: one line now, not a traceback later
        session = session_for(config)
        check_credentials(session)
    return AwsBackend.from_session(session, config)
