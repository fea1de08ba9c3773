"""Properties of the generated organisation itself: how it links its records and how often things happen.

What the figures come to under the metric definitions is measured by the pipeline, not re-computed here:
`tests/test_end_to_end.py` checks the marts of a served organisation against Table 1 and per service.
"""

from __future__ import annotations

import datetime as dt
import itertools

from sample_org import Organisation
from sample_org.generator import DAY, OPS, YBIYRI, _epoch


def _epoch_of(text: str) -> int:
    """Epoch seconds of a GitHub/PagerDuty (`...Z`) or Jira (`....000+0000`) timestamp."""
    return int(dt.datetime.fromisoformat(text.replace("+0000", "+00:00")).timestamp())


def test_every_service_pages_at_least_once_in_every_90_days(org: Organisation) -> None:
    """Every 90-day window of every service holds an incident, so availability has downtime to measure.

    Not every 30 days: a team whose fixes hold goes more than 30 days without a repeat (the learning measures).
    """
    triggered: dict[str, list[int]] = {s.name: [_epoch(org.start)] for s in org.services}
    by_pd = {s.pagerduty_service_id: s.name for s in org.services}
    for incident in org.pagerduty_incidents:
        triggered[by_pd[incident["service"]["id"]]].append(_epoch_of(incident["created_at"]))
    for name, times in triggered.items():
        times = sorted([*times, _epoch(org.end)])
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert max(gaps) < 90 * DAY, (name, max(gaps) / DAY)


def test_you_build_it_teams_request_production_deployments_more_often_than_ops(org: Organisation) -> None:
    """Production deployment requests per week under each service's only model (the generator's behaviour)."""
    weeks = (org.end - org.start).days / 7
    rates = {YBIYRI: [], OPS: []}
    for service in org.services:
        if len(service.operating_model) == 1:
            repo = org.github[service.github_repo]
            requests = sum(d["environment"] == "production" for d in repo.deployments)
            rates[service.operating_model[0][0]].append(requests / weeks)
    assert rates[YBIYRI] and rates[OPS]
    assert min(rates[YBIYRI]) > max(rates[OPS]), rates


def test_reviews_name_an_incident_of_their_service_and_actions_their_review(org: Organisation) -> None:
    incidents = {i["html_url"]: i for i in org.pagerduty_incidents}
    project_of = {s.pagerduty_service_id: s.jira_project for s in org.services}
    reviews = {i["key"]: i for i in org.jira_issues if "postmortem" in i["fields"]["labels"]}
    for review in reviews.values():
        incident = incidents[review["fields"]["customfield_10042"]]
        assert incident["status"] == "resolved"
        assert project_of[incident["service"]["id"]] == review["fields"]["project"]["key"]
    actions = [i for i in org.jira_issues if "postmortem-action" in i["fields"]["labels"]]
    assert actions
    for action in actions:
        (link,) = action["fields"]["issuelinks"]
        assert link["type"]["name"] == "Relates" and link["outwardIssue"]["key"] in reviews


def test_most_resolved_incidents_get_a_review_and_some_work_is_still_open(org: Organisation) -> None:
    resolved = [i for i in org.pagerduty_incidents if i["status"] == "resolved"]
    reviewed = {i["fields"]["customfield_10042"] for i in org.jira_issues if "postmortem" in i["fields"]["labels"]}
    assert 0.6 < len(reviewed) / len(resolved) < 0.95
    reviews = [i for i in org.jira_issues if "postmortem" in i["fields"]["labels"]]
    actions = [i for i in org.jira_issues if "postmortem-action" in i["fields"]["labels"]]
    assert any(r["fields"]["resolutiondate"] is None for r in reviews), "some reviews are still drafts"
    assert any(a["fields"]["resolutiondate"] is None for a in actions), "some actions are still open"
    # Incidents are open only where the end falls inside one, which this organisation's end does not: none is made
    # up at the end, since a history one day longer would lose it (test_sample_org_history_growth.py).
