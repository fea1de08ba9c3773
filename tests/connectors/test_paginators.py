"""Each paginator against a loopback fake of the API that pages that way, and the progress lines of a read."""

from __future__ import annotations

import copy
import logging
from urllib.parse import urlencode

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from connectors import base
from connectors.base import BodyNextUrlPaginator, NextPageHeaderPaginator, NextPageTokenPaginator, RangePaginator
from connectors.http import ConnectorError, HttpClient, HttpSettings
from connectors.opsgenie import OpsgenieConnector, OpsgenieMapping
from tests.conftest import example
from tests.connectors.fakes import FakeApi, fake_opsgenie, json_response

FAST = HttpSettings(backoff_factor=0.001, backoff_max=0.01)


def gitlab_deployments(n: int) -> list[dict]:
    template = example("gitlab/deployments")[0]
    items = []
    for i in range(n):
        item = copy.deepcopy(template)
        item.update(id=1000 + i, iid=i + 1)
        items.append(item)
    return items


def test_next_page_header_paginator_walks_gitlab_offset_pages(httpserver: HTTPServer) -> None:
    items = gitlab_deployments(23)

    def handler(request: Request) -> Response:
        """GitLab: `page`/`per_page`; `X-Next-Page` holds the next page, empty on the last one."""
        per_page, page = int(request.args["per_page"]), int(request.args.get("page", 1))
        last = -(-len(items) // per_page)
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Next-Page": str(page + 1) if page < last else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
            "X-Total": str(len(items)),
            "X-Total-Pages": str(last),
        }
        return json_response(items[(page - 1) * per_page : page * per_page], headers=headers)

    httpserver.expect_request("/api/v4/projects/7/deployments").respond_with_handler(handler)
    http = HttpClient(httpserver.url_for("/api/v4"), settings=FAST)
    pages = list(NextPageHeaderPaginator().pages(http, "projects/7/deployments", {"per_page": 10, "sort": "asc"}))
    assert [len(body) for body, _ in pages] == [10, 10, 3]
    assert [d["id"] for body, _ in pages for d in body] == [d["id"] for d in items]
    pages_asked = [r.args.get("page", "1") for r, _ in httpserver.log]
    assert pages_asked == ["1", "2", "3"]
    assert all(r.args["sort"] == "asc" for r, _ in httpserver.log), "the other parameters are kept"


