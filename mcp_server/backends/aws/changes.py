"""CloudTrail LookupEvents: deployments and configuration changes as ChangeEvents.

One lookup per configured event name (LookupEvents takes one attribute per call and is limited to
2 calls per second per account; throttled calls back off and retry within the call's deadline).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from mcp_server.backends.aws.calls import ApiCaller
from mcp_server.telemetry import ChangeEvent, ChangeKind, TimeWindow

# request parameter naming the changed resource, per event name
_RESOURCE_PARAMETERS = (
    "functionName",
    "service",
    "applicationName",
    "name",
    "stackName",
    "autoScalingGroupName",
)
_VERSION_PARAMETERS = ("taskDefinition", "imageUri", "s3ObjectVersion", "version", "configurationVersion")


class ChangeReader:
    def __init__(self, client: Any, calls: ApiCaller, now: Any) -> None:
        self._client = client
        self._calls = calls
        self._config = calls.config
        self._notes = calls.notes
        self._now = now

    def list(
        self, window: TimeWindow | None, service: str | None, kinds: list[ChangeKind] | None
    ) -> list[ChangeEvent]:
        if window is None:
            end = self._now()
            window = TimeWindow(start=end - timedelta(days=1), end=end)
        changes: list[ChangeEvent] = []
        for event_name, kind in self._config.change_events.items():
            if kinds is not None and ChangeKind(kind) not in kinds:
                continue
            events = list(
                self._calls.pages(
                    "cloudtrail:LookupEvents",
                    self._client,
                    "lookup_events",
                    "Events",
                    self._config.max_change_events,
                    LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}],
                    StartTime=window.start,
                    EndTime=window.end,
                )
            )
            if len(events) >= self._config.max_change_events:
                self._notes.add(
                    "changes", f"CloudTrail {event_name}: read the first {len(events)} events only"
                )
            for event in events:
                change = self.to_change(event, ChangeKind(kind))
                if (
                    change is not None
                    and (service is None or change.service == service)
                    and window.contains(change.time)
                ):
                    changes.append(change)
        return sorted(changes, key=lambda c: (c.time, c.service))

    def to_change(self, event: dict[str, Any], kind: ChangeKind) -> ChangeEvent | None:
        try:
            detail = json.loads(event.get("CloudTrailEvent") or "{}")
        except ValueError:
            detail = {}
        if detail.get("errorCode"):
            return None  # a failed call changed nothing
        request = detail.get("requestParameters") or {}
        response = detail.get("responseElements") or {}
        resource = next((str(request[p]) for p in _RESOURCE_PARAMETERS if request.get(p)), None)
        if resource is None:
            resources = event.get("Resources") or []
            resource = str(resources[0]["ResourceName"]) if resources else None
        if resource is None:
            return None
        service = self._service_for(resource)
        version = next((str(request[p]) for p in _VERSION_PARAMETERS if request.get(p)), None)
        if version is None and isinstance(response, dict):
            version = response.get("version") or response.get("codeSha256")
        if version and version.startswith("arn:"):
            version = version.rsplit("/", 1)[-1]
        previous = _previous_version(response)
        identity = detail.get("userIdentity") or {}
        time = event["EventTime"]
        if not isinstance(time, datetime):
            time = datetime.fromisoformat(str(time))
        return ChangeEvent(
            time=time,
            service=service,
            kind=kind,
            version=str(version) if version else None,
            previous_version=previous,
            description=str(request.get("description") or f"{event.get('EventName')} on {resource}"),
            actor=str(event.get("Username") or identity.get("arn") or ""),
            id=str(event.get("EventId")) if event.get("EventId") else None,
            attributes={
                "cloudtrail.event_name": str(event.get("EventName", "")),
                "cloudtrail.event_source": str(event.get("EventSource", "")),
                "aws.resource": resource,
            },
        )

    def _service_for(self, resource: str) -> str:
        if resource in self._config.resource_services:
            return self._config.resource_services[resource]
        name = resource.rsplit("/", 1)[-1].rsplit(":", 1)[-1] if resource.startswith("arn:") else resource
        return self._config.resource_services.get(name, name)


def _previous_version(response: Any) -> str | None:
    """ECS UpdateService answers with the service's deployments: the ACTIVE one is being replaced."""
    if not isinstance(response, dict):
        return None
    deployments = (response.get("service") or {}).get("deployments") or []
    old = next((d for d in deployments if d.get("status") == "ACTIVE" and d.get("taskDefinition")), None)
    if old is None:
        return None
    return str(old["taskDefinition"]).rsplit("/", 1)[-1]
