from __future__ import annotations

from datetime import datetime

from mcp_server.analysis.log_patterns import changed_templates, mask, mine_templates
from mcp_server.backends.base import LogGroup
from mcp_server.telemetry import Severity
from tests.mcp_server.analysis.scopes import ONSET, T0, twenty_minutes

SCOPE = twenty_minutes()


def _group(body: str, count: int, severity: Severity = Severity.INFO, at: datetime = T0) -> LogGroup:
    return LogGroup(
        service="shop",
        severity=severity,
        pattern=mask(body),
        sample=body,
        count=count,
        first_seen=at,
        last_seen=at,
    )


def test_masking_hides_numbers_and_ids_but_keeps_words():
    assert mask("order 4412 for 3f2a9c1b7d took 12.5 ms") == "order <*> for <*> took <*> ms"


def test_a_template_never_seen_before_onset_is_reported_as_new_with_its_count():
    baseline = [_group("GET /cart 200 in 12 ms", 600)]
    incident = [
        _group("GET /cart 200 in 14 ms", 580, at=ONSET),
        _group("payment gateway refused card token abc: DeclinedException", 90, Severity.ERROR, ONSET),
    ]
    changes = changed_templates(mine_templates(baseline, incident), SCOPE)
    assert len(changes) == 1
    assert changes[0].status == "new"
    assert changes[0].template.incident == 90
    assert "DeclinedException" in changes[0].template.template


def test_steady_templates_and_background_noise_are_not_reported():
    baseline = [_group("GET /cart 200 in 12 ms", 600), _group("retrying lock on row 7", 2, Severity.WARN)]
    incident = [
        _group("GET /cart 200 in 15 ms", 640, at=ONSET),
        _group("retrying lock on row 9", 3, Severity.WARN),
    ]
    assert changed_templates(mine_templates(baseline, incident), SCOPE) == []


def test_a_surging_template_is_reported_without_error_severity():
    baseline = [_group("cache miss for key user 17", 10)]
    incident = [_group("cache miss for key user 99", 400, at=ONSET)]
    changes = changed_templates(mine_templates(baseline, incident), SCOPE)
    assert [c.status for c in changes] == ["surging"]
