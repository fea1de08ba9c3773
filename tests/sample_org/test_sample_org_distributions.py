"""Figures computed straight from the generated payloads, with DESIGN.md's definitions, land in Table 1."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict

from sample_org import Organisation
from sample_org.generator import OPS, YBIYRI

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def ts(text: str) -> dt.datetime:
    """Parse the GitHub/PagerDuty (`...Z`) and Jira (`...000+0000`) formats."""
    return dt.datetime.strptime(
        text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z" if "." in text else "%Y-%m-%dT%H:%M:%S%z"
    )


def model_at(org: Organisation, service: str, t: dt.datetime) -> str:
    model = None
    for m, since in org.service(service).operating_model:
        if since <= t.date():
            model = m
    return model or org.service(service).operating_model[0][0]


def deployments(org: Organisation) -> dict[str, list[tuple[dt.datetime, str]]]:
    """Per service: (deployed_at, sha) of successful production deployments, oldest first."""
    out = {}
    for s in org.services:
        repo = org.github[s.github_repo]
        done = []
        for d in repo.deployments:
            ok = [ts(x["created_at"]) for x in repo.statuses[d["id"]] if x["state"] == "success"]
            if d["environment"] == "production" and ok:
                done.append((min(ok), d["sha"]))
        out[s.name] = sorted(done)
    return out


def lead_times(org: Organisation) -> dict[str, list[float]]:
    """Pooled deployment lead times (hours) per model: deployed_at of the first deployment shipping a change
    (its commit is on the deployed sha's first-parent history) - merged_at."""
    deps = deployments(org)
    out = defaultdict(list)
    for s in org.services:
        repo = org.github[s.github_repo]
        by_sha = {c["sha"]: c for c in repo.commits}
        head = repo.commits[0]["sha"]
        chain = []  # first-parent chain, oldest first
        while True:
            chain.append(head)
            parents = by_sha[head]["parents"]
            if not parents:
                break
            head = parents[0]["sha"]
        position = {sha: i for i, sha in enumerate(reversed(chain))}
        merged = {p["merge_commit_sha"]: ts(p["merged_at"]) for p in repo.pulls if p["merged_at"]}
        pr_shas = {c["sha"] for p in repo.pulls for c in repo.pull_commits[p["number"]]}
        for sha in position:  # direct pushes: on the first-parent chain, not the result of a PR
            c = by_sha[sha]["commit"]
            if sha not in merged and c["committer"]["name"] != "GitHub" and by_sha[sha]["parents"]:
                assert sha not in pr_shas
                merged[sha] = ts(c["committer"]["date"])
        shipped = [(position[sha], at) for at, sha in deps[s.name]]
        for sha, merged_at in merged.items():
            first = next((at for pos, at in shipped if pos >= position[sha]), None)
            if first is not None:
                out[model_at(org, s.name, first)].append((first - merged_at) / HOUR)
    return out


def incidents(org: Organisation) -> dict[str, list[tuple[dt.datetime, dt.datetime | None, str]]]:
    """Per service: (triggered, resolved or None, id)."""
    by_id = {s.pagerduty_service_id: s.name for s in org.services}
    out = defaultdict(list)
    for i in org.pagerduty_incidents:
        resolved = ts(i["last_status_change_at"]) if i["status"] == "resolved" else None
        out[by_id[i["service"]["id"]]].append((ts(i["created_at"]), resolved, i["id"]))
    return out


def downtime_hours(intervals: list[tuple[dt.datetime, dt.datetime]], lo: dt.datetime, hi: dt.datetime) -> float:
    total, cur = 0.0, None
    for a, b in sorted((max(a, lo), min(b, hi)) for a, b in intervals):
        if a >= b:
            continue
        if cur is None or a > cur[1]:
            total += 0 if cur is None else (cur[1] - cur[0]) / HOUR
            cur = [a, b]
        else:
            cur[1] = max(cur[1], b)
    return total + (0 if cur is None else (cur[1] - cur[0]) / HOUR)


def test_deployment_frequency(org: Organisation) -> None:
    start = dt.datetime.combine(org.start, dt.time(), dt.UTC)
    end = dt.datetime.combine(org.end, dt.time(), dt.UTC)
    figures = defaultdict(list)
    for name, deps in deployments(org).items():
        history = [(m, dt.datetime.combine(d, dt.time(), dt.UTC)) for m, d in org.service(name).operating_model]
        for i, (model, since) in enumerate(history):
            until = history[i + 1][1] if i + 1 < len(history) else end
            since = max(since, start)
            n = sum(since <= at < until for at, _ in deps)
            figures[model].append(n / ((until - since) / (7 * DAY)))
    print({m: sorted(round(x, 2) for x in v) for m, v in figures.items()})
    assert 2 <= statistics.median(figures[YBIYRI]) <= 7
    assert 0.25 <= statistics.median(figures[OPS]) <= 0.6
    assert min(figures[YBIYRI]) >= 1  # every YBIYRI service is at least "Weekly"
    assert all(12 / 52 <= f < 1 for f in figures[OPS])  # every Ops service is "Fortnightly" or "Monthly"


def test_deployment_lead_time(org: Organisation) -> None:
    lt = lead_times(org)
    print({m: (len(v), statistics.median(v), min(v), max(v)) for m, v in lt.items()})
    assert all(x > 0 for v in lt.values() for x in v)
    assert 1 <= statistics.median(lt[YBIYRI]) < 24  # "Hours" (minutes to days)
    assert 7 * 24 <= statistics.median(lt[OPS]) <= 6 * 7 * 24  # "Weeks" (days to months)
    assert min(lt[YBIYRI]) < 1 and max(lt[YBIYRI]) > 24
    assert min(lt[OPS]) < 7 * 24 and max(lt[OPS]) > 30 * 24


def test_time_to_restore(org: Organisation) -> None:
    ttr = defaultdict(list)
    for name, items in incidents(org).items():
        for trig, res, _ in items:
            if res is not None:
                ttr[model_at(org, name, trig)].append((res - trig) / HOUR)
    print({m: (len(v), statistics.median(v)) for m, v in ttr.items()})
    assert 10 / 60 <= statistics.median(ttr[YBIYRI]) <= 4  # tens of minutes to a few hours
    assert 6 <= statistics.median(ttr[OPS]) <= 48


def test_availability_every_90_day_window(org: Organisation) -> None:
    end = dt.datetime.combine(org.end, dt.time(), dt.UTC)
    start = end - 365 * DAY
    worst = {}
    for name, items in incidents(org).items():
        intervals = [(a, b or end) for a, b, _ in items]
        levels = []
        for k in range(0, 365 - 90 + 1):
            lo = start + k * DAY
            levels.append(100 * (1 - downtime_hours(intervals, lo, lo + 90 * DAY) / (90 * 24)))
        worst[name] = (min(levels), max(levels))
    print(worst)
    assert all(lo >= 95 and hi <= 99.99 for lo, hi in worst.values())
    assert any(hi > 99.5 for lo, hi in worst.values()) and any(lo < 99 for lo, hi in worst.values())


def test_time_to_generate_insights_and_implement_actions(org: Organisation) -> None:
    resolved = {i["html_url"]: (ts(i["created_at"]), ts(i["last_status_change_at"]), i["service"]["id"])
                for i in org.pagerduty_incidents if i["status"] == "resolved"}  # fmt: skip
    by_pd = {s.pagerduty_service_id: s.name for s in org.services}
    by_project = {s.jira_project: s.name for s in org.services}
    end = dt.datetime.combine(org.end, dt.time(), dt.UTC)
    insights, actions = defaultdict(list), defaultdict(list)
    reviews = {i["key"]: i for i in org.jira_issues if "postmortem" in i["fields"]["labels"]}
    for r in reviews.values():
        trig, res, pd_service = resolved[r["fields"]["customfield_10042"]]
        assert by_pd[pd_service] == by_project[r["fields"]["project"]["key"]]
        if published := r["fields"]["resolutiondate"]:
            insights[model_at(org, by_pd[pd_service], trig)].append((ts(published) - res) / HOUR)
    for a in org.jira_issues:
        if "postmortem-action" not in a["fields"]["labels"]:
            continue
        (link,) = a["fields"]["issuelinks"]
        assert link["type"]["name"] == "Relates" and link["outwardIssue"]["key"] in reviews
        created = ts(a["fields"]["created"])
        done = ts(a["fields"]["resolutiondate"]) if a["fields"]["resolutiondate"] else end
        service = by_project[a["fields"]["project"]["key"]]
        actions[model_at(org, service, created)].append((done - created) / DAY)
    print({m: (len(v), statistics.median(v)) for m, v in insights.items()})
    print({m: (len(v), statistics.median(v)) for m, v in actions.items()})
    for model in (YBIYRI, OPS):  # "Hours to days" for both
        assert 1 <= statistics.median(insights[model]) < 7 * 24
    assert 1 <= statistics.median(actions[YBIYRI]) <= 5
    assert 21 <= statistics.median(actions[OPS]) <= 70
    reviewed = {r["fields"]["customfield_10042"] for r in reviews.values()}
    assert 0.6 < len(reviewed) / len(resolved) < 0.95  # most, not all, resolved incidents get a review
    assert any(r["fields"]["resolutiondate"] is None for r in reviews.values())  # some still draft
    assert any(a["fields"]["resolutiondate"] is None for a in org.jira_issues)  # some actions open
