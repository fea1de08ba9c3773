"""GitHub specifics through REST (`api: rest`): pull requests past the 250-commit cap, and newest-first streams stopping
at the cursor. The GraphQL path's own: tests/connectors/test_github_graphql.py."""

from __future__ import annotations

import copy
import logging
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from connectors.base import Checkpoint, Page, Record
from connectors.github import PULL_COMMITS_CAP, GithubConnector, GithubMapping
from connectors.http import HttpSettings
from tests.conftest import example
from tests.connectors.fakes import START, FakeApi, json_response, link_page, ts

REPO = "/repos/acme/big"


def connector(server: HTTPServer, page_size: int, api: str = "rest") -> GithubConnector:
    settings = GithubConnector.settings_model.model_validate(
        {"api_url": server.url_for("/"), "page_size": page_size, "api": api}
    )
    gh = GithubConnector(settings, {"big": GithubMapping(repo="acme/big")})
    gh.client.settings = HttpSettings(backoff_factor=0.001, backoff_max=0.01)
    return gh


def sync(gh: GithubConnector, cursors: dict[tuple[str, str], datetime] | None = None) -> tuple[dict, list]:
    records: dict[str, list[Record]] = {}
    checkpoints: list[Checkpoint] = []
    for event in gh.sync(lambda stream, partition: (cursors or {}).get((stream, partition))):
        if isinstance(event, Page):
            records.setdefault(event.stream, []).extend(event.records)
        else:
            checkpoints.append(event)
    return records, checkpoints


def commit(n: int) -> dict[str, Any]:
    c = copy.deepcopy(example("github/commits")[0])
    c["sha"] = f"{n:040x}"
    c["commit"]["author"]["date"] = ts(n)
    return c


def pull(number: int, **extra: Any) -> dict[str, Any]:
    p = copy.deepcopy(example("github/pulls")[0])
    p.update(id=9000 + number, number=number, updated_at=ts(-number), merged_at=ts(-number), **extra)
    p["base"] = {"ref": "main", "sha": f"{number:036x}ba5e"}
    p["head"] = {"ref": f"feature-{number}", "sha": f"{number:036x}beef"}
    return p


def test_pull_requests_past_250_commits_are_read_with_compare(httpserver: HTTPServer) -> None:
    sizes = {1: 300, 2: 249, 3: 260}  # 3 reports its count, as a single-pull payload does
    commits = {n: [commit(n * 1000 + i) for i in range(size)] for n, size in sizes.items()}
    pulls = [pull(1), pull(2), pull(3, commits=260)]
    api = FakeApi(httpserver)

    def compare(request: Request, m: re.Match) -> Response:
        """`/compare/{base}...{head}`: every commit, paged, under `commits` (GitHub caps a page, not the total)."""
        number = next(p["number"] for p in pulls if (p["base"]["sha"], p["head"]["sha"]) == (m["base"], m["head"]))
        items = commits[number]
        per_page, page = int(request.args.get("per_page", 250)), int(request.args.get("page", 1))
        headers = {}
        if page * per_page < len(items):
            query = urlencode({**request.args.to_dict(), "page": page + 1})
            headers["Link"] = f'<{httpserver.url_for(request.path)}?{query}>; rel="next"'
        chunk = items[(page - 1) * per_page : page * per_page]
        return json_response({"total_commits": len(items), "commits": chunk}, headers=headers)

    api.route(REPO + "/pulls", lambda r, m: link_page(r, pulls, httpserver))
    api.route(REPO + r"/pulls/(?P<n>\d+)/commits", lambda r, m: link_page(r, commits[int(m["n"])][:250], httpserver))
    api.route(REPO + r"/compare/(?P<base>\w+)\.\.\.(?P<head>\w+)", compare)
    api.route(REPO + "/(deployments|commits)", lambda r, m: json_response([]))

    records, _ = sync(connector(httpserver, page_size=100))

    by_pull: dict[int, list[Record]] = {}
    for r in records["pull_commits"]:
        by_pull.setdefault(r.context["pull_number"], []).append(r)
    assert {n: len(rs) for n, rs in by_pull.items()} == sizes
    assert [r.payload["sha"] for r in by_pull[1]] == [c["sha"] for c in commits[1]]
    assert by_pull[1][0].pk == f"acme/big:1:{commits[1][0]['sha']}"
    assert by_pull[1][0].context == {"repo": "acme/big", "pull_number": 1}
    paths = [r.path for r in api.requests]
    assert not any(p.endswith("/pulls/3/commits") for p in paths), "a reported count past the cap goes to compare"
    assert sum("/compare/" in p for p in paths) == 3 + 3  # 300 and 260 commits: 3 pages of 100 each
    assert not any(pull(2)["head"]["sha"] in p for p in paths), "249 commits: no compare"
    assert PULL_COMMITS_CAP == 250


def test_deployments_stop_paging_past_the_cursor_minus_lookback(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    deployment = example("github/deployments")[0]
    deployments = []
    for i in range(25):  # newest first, one an hour
        d = copy.deepcopy(deployment)
        d.update(id=500 - i, created_at=ts(-60 * i), updated_at=ts(-60 * i))
        deployments.append(d)
    api = FakeApi(httpserver)
    api.route(REPO + "/deployments", lambda r, m: link_page(r, deployments, httpserver))
    api.route(REPO + r"/deployments/(?P<d>\d+)/statuses", lambda r, m: json_response([]))
    api.route(REPO + "/(pulls|commits)", lambda r, m: json_response([]))

    # The stored cursor minus the lookback falls between deployments 12 and 13 (page 3 of 5).
    lower = START - timedelta(minutes=60 * 12 + 30)
    gh = connector(httpserver, page_size=5)
    gh.child_progress(gh.stream("deployment_statuses")).every = 5
    with caplog.at_level(logging.INFO, logger="connectors.github"):
        records, checkpoints = sync(gh, {("deployments", "acme/big"): lower})

    deployment_pages = [r for r in api.requests if r.path == REPO + "/deployments"]
    assert [r.args.get("page", "1") for r in deployment_pages] == ["1", "2", "3"]
    assert [r.payload["id"] for r in records["deployments"]] == [500 - i for i in range(13)]
    statuses_read = {int(r.path.split("/")[-2]) for r in api.requests if r.path.endswith("/statuses")}
    assert statuses_read == {500 - i for i in range(13)}, "statuses only of deployments inside the window"
    assert Checkpoint("deployments", "acme/big", START) in checkpoints
    # Child streams are never silent: an aggregate line every `every` parents.
    assert "github.deployment_statuses: read for 10 parents so far" in caplog.text
