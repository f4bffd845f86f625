"""What the agent raises. Each is a :class:`~mcp_server.errors.SleuthError`: the CLI prints it as one line."""

from __future__ import annotations

from typing import Any

from mcp_server.errors import SleuthError


class AwaitingReview(SleuthError):
    """The investigation paused for a person; resume it with ``agent.run.resume_investigation``."""

    def __init__(self, investigation_id: str, payload: Any) -> None:
        self.investigation_id = investigation_id
        self.payload = payload
        super().__init__(
            f"investigation {investigation_id} is waiting for review; resume it with --resume {investigation_id}"
        )


class UnknownInvestigationError(SleuthError):
    def __init__(self, investigation_id: str) -> None:
        self.investigation_id = investigation_id
        super().__init__(f"no checkpointed investigation with id {investigation_id!r}")


class IncompatibleCheckpointError(SleuthError):
    """The checkpoint was written by a version of Sleuth whose investigation state this one cannot read."""

    def __init__(self, investigation_id: str, problem: str) -> None:
        self.investigation_id = investigation_id
        super().__init__(
            f"investigation {investigation_id} was checkpointed by another version of Sleuth and cannot be "
            f"resumed by this one ({problem}); start it again"
        )


class ModelUnavailableError(SleuthError):
    """The model API kept failing after every retry; the caller falls back to the offline reasoner."""
