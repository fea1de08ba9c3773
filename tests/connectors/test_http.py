"""The shared HTTP client against a real loopback server: retries, rate limits, bad pages, no leaked secrets."""

from __future__ import annotations

import logging
import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from connectors.base import LinkHeaderPaginator
from connectors.http import ConnectorError, HttpClient, HttpSettings

TOKEN = "ghp_never_log_me"
FAST = HttpSettings(backoff_factor=0.01, backoff_max=0.05, retries=5, read_timeout=5)


def client(server: HTTPServer, **kwargs) -> HttpClient:
    return HttpClient(server.url_for("/"), headers={"Authorization": f"Bearer {TOKEN}"}, settings=FAST, **kwargs)


def test_429_with_retry_after_is_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/x").respond_with_json({"m": "slow"}, status=429, headers={"Retry-After": "1"})
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": True})
    started = time.monotonic()
    body, _ = client(httpserver).get_json("/x")
    assert body == {"ok": True}
    assert time.monotonic() - started >= 0.9  # the server's Retry-After was honoured


def test_403_secondary_rate_limit_with_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/x").respond_with_json({}, status=403, headers={"Retry-After": "0"})
    httpserver.expect_ordered_request("/x").respond_with_json([1])
    assert client(httpserver).get_json("/x")[0] == [1]


def test_403_without_retry_after_fails_clearly(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_json({"message": "Resource not accessible"}, status=403)
    with pytest.raises(ConnectorError, match="answered 403: Resource not accessible"):
        client(httpserver).get_json("/x")


def test_503_burst_then_success(httpserver: HTTPServer) -> None:
    for _ in range(3):
        httpserver.expect_ordered_request("/x").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    assert client(httpserver).get_json("/x")[0] == {"ok": 1}


def test_github_rate_limit_reset_is_waited_for(httpserver: HTTPServer) -> None:
    reset = int(time.time()) + 30
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    httpserver.expect_ordered_request("/x").respond_with_json({"message": "API rate limit exceeded"}, 403, headers)
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    waits: list[float] = []
    body, _ = client(httpserver, sleep=waits.append).get_json("/x")
    assert body == {"ok": 1}
    assert len(waits) == 1 and 25 <= waits[0] <= 32


def test_rate_limit_reset_beyond_max_wait_fails(httpserver: HTTPServer) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 7200)}
    httpserver.expect_request("/x").respond_with_json({"message": "API rate limit exceeded"}, 403, headers)
    with pytest.raises(ConnectorError, match="longer than the configured maximum wait"):
        client(httpserver, sleep=lambda s: None).get_json("/x")


def test_malformed_json_is_retried_then_names_the_url(httpserver: HTTPServer, caplog) -> None:
    httpserver.expect_request("/bad").respond_with_data("{not json", content_type="application/json")
    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectorError) as info:
        client(httpserver, sleep=lambda s: None).get_json("/bad", {"page": 2})
    assert f"{httpserver.url_for('/bad')} returned a body that is not valid JSON" in str(info.value)
    assert TOKEN not in str(info.value) + caplog.text


def test_malformed_page_then_good_page(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/p").respond_with_data("<html>proxy error", content_type="text/html")
    httpserver.expect_ordered_request("/p").respond_with_json([{"id": 1}])
    assert client(httpserver, sleep=lambda s: None).get_json("/p")[0] == [{"id": 1}]


def test_connection_reset_is_retried(httpserver: HTTPServer) -> None:
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        if calls["n"] == 1:
            # A response that promises more bytes than it sends: the connection drops mid-body.
            return Response(b'[{"id": 1}', headers={"Content-Length": "500"}, status=200)
        return Response(b'[{"id": 1}]', content_type="application/json")

    httpserver.expect_request("/r").respond_with_handler(handler)
    body, _ = client(httpserver, sleep=lambda s: None).get_json("/r")
    assert body == [{"id": 1}]
    assert calls["n"] >= 2


def test_link_header_pagination_terminates(httpserver: HTTPServer) -> None:
    base = httpserver.url_for("/items")
    for page in (1, 2, 3):
        headers = {"Link": f'<{base}?page={page + 1}>; rel="next"'} if page < 3 else {}
        httpserver.expect_request("/items", query_string=f"page={page}").respond_with_json([page], headers=headers)
    http = client(httpserver)
    bodies = [b for b, _ in LinkHeaderPaginator().pages(http, f"{base}?page=1", {})]
    assert bodies == [[1], [2], [3]]


def test_errors_never_carry_credentials(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/secret").respond_with_json({"message": "Bad credentials"}, status=401)
    user_url = httpserver.url_for("/secret").replace("http://", f"http://user:{TOKEN}@")
    with pytest.raises(ConnectorError) as info:
        HttpClient(user_url, settings=FAST).get_json("", {"access_token": TOKEN})
    assert TOKEN not in str(info.value)
    assert "answered 401: Bad credentials" in str(info.value)
