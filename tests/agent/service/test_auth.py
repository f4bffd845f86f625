from __future__ import annotations

from agent.service.auth import ReportLinks, authorized, signed_headers

SECRET = "s3cret"
NOW = 1_800_000_000.0


def test_a_fresh_timestamped_hmac_authenticates_the_body() -> None:
    headers = signed_headers(SECRET, b"{}", now=NOW)

    assert authorized(SECRET, headers, b"{}", now=NOW + 60)
    assert not authorized(SECRET, headers, b"{ }", now=NOW + 60)


def test_a_replayed_hmac_older_than_five_minutes_is_refused() -> None:
    headers = signed_headers(SECRET, b"{}", now=NOW)

    assert not authorized(SECRET, headers, b"{}", now=NOW + 301)


def test_an_hmac_without_a_timestamp_is_refused() -> None:
    headers = signed_headers(SECRET, b"{}", now=NOW)
    del headers["x-sleuth-timestamp"]

    assert not authorized(SECRET, headers, b"{}", now=NOW)


def test_tokens_authenticate_and_nothing_does_without_a_secret() -> None:
    assert authorized(SECRET, {"authorization": f"Bearer {SECRET}"}, b"")
    assert authorized(SECRET, {"x-sleuth-token": SECRET}, b"")
    assert not authorized(SECRET, {"x-sleuth-token": "nope"}, b"")
    assert not authorized(None, {"x-sleuth-token": ""}, b"")


def test_a_report_link_opens_its_own_report_only_and_expires() -> None:
    links = ReportLinks("https://sleuth.example.com/", SECRET, lifetime=3600)
    url = links.url("abc123", now=NOW)
    query = dict(part.split("=") for part in url.split("?", 1)[1].split("&"))

    assert url.startswith("https://sleuth.example.com/investigations/abc123/report?")
    assert links.valid("abc123", query["expires"], query["signature"], now=NOW + 10)
    assert not links.valid("other", query["expires"], query["signature"], now=NOW + 10)
    assert not links.valid("abc123", query["expires"], query["signature"], now=NOW + 3601)
    assert not ReportLinks("https://x", "other-secret").valid(
        "abc123", query["expires"], query["signature"], now=NOW
    )
