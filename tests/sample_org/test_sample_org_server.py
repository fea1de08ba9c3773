"""The loopback server: routes, pagination as each vendor does it, authentication, and HTTP/1.1 keep-alive."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sample_org import Organisation, SampleServer

TOKENS = {
    "github": "gh-secret",
    "pagerduty": "pd-secret",
    "jira_user": "bot@acme.example",
    "jira": "jira-secret",
}
GH = {"Authorization": "Bearer gh-secret"}
PD = {"Authorization": "Token token=pd-secret"}
JIRA = {"Authorization": "Basic " + base64.b64encode(b"bot@acme.example:jira-secret").decode()}


@pytest.fixture(scope="module")
def server(org: Organisation) -> Iterator[SampleServer]:
    with SampleServer(org, tokens=TOKENS) as s:
        yield s


def walk_links(session: requests.Session, url: str, params: dict | None = None) -> tuple[list, list[str]]:
    """Follow GitHub `Link: rel="next"` to the end; returns the records and the URLs requested."""
    records, urls = [], []
    while url:
        r = session.get(url, params=params, headers=GH)
        assert r.status_code == 200, r.text
        records += r.json()
        urls.append(r.url)
        url, params = r.links.get("next", {}).get("url"), None
        assert len(urls) < 1000
    return records, urls


def test_github_link_pagination_returns_every_record_once(server: SampleServer, session: requests.Session,
                                                           org: Organisation) -> None:  # fmt: skip
    repo = org.github["acme/checkout"]
    commits, urls = walk_links(
        session, f"{server.url}/github/repos/acme/checkout/commits", {"sha": "main", "per_page": 7}
    )
    assert [c["sha"] for c in commits] == [c["sha"] for c in repo.commits]
    assert len(urls) == -(-len(repo.commits) // 7)
    for url in urls[1:]:
        query = parse_qs(urlsplit(url).query)
        assert url.startswith(server.url + "/github/repos/acme/checkout/commits?")
        assert query["sha"] == ["main"] and query["per_page"] == ["7"]
    first = session.get(f"{server.url}/github/repos/acme/checkout/commits", params={"per_page": 7}, headers=GH)
    assert parse_qs(urlsplit(first.links["last"]["url"]).query)["page"] == [str(len(urls))]
    assert int(first.headers["x-ratelimit-limit"]) > int(first.headers["x-ratelimit-remaining"]) > 0
    assert int(first.headers["x-ratelimit-reset"]) > 1_700_000_000
    # Defaults: 30 per page; 100 at most.
    assert len(first.json()) == 7
    assert len(session.get(first.url.split("?")[0], headers=GH).json()) == 30
    assert len(session.get(first.url.split("?")[0], params={"per_page": 500}, headers=GH).json()) == 100


def test_github_filters_and_orders(server: SampleServer, session: requests.Session, org: Organisation) -> None:
    base = f"{server.url}/github/repos/acme/checkout"
    deployments, _ = walk_links(session, f"{base}/deployments", {"environment": "production", "per_page": 100})
    assert deployments and {d["environment"] for d in deployments} == {"production"}
    created = [d["created_at"] for d in deployments]
    assert created == sorted(created, reverse=True)  # newest first
    statuses = session.get(f"{base}/deployments/{deployments[-1]['id']}/statuses", headers=GH).json()
    assert [s["state"] for s in statuses][-1] == "queued"  # newest first
    closed = {"state": "closed", "sort": "updated", "direction": "desc", "per_page": 50}
    pulls, _ = walk_links(session, f"{base}/pulls", closed)
    updated = [p["updated_at"] for p in pulls]
    assert updated == sorted(updated, reverse=True) and {p["state"] for p in pulls} == {"closed"}
    assert len(pulls) + sum(p["state"] == "open" for p in org.github["acme/checkout"].pulls) == len(
        org.github["acme/checkout"].pulls
    )
    assert all(p["state"] == "open" for p in session.get(f"{base}/pulls", headers=GH).json())  # default: open
    number = pulls[0]["number"]
    pr_commits = session.get(f"{base}/pulls/{number}/commits", headers=GH).json()
    assert pr_commits == org.github["acme/checkout"].pull_commits[number]
    window = {
        "sha": "main",
        "since": "2025-03-01T00:00:00Z",
        "until": "2025-03-31T23:59:59Z",
        "per_page": 100,
    }
    commits, _ = walk_links(session, f"{base}/commits", window)
    dates = {c["commit"]["committer"]["date"] for c in commits}
    assert commits and min(dates) >= "2025-03-01T00:00:00Z" and max(dates) <= "2025-03-31T23:59:59Z"
    tip = deployments[0]["sha"]
    history, _ = walk_links(session, f"{base}/commits", {"sha": tip, "per_page": 100})
    assert history[0]["sha"] == tip and len(history) <= len(org.github["acme/checkout"].commits)


def test_github_caps_pull_commits_at_250(org: Organisation) -> None:
    repo = org.github["acme/basket"]
    number = repo.pulls[0]["number"]
    saved = repo.pull_commits[number]
    repo.pull_commits[number] = [dict(saved[0], sha=f"{i:040x}") for i in range(300)]
    try:
        with SampleServer(org) as s:  # no tokens: authentication off
            url = f"{s.url}/github/repos/acme/basket/pulls/{number}/commits"
            items, urls = walk_links(requests.Session(), url, {"per_page": 100})
    finally:
        repo.pull_commits[number] = saved
    assert len(items) == 250 and len(urls) == 3


def test_github_errors(server: SampleServer, session: requests.Session) -> None:
    r = session.get(f"{server.url}/github/repos/acme/unknown/deployments", headers=GH)
    assert r.status_code == 404 and r.json()["message"] == "Not Found"
    r = session.get(f"{server.url}/github/repos/acme/checkout/commits", params={"sha": "f" * 40}, headers=GH)
    assert r.status_code == 404
    r = session.get(f"{server.url}/github/repos/acme/checkout/pulls", params={"state": "merged"}, headers=GH)
    assert r.status_code == 422


def test_pagerduty_offset_pagination_windows_and_the_10k_ceiling(
    server: SampleServer, session: requests.Session, org: Organisation
) -> None:
    ids = [s.pagerduty_service_id for s in org.services[:5]]
    seen = []
    windows = [
        ("2024-06-01T00:00:00Z", "2024-09-01T00:00:00Z"),
        ("2024-09-01T00:00:00Z", "2025-06-01T00:00:00Z"),
    ]
    for since, until in windows:
        offset, more = 0, True
        while more:
            params = {"since": since, "until": until, "offset": offset, "limit": 9, "service_ids[]": ids,
                      "sort_by": "created_at:asc"}  # fmt: skip
            body = session.get(f"{server.url}/pagerduty/incidents", params=params, headers=PD).json()
            assert set(body) == {"incidents", "limit", "offset", "more", "total"} and body["total"] is None
            seen += body["incidents"]
            offset, more = offset + body["limit"], body["more"]
    expected = [i for i in org.pagerduty_incidents if i["service"]["id"] in ids]
    assert [i["id"] for i in seen] == [i["id"] for i in expected]

    r = session.get(f"{server.url}/pagerduty/incidents", params={"offset": 9901, "limit": 100}, headers=PD)
    assert r.status_code == 400 and r.json()["error"]["code"] == 2002
    assert "Offset+limit exceeds" in r.json()["error"]["errors"][0]
    ok = session.get(f"{server.url}/pagerduty/incidents", params={"offset": 9900, "limit": 100}, headers=PD)
    assert ok.status_code == 200 and ok.json()["incidents"] == []

    # Only `since`: PagerDuty answers one month from it.
    params = {"since": "2025-01-01T00:00:00Z", "limit": 100, "total": "true"}
    month = session.get(f"{server.url}/pagerduty/incidents", params=params, headers=PD).json()
    assert month["total"] == len(month["incidents"]) > 0
    assert all("2025-01-01" <= i["created_at"] < "2025-02-01" for i in month["incidents"])


def test_pagerduty_log_entries_newest_first(server: SampleServer, session: requests.Session, org: Organisation) -> None:
    params = {
        "since": "2024-06-01T00:00:00Z",
        "until": "2025-06-01T00:00:00Z",
        "is_overview": "true",
        "limit": 100,
    }
    entries, offset = [], 0
    while True:
        body = session.get(
            f"{server.url}/pagerduty/log_entries", params={**params, "offset": offset}, headers=PD
        ).json()
        entries += body["log_entries"]
        if not body["more"]:
            break
        offset += 100
    assert len(entries) == len(org.pagerduty_log_entries) == len({e["id"] for e in entries})
    stamps = [e["created_at"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)
    assert {e["type"] for e in entries} == {"trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry"}


def test_jira_next_page_token_walk(server: SampleServer, session: requests.Session, org: Organisation) -> None:
    jql = (
        'project in (CHK, PAY, ORD) AND issuetype = "Post-incident review" AND labels = postmortem ORDER BY updated ASC'
    )
    url = f"{server.url}/jira/rest/api/3/search/jql"
    params = {"jql": jql, "fields": "summary,updated,resolutiondate,customfield_10042", "maxResults": 4}
    issues, pages = [], 0
    while True:
        body = session.get(url, params=params, headers=JIRA).json()
        assert "total" not in body and isinstance(body["isLast"], bool)
        issues += body["issues"]
        pages += 1
        if body["isLast"]:
            assert "nextPageToken" not in body
            break
        params["nextPageToken"] = body["nextPageToken"]
    expected = [i for i in org.jira_issues if i["fields"]["project"]["key"] in ("CHK", "PAY", "ORD")
                and "postmortem" in i["fields"]["labels"]]  # fmt: skip
    assert sorted(i["id"] for i in issues) == sorted(i["id"] for i in expected) and pages > 2
    assert [i["fields"]["updated"] for i in issues] == sorted(i["fields"]["updated"] for i in issues)
    assert set(issues[0]["fields"]) == {"summary", "updated", "resolutiondate", "customfield_10042"}

    jql = 'project = CHK AND labels in (postmortem, "postmortem-action") AND updated >= "2025-03-01 00:00"'
    since = {"jql": jql, "fields": "*all", "maxResults": 100}
    recent = session.get(url, params=since, headers=JIRA).json()["issues"]
    assert recent and all(i["fields"]["updated"] >= "2025-03-01" for i in recent)
    assert {i["id"] for i in recent} == {
        i["id"] for i in org.jira_issues
        if i["fields"]["project"]["key"] == "CHK" and i["fields"]["updated"] >= "2025-03-01"
    }  # fmt: skip
    assert session.get(url, params={"jql": "project = CHK"}, headers=JIRA).json()["issues"][0].keys() == {"id"}
    posted = session.post(url, json={"jql": "project = CHK ORDER BY created ASC", "fields": ["summary"]}, headers=JIRA)
    assert posted.status_code == 200 and posted.json()["issues"][0]["fields"].keys() == {"summary"}


@pytest.mark.parametrize(
    "jql", ["summary ~ outage", "project = CHK OR project = PAY", "", "project = CHK ORDER BY key"]
)
def test_jira_rejects_jql_outside_the_subset(server: SampleServer, session: requests.Session, jql: str) -> None:
    r = session.get(f"{server.url}/jira/rest/api/3/search/jql", params={"jql": jql}, headers=JIRA)
    assert r.status_code == 400 and r.json()["errorMessages"] and r.json()["errors"] == {}


def test_every_source_demands_its_credential(server: SampleServer, session: requests.Session) -> None:
    gh = f"{server.url}/github/repos/acme/checkout/deployments"
    pd = f"{server.url}/pagerduty/incidents"
    jira = f"{server.url}/jira/rest/api/3/search/jql?jql=project%20%3D%20CHK"
    for url, good, shape in ((gh, GH, "message"), (pd, PD, "error"), (jira, JIRA, "errorMessages")):
        for bad in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Token token=wrong"}):
            r = session.get(url, headers=bad)
            assert r.status_code == 401 and shape in r.json()
            assert "secret" not in r.text
        assert session.get(url, headers=good).status_code == 200
    assert session.get(gh, headers={"Authorization": "token gh-secret"}).status_code == 200


def test_http11_keep_alive_and_content_length(server: SampleServer) -> None:
    conn = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=5)
    try:
        conn.request("GET", "/pagerduty/incidents?limit=3&date_range=all", headers=PD)
        first = conn.getresponse()
        body = first.read()
        sock = conn.sock
        assert first.version == 11 and int(first.headers["Content-Length"]) == len(body)
        assert len(json.loads(body)["incidents"]) == 3
        conn.request("GET", "/github/repos/acme/checkout/pulls?state=all&per_page=1", headers=GH)
        second = conn.getresponse()
        assert second.status == 200 and len(json.loads(second.read())) == 1
        assert conn.sock is sock  # the same connection served both
    finally:
        conn.close()


def test_start_stop_and_interceptors(org: Organisation) -> None:
    s = SampleServer(org).start()
    try:
        url = s.url
        s.interceptors.append(lambda req: None)  # a no-op fault layer leaves answers alone
        assert requests.get(f"{url}/github/repos/acme/checkout", timeout=5).json()["default_branch"] == "main"
        assert requests.get(f"{url}/nowhere", timeout=5).status_code == 404
    finally:
        s.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/github/repos/acme/checkout", timeout=2)


def test_a_server_in_its_own_process_answers_as_late_as_asked() -> None:
    """`latency` stands for a network between the pipeline and the APIs (`benchmarks/incremental.py`); the
    answers overlap, as a real API's do."""
    import datetime as dt
    import time
    from concurrent.futures import ThreadPoolExecutor

    from sample_org.process import serve_in_subprocess

    with serve_in_subprocess(2, 10, 1, dt.date(2026, 6, 1), latency=0.5) as (url, _):
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: requests.get(f"{url}/github/rate_limit", timeout=10), range(4)))
        elapsed = time.perf_counter() - started
    assert len(answers) == 4
    assert 0.5 <= elapsed < 1.5, elapsed  # four answers 0.5 s late side by side; one after another, 2 s