def test_next_page_header_missing_ends_the_stream(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/items").respond_with_json([1, 2])  # no X-Next-Page at all (e.g. > 10,000 rows)
    http = HttpClient(httpserver.url_for("/"), settings=FAST)
    assert [body for body, _ in NextPageHeaderPaginator().pages(http, "items", {})] == [[1, 2]]


def test_body_next_url_paginator_follows_opsgenie_paging_next(httpserver: HTTPServer) -> None:
    alerts = example("opsgenie/alerts")["data"]

    def handler(request: Request) -> Response:
        offset, limit = int(request.args.get("offset", 0)), int(request.args["limit"])
        data = [dict(alerts[i % 2], id=f"a{i}") for i in range(offset, min(offset + limit, 5))]
        paging = {"first": httpserver.url_for("/v2/alerts")}
        if offset + limit < 5:
            query = urlencode({**request.args.to_dict(), "offset": offset + limit})
            paging["next"] = f"{httpserver.url_for('/v2/alerts')}?{query}"
        return json_response({"data": data, "paging": paging, "took": 0.1, "requestId": "x"})

    httpserver.expect_request("/v2/alerts").respond_with_handler(handler)
    http = HttpClient(httpserver.url_for("/"), settings=FAST)
    pages = list(BodyNextUrlPaginator().pages(http, "v2/alerts", {"limit": 2, "query": "teams:ops"}))
    assert [[a["id"] for a in body["data"]] for body, _ in pages] == [["a0", "a1"], ["a2", "a3"], ["a4"]]
    assert all(r.args["query"] == "teams:ops" for r, _ in httpserver.log), "the next URL carries the query"


@pytest.mark.parametrize("kind", ["header", "body", "token"])
def test_a_server_repeating_its_next_page_is_not_paged_forever(httpserver: HTTPServer, kind: str) -> None:
    again = httpserver.url_for("/items") + "?page=2"
    answers = {
        "header": (NextPageHeaderPaginator(), json_response([1], headers={"X-Next-Page": "2"})),
        "body": (BodyNextUrlPaginator(), json_response({"data": [1], "paging": {"next": again}})),
        "token": (NextPageTokenPaginator(), json_response({"issues": [1], "nextPageToken": "t", "isLast": False})),
    }
    paginator, answer = answers[kind]
    httpserver.expect_request("/items").respond_with_response(answer)
    http = HttpClient(httpserver.url_for("/"), settings=FAST)
    with pytest.raises(ConnectorError, match="loops"):
        for n, _ in enumerate(paginator.pages(http, "items", {})):
            assert n < 5


def test_a_slow_stream_logs_progress_by_time_as_well_as_by_pages(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten pages can take long (rate limits, a slow API): a line also comes after PROGRESS_EVERY_SECONDS."""
    monkeypatch.setattr(base, "PROGRESS_EVERY_SECONDS", 0.0)  # every page is "late"
    api = FakeApi(httpserver)
    fixture = fake_opsgenie(api)
    settings = OpsgenieConnector.settings_model.model_validate({**fixture.settings, "token": None})
    connector = OpsgenieConnector(settings, {"shop": OpsgenieMapping(team="shop-oncall")})
    with caplog.at_level(logging.DEBUG, logger="connectors.opsgenie"):
        params = {"query": "teams:shop-oncall", "limit": 3}
        list(connector.read(connector.stream("alerts"), {"team": "shop-oncall"}, params))
    lines = [r.getMessage() for r in caplog.records if r.name == "connectors.opsgenie"]
    assert lines[:3] == [
        "opsgenie.alerts [shop-oncall]: reading 1 pages, 3 records, " + lines[0].rsplit(", ", 1)[1],
        "opsgenie.alerts [shop-oncall]: reading 2 pages, 6 records, " + lines[1].rsplit(", ", 1)[1],
        "opsgenie.alerts [shop-oncall]: reading 3 pages, 7 records, " + lines[2].rsplit(", ", 1)[1],
    ]
    assert lines[-1].startswith("opsgenie.alerts [shop-oncall]: read 3 pages, 7 records")
    levels = [r.levelno for r in caplog.records if r.name == "connectors.opsgenie"]
    assert levels == [logging.INFO] * 3 + [logging.DEBUG]  # a partition's end is a detail; its progress is not


def test_range_paginator_walks_jenkins_ranges_and_refuses_a_server_ignoring_them(httpserver: HTTPServer) -> None:
    numbers = list(range(7, 0, -1))

    def handler(request: Request) -> Response:
        """Jenkins: `tree=allBuilds[number]{M,N}`, elements M (inclusive) to N (exclusive)."""
        start, end = request.args["tree"].removeprefix("allBuilds[number]{").removesuffix("}").split(",")
        return json_response({"allBuilds": [{"number": n} for n in numbers[int(start) : int(end)]]})

    httpserver.expect_request("/job/x/api/json").respond_with_handler(handler)
    http = HttpClient(httpserver.url_for("/"), settings=FAST)
    params = {"tree": "allBuilds[number]", "page_size": 3}
    pages = list(RangePaginator().pages(http, "job/x/api/json", params))
    assert [[b["number"] for b in body["allBuilds"]] for body, _ in pages] == [[7, 6, 5], [4, 3, 2], [1]]
    assert [r.args["tree"] for r, _ in httpserver.log] == [f"allBuilds[number]{{{m},{m + 3}}}" for m in (0, 3, 6)]
    assert all("page_size" not in r.args for r, _ in httpserver.log), "the range's width is not a Jenkins parameter"

    httpserver.clear()
    httpserver.expect_request("/job/x/api/json").respond_with_json({"allBuilds": [{"number": n} for n in numbers]})
    with pytest.raises(ConnectorError, match="loops"):
        for n, _ in enumerate(RangePaginator().pages(http, "job/x/api/json", params)):
            assert n < 5
