"""Answer selected AWS operations on a botocore client without a network, moto or not.

botocore emits ``before-parameter-build`` with the API parameters and then ``before-call``; a
``before-call`` handler that returns ``(http_response, parsed)`` replaces the HTTP exchange (this
is how ``botocore.stub.Stubber`` works). Unlike a Stubber, a :class:`Responders` only takes the
operations it is given, so the others still reach moto. Responses are validated against the
operation's output shape, like Stubber's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class AwsErrorResponse(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class Responders:
    """Per-operation handlers on one client. ``calls`` records (operation, params) in order."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._handlers: dict[str, Handler] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.service_id = client.meta.service_model.service_id.hyphenize()
        for event, handler in self.event_handlers():
            client.meta.events.register(event, handler, unique_id=f"sleuth-{event}-{id(self)}")

    def event_handlers(self) -> list[tuple[str, Callable[..., Any]]]:
        """The botocore event handlers that answer; any client of the same service may use them."""
        return [
            (f"before-parameter-build.{self.service_id}", self._capture),
            (f"before-call.{self.service_id}", self._respond),
        ]

    def on(self, operation: str, handler: Handler) -> Responders:
        self._handlers[operation] = handler
        return self

    def off(self, operation: str) -> None:
        """Stop answering ``operation`` (it goes to moto, or the network, again)."""
        self._handlers.pop(operation, None)

    @contextmanager
    def replaced(self, operation: str, handler: Handler) -> Iterator[None]:
        """Answer ``operation`` with ``handler`` inside the block, as before after it."""
        previous = self._handlers.get(operation)
        self._handlers[operation] = handler
        try:
            yield
        finally:
            if previous is None:
                self._handlers.pop(operation, None)
            else:
                self._handlers[operation] = previous

    def _capture(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name in self._handlers:
            context["sleuth_params"] = copy.deepcopy(params)

    def _respond(
        self, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        handler = self._handlers.get(model.name)
        if handler is None:
            return None
        params = context.get("sleuth_params", {})
        self.calls.append((model.name, params))
        try:
            response = handler(params)
        except AwsErrorResponse as exc:
            parsed = {
                "Error": {"Code": exc.code, "Message": exc.message},
                "ResponseMetadata": {"HTTPStatusCode": exc.status},
            }
            return AWSResponse("https://fake.amazonaws.com", exc.status, {}, None), parsed  # type: ignore[arg-type]
        if model.output_shape is not None:
            validate_parameters(response, model.output_shape)
        parsed = {**copy.deepcopy(response), "ResponseMetadata": {"HTTPStatusCode": 200}}
        return AWSResponse("https://fake.amazonaws.com", 200, {}, None), parsed  # type: ignore[arg-type]


def strip_parameter(
    client: Any, operation: str, name: str, seen: list[Any]
) -> tuple[str, Callable[..., Any]]:
    """Drop a parameter moto cannot handle (recording it in ``seen``) before the request is built;
    returns the (event, handler) it registered."""
    service_id = client.meta.service_model.service_id.hyphenize()

    def drop(params: dict[str, Any], **_: Any) -> None:
        if name in params:
            seen.append(params.pop(name))

    event = f"before-parameter-build.{service_id}.{operation}"
    client.meta.events.register(event, drop)
    return event, drop


class CallRecorder:
    """Every API call the clients make, as IAM actions (``xray:GetTraceSummaries``)."""

    def __init__(self, clients: list[Any], prefixes: dict[str, str]) -> None:
        self.actions: list[str] = []
        for client in clients:
            model = client.meta.service_model
            prefix = prefixes[model.service_name]
            client.meta.events.register_first(
                f"before-parameter-build.{model.service_id.hyphenize()}",
                lambda model, prefix=prefix, **_: self.actions.append(f"{prefix}:{model.name}"),
            )
