"""The optional Opsgenie addition: a few services page through Opsgenie instead of PagerDuty."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
import requests
import yaml

from sample_org import Organisation, SampleServer, generate
from sample_org.server import _by_responder
from tests.conftest import example

KEY = {"Authorization": "GenieKey og-secret"}


@pytest.fixture(scope="module")
def og_org() -> Organisation:
    return generate(n_services=6, days=200, seed=5, end=dt.date(2025, 6, 1), opsgenie_services=2)


def test_opsgenie_services_leave_pagerduty(og_org: Organisation) -> None:
    moved = [s for s in og_org.services if s.opsgenie_team]
    assert len(moved) == 2 and all(s.pagerduty_service_id is None for s in moved)
    assert {a["responders"][0]["id"] for a in og_org.opsgenie_alerts} == set(og_org.opsgenie_teams.values())
    pd_services = {i["service"]["id"] for i in og_org.pagerduty_incidents}
    assert pd_services == {s.pagerduty_service_id for s in og_org.services if not s.opsgenie_team}
    cfg = yaml.safe_load(og_org.config_yaml("http://127.0.0.1:1"))
    assert cfg["sources"]["opsgenie"]["token"] == "env:SAMPLE_OPSGENIE_TOKEN"
    entry = next(s for s in cfg["services"] if s["name"] == moved[0].name)
    assert entry["opsgenie"] == {"team": moved[0].opsgenie_team} and "pagerduty" not in entry
    # Reviews of Opsgenie incidents name the alert's URL, which ends with its id.
    alert_urls = {f"https://acme.app.opsgenie.com/alert/detail/{a['id']}" for a in og_org.opsgenie_alerts}
    assert alert_urls & {i["fields"]["customfield_10042"] for i in og_org.jira_issues}
    plain = generate(n_services=6, days=30, end=dt.date(2025, 6, 1))
    assert not plain.opsgenie_alerts and "opsgenie" not in json.loads(plain.to_json())
    assert "opsgenie" not in plain.config_yaml("http://127.0.0.1:1") and "opsgenie" not in plain.counts()


def test_alert_and_incident_shapes(og_org: Organisation) -> None:
    alert_keys = set(example("opsgenie/alerts")["data"][0]) - {"snoozedUntil", "report"}
    incident_keys = set(example("opsgenie/incidents")["data"][0])
    assert all(alert_keys <= set(a) for a in og_org.opsgenie_alerts)
    assert og_org.opsgenie_incidents and all(incident_keys <= set(i) for i in og_org.opsgenie_incidents)
    for a in og_org.opsgenie_alerts:
        created = dt.datetime.fromisoformat(a["createdAt"])
        if a["status"] == "closed":  # closeTime: milliseconds since createdAt
            closed = created + dt.timedelta(milliseconds=a["report"]["closeTime"])
            assert closed == dt.datetime.fromisoformat(a["updatedAt"])
        else:
            assert "closeTime" not in a.get("report", {})


def test_paging_next_walk_query_and_auth(og_org: Organisation) -> None:
    team = next(s.opsgenie_team for s in og_org.services if s.opsgenie_team)
    with SampleServer(og_org, tokens={"opsgenie": "og-secret"}) as server, requests.Session() as session:
        url = f"{server.url}/opsgenie/v2/alerts"
        params: dict | None = {"query": f"teams:{team}", "limit": 3, "sort": "createdAt", "order": "asc"}
        seen = []
        while url:
            r = session.get(url, params=params, headers=KEY)
            body = r.json()
            assert r.status_code == 200 and set(body) == {"data", "paging", "took", "requestId"}
            assert r.headers.get("X-Paging-Next") == body["paging"].get("next")
            seen += body["data"]
            url, params = body["paging"].get("next"), None
        team_id = og_org.opsgenie_teams[team]
        expected = [a["id"] for a in og_org.opsgenie_alerts if a["responders"][0]["id"] == team_id]
        assert [a["id"] for a in seen] == expected and len(seen) > 3
        since = int(dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp() * 1000)
        query = {"query": f"createdAt>={since}", "limit": 100}
        recent = session.get(f"{server.url}/opsgenie/v1/incidents", params=query, headers=KEY).json()
        assert all(i["createdAt"] >= "2025-03-01" for i in recent["data"])
        bad = session.get(f"{server.url}/opsgenie/v2/alerts", params={"query": "message~x"}, headers=KEY)
        assert bad.status_code == 422
        denied = session.get(f"{server.url}/opsgenie/v2/alerts")
        assert denied.status_code == 401 and denied.json()["message"] == "Could not authenticate"


def test_items_are_found_under_each_of_their_responders() -> None:
    """The server lists a team's alerts from an index built at start-up: an alert paged to two teams is under both,
    once, in the organisation's order."""
    a = {"id": "a", "responders": [{"id": "t1"}, {"id": "t2"}, {"id": "t1"}]}
    b = {"id": "b", "responders": [{"id": "t2"}]}
    c = {"id": "c", "responders": []}
    assert _by_responder([a, b, c]) == {"t1": [a], "t2": [a, b]}


def test_team_queries_answer_what_a_full_filter_does_even_for_lists_changed_after_start_up(
    og_org: Organisation,
) -> None:
    """Queries naming teams (by name or id, one or two terms) list what filtering every alert lists; a listing
    swapped or grown after the server started is read whole, never from the start-up index."""
    org = copy.copy(og_org)  # the lists below are replaced on this copy only
    org.opsgenie_alerts = list(og_org.opsgenie_alerts)
    names = sorted(og_org.opsgenie_teams)[:2]
    ids = [og_org.opsgenie_teams[n] for n in names]

    def listed(server: SampleServer, query: str) -> list[str]:
        params = {"query": query, "limit": 100, "sort": "createdAt", "order": "asc"}
        with requests.Session() as session:
            body = session.get(f"{server.url}/opsgenie/v2/alerts", params=params, headers=KEY).json()
        return [a["id"] for a in body["data"]]

    def expected(alerts: list[dict], *teams: str) -> list[str]:
        chosen = [a for a in alerts if all(any(r["id"] == t for r in a["responders"]) for t in teams)]
        return [a["id"] for a in sorted(chosen, key=lambda a: (a["createdAt"], a["id"]))][:100]

    with SampleServer(org, tokens={"opsgenie": "og-secret"}) as server:
        assert listed(server, f"teams:{names[0]}") == listed(server, f"teams:{ids[0]}")
        assert listed(server, f"teams:{ids[0]}") == expected(org.opsgenie_alerts, ids[0]) != []
        assert listed(server, f"teams:{names[0]} and responders:{ids[1]}") == expected(org.opsgenie_alerts, *ids)
        newcomer = dict(org.opsgenie_alerts[0], id="new", createdAt="1970-01-01T00:00:00.000Z")
        org.opsgenie_alerts.append(newcomer)  # grown after start-up
        newcomer_teams = [r["id"] for r in newcomer["responders"]]
        assert listed(server, f"teams:{newcomer_teams[0]}")[0] == "new"
        org.opsgenie_alerts = [newcomer]  # swapped after start-up
        assert listed(server, f"teams:{newcomer_teams[0]}") == ["new"]
