"""The shared HTTP client against a real loopback server: retries, rate limits, bad pages, no leaked secrets."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest
import requests
from pytest_httpserver import HTTPServer

from connectors.base import LinkHeaderPaginator
from connectors.http import ConnectorError, HttpClient, HttpSettings

TOKEN = "ghp_never_log_me"
FAST = HttpSettings(backoff_factor=0.01, backoff_max=0.05, retries=5, read_timeout=5)


def client(server: HTTPServer, **kwargs) -> HttpClient:
    return HttpClient(server.url_for("/"), headers={"Authorization": f"Bearer {TOKEN}"}, settings=FAST, **kwargs)


def test_429_with_retry_after_is_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/x").respond_with_json({"m": "slow"}, status=429, headers={"Retry-After": "7"})
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": True})
    waits: list[float] = []
    body, _ = client(httpserver, sleep=waits.append).get_json("/x")
    assert body == {"ok": True}
    assert waits == [7]  # the server's Retry-After, not our backoff


def test_backoff_is_exponential_with_jitter_when_no_header_says_how_long(httpserver: HTTPServer) -> None:
    for _ in range(4):
        httpserver.expect_ordered_request("/x").respond_with_data("busy", status=503)  # no Retry-After
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    factor = 0.5
    settings = HttpSettings(backoff_factor=factor, backoff_max=60, retries=5)
    waits: list[float] = []
    http = HttpClient(httpserver.url_for("/"), settings=settings, sleep=waits.append)
    assert http.get_json("/x")[0] == {"ok": 1}
    assert len(waits) == 4, "every retry waits, the first one too"
    for attempt, wait in enumerate(waits, start=1):
        base = factor * 2 ** (attempt - 1)  # 0.5, 1, 2, 4
        assert base <= wait < base + factor, f"retry {attempt} waited {wait}"
    assert len({round(w - factor * 2**i, 6) for i, w in enumerate(waits)}) > 1, "no jitter"


def test_backoff_is_capped(httpserver: HTTPServer) -> None:
    for _ in range(3):
        httpserver.expect_ordered_request("/x").respond_with_data("busy", status=502)
    httpserver.expect_ordered_request("/x").respond_with_json([])
    waits: list[float] = []
    settings = HttpSettings(backoff_factor=10, backoff_max=12, retries=5)
    HttpClient(httpserver.url_for("/"), settings=settings, sleep=waits.append).get_json("/x")
    assert waits[1:] == [12, 12]


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


def test_exhausted_rate_limit_on_429_waits_for_the_reset_without_burning_retries(httpserver: HTTPServer) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 60)}
    httpserver.expect_ordered_request("/x").respond_with_json({"message": "API rate limit exceeded"}, 429, headers)
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    waits: list[float] = []
    assert client(httpserver, sleep=waits.append).get_json("/x")[0] == {"ok": 1}
    assert len(waits) == 1 and 55 <= waits[0] <= 62  # one wait for the reset, no backoff retries before it
    assert len(httpserver.log) == 2


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


@contextmanager
def scripted_server(*answers: Callable[[socket.socket], None]) -> Iterator[tuple[str, list[int]]]:
    """A raw loopback HTTP server: the n-th connection is answered by `answers[n]` (the last one repeats).

    pytest-httpserver cannot break a response half-way: werkzeug fixes a lying Content-Length.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    served = [0]

    def answer(conn: socket.socket, script: Callable[[socket.socket], None]) -> None:
        with conn, suppress(OSError):  # OSError: the client gave up on this connection first
            conn.recv(65536)
            script(conn)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            script = answers[min(served[0], len(answers) - 1)]
            served[0] += 1
            # One thread per connection: a stalled answer must not hold up the client's retry.
            threading.Thread(target=answer, args=(conn, script), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", served
    finally:
        listener.close()


def ok(conn: socket.socket) -> None:
    body = b'[{"id": 1}]'
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n")
    conn.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def half_a_page(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n")
    conn.sendall(b'[{"id": 1}, {"id"')


def reset_mid_body(conn: socket.socket) -> None:
    half_a_page(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST, not FIN


def stall_mid_body(conn: socket.socket) -> None:
    half_a_page(conn)
    time.sleep(0.5)  # longer than the client's read timeout


def stall_before_headers(conn: socket.socket) -> None:
    time.sleep(0.5)


@pytest.mark.parametrize(
    "fault",
    [reset_mid_body, stall_mid_body, stall_before_headers],
    ids=["connection reset mid-body", "read timeout mid-body", "read timeout before headers"],
)
def test_broken_responses_are_retried(fault: Callable[[socket.socket], None], caplog) -> None:
    settings = HttpSettings(backoff_factor=0.01, backoff_max=0.05, retries=3, read_timeout=0.2)
    with scripted_server(fault, ok) as (url, served), caplog.at_level(logging.WARNING):
        http = HttpClient(url, headers={"Authorization": f"Bearer {TOKEN}"}, settings=settings, sleep=lambda s: None)
        assert http.get_json("/r", {"page": 2})[0] == [{"id": 1}]
    assert served[0] == 2
    assert "retry" in caplog.text and TOKEN not in caplog.text


def test_a_body_that_keeps_breaking_fails_naming_the_url() -> None:
    settings = HttpSettings(backoff_factor=0.01, retries=2)
    broke = r"GET http://127\.0\.0\.1:\d+/r failed: the connection broke"
    with scripted_server(reset_mid_body) as (url, served), pytest.raises(ConnectorError, match=broke) as info:
        HttpClient(url, settings=settings, sleep=lambda s: None).get_json("/r", {"token": TOKEN})
    assert TOKEN not in str(info.value)
    assert served[0] == 3


def test_absolute_urls_to_another_host_are_refused(httpserver: HTTPServer) -> None:
    """Link headers and `paging.next` are followed only on the API's own host: the session carries the token."""
    with pytest.raises(ConnectorError, match=r"refusing to follow http://elsewhere\.example/x"):
        client(httpserver).get_json("http://elsewhere.example/x?page=2")
    assert not httpserver.log


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


def test_the_environments_proxy_and_ca_bundle_are_honoured(httpserver: HTTPServer, monkeypatch) -> None:
    """The client reads the proxy variables and the CA bundle once, not on every request: still honoured. The
    loopback server stands in for a proxy; the API's host does not resolve, so only the proxy can answer."""
    httpserver.expect_request("/api/v4/projects").respond_with_json([{"id": 1}])
    monkeypatch.setenv("HTTP_PROXY", httpserver.url_for("/"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/opmetrics-test/ca.pem")
    http = HttpClient("http://gitlab.opmetrics.invalid/api/v4", settings=FAST)
    body, _ = http.get_json("projects")
    assert body == [{"id": 1}]
    assert http._session().verify == "/etc/opmetrics-test/ca.pem"


def test_every_request_carries_the_clients_headers_and_its_own_query_and_body(httpserver: HTTPServer) -> None:
    """Requests are copies of one prepared template (`HttpClient._prepare`): the query is encoded as requests
    encodes it (None left out, lists repeated, spaces as `+`), a POST's JSON body and Content-Type stay its own,
    and the credentials go with each one."""
    params = {"q": "a b/ü", "state": None, "labels": ["x", "y&z"], "per_page": 100, "all": True}
    expected = requests.Request("GET", httpserver.url_for("/search"), params=params).prepare().url.split("?")[1]
    httpserver.expect_request("/search").respond_with_json({"ok": 1})
    httpserver.expect_request("/graphql", method="POST").respond_with_json({"data": {}})
    http = client(httpserver)
    http.get_json("search", params)
    http.post_json("graphql", {"query": "{ viewer { login } }"})
    http.get_json("search")
    (first, _), (post, _), (last, _) = httpserver.log
    assert first.query_string.decode() == expected
    assert "state" not in first.args and first.args.getlist("labels") == ["x", "y&z"]
    assert post.get_json() == {"query": "{ viewer { login } }"}
    assert post.headers["Content-Type"] == "application/json"
    assert last.query_string == b"" and last.method == "GET" and "Content-Type" not in last.headers
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r, _ in httpserver.log)


def test_a_header_requests_refuses_fails_every_request_the_same_way(httpserver: HTTPServer) -> None:
    """A token with a trailing newline (a secret file read as is) is refused by requests before anything is sent:
    each request names the problem, not only the first."""
    http = HttpClient(httpserver.url_for("/"), headers={"Authorization": f"Bearer {TOKEN}\n"}, settings=FAST)
    for _ in range(2):
        with pytest.raises(ConnectorError, match="InvalidHeader") as info:
            http.get_json("anything")
        assert TOKEN not in str(info.value)
    assert not httpserver.log
