"""Fault modes of the sample organisation: interceptors that inject bad records into the API responses.

Each fault names a rule the pipeline must catch and how: quarantined by dbt (the record lands, the marts leave it
out, `quarantine.quarantined_records` keeps it with its reason) or failed by a blocking raw check (the load itself
is broken, nothing downstream is rebuilt). The injected records are copies of real ones with one thing broken, so
everything else about them is valid; `INJECTED_IDS` lists the identifiers tests look for in the quarantine.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass

from sample_org.server import Interceptor, Request, Response, SampleServer

Mutator = Callable[[Request, object], object]

# Identifiers of the injected records, by fault (the quarantine's record_id).
INJECTED_IDS = {
    "unknown_service": "PFAULTUNKNOWNSVC",
    "resolved_before_triggered": "PFAULTRESOLVEDEARLY",
    "unparseable_timestamp": "990001",  # a Jira issue id
}


@dataclass(frozen=True)
class Fault:
    """Where a fault applies (source prefix and path pattern) and how it changes a first page's body."""

    prefix: str
    path: str  # regex on the path below the prefix
    mutate: Callable[[SampleServer, object], object]
    expect: str  # what the pipeline must do about it, for the reader of a test

    def applies(self, prefix: str, req: Request) -> bool:
        """Only the first page of a listing: the injected records then arrive once per query window."""
        first = req.int_arg("offset", 0) == 0 and req.int_arg("page", 1) == 1
        return prefix == self.prefix and re.fullmatch(self.path, req.path) is not None and first


def _incident_like(server: SampleServer, incident_id: str) -> dict:
    """A copy of a real resolved incident under a new id and number (so it looks like any other)."""
    template = next(i for i in server.org.pagerduty_incidents if i.get("resolved_at"))
    incident = copy.deepcopy(template)
    incident["id"] = incident_id
    incident["incident_number"] = 900_000 + sum(map(ord, incident_id))
    return incident


def _add_incident(change: Callable[[dict], None], incident_id: str) -> Callable[[SampleServer, object], object]:
    def mutate(server: SampleServer, body: object) -> object:
        incident = _incident_like(server, incident_id)
        change(incident)
        body["incidents"].append(incident)  # type: ignore[index]
        return body

    return mutate


def _unknown_service(incident: dict) -> None:
    incident["service"] = {**incident["service"], "id": "PNOSUCHSVC", "summary": "not in the catalog"}


def _null_id(incident: dict) -> None:
    incident["id"] = None  # everything else is a good incident: it lands under a surrogate key, then is quarantined


def _resolved_early(incident: dict) -> None:
    # Resolved an hour before it triggered; no log entries exist for it, so the payload's times are used.
    incident["status"] = "resolved"
    incident["resolved_at"] = incident["last_status_change_at"] = "2000-01-01T00:00:00Z"


def _bad_created(server: SampleServer, body: object) -> object:
    """A copy of the page's first Jira issue whose `created` does not parse (its `updated`, the cursor, does)."""
    issues = body["issues"]  # type: ignore[index]
    if issues and "created" in issues[0].get("fields", {}):
        issue = copy.deepcopy(issues[0])
        issue["id"], issue["key"] = INJECTED_IDS["unparseable_timestamp"], "FAULT-1"
        issue["fields"]["created"] = "31/02/2026 25:61"
        issues.append(issue)
    return body


def _conflicting_copy(server: SampleServer, body: object) -> object:
    """The page's first real incident delivered again, same id and version stamps, another title and urgency."""
    incidents = body["incidents"]  # type: ignore[index]
    real = [i for i in incidents if i.get("id") and not i["id"].startswith("PFAULT")]  # no other fault's record
    if real:
        copy_ = copy.deepcopy(real[0])
        copy_["title"] = f"{copy_.get('title')} (conflicting copy)"
        copy_["urgency"] = "low" if copy_.get("urgency") == "high" else "high"
        incidents.append(copy_)
    return body


def _null_page(server: SampleServer, body: object) -> object:
    """Five records whose every field is null (a source returning garbage), added to a PagerDuty listing."""
    records = body["log_entries"]  # type: ignore[index]
    template = records[0] if records else {"id": None, "created_at": None}
    records.extend(dict.fromkeys(template) for _ in range(5))
    return body


def _no_incidents(server: SampleServer, body: object) -> object:
    body["incidents"] = []  # type: ignore[index]
    body["more"] = False  # type: ignore[index]
    return body


FAULTS: dict[str, Fault] = {
    "unknown_service": Fault(
        "pagerduty", "/incidents", _add_incident(_unknown_service, INJECTED_IDS["unknown_service"]),
        "quarantined as unknown_service",
    ),
    "resolved_before_triggered": Fault(
        "pagerduty", "/incidents", _add_incident(_resolved_early, INJECTED_IDS["resolved_before_triggered"]),
        "quarantined as resolved_before_triggered",
    ),
    "unparseable_timestamp": Fault(
        "jira", "/rest/api/3/search/jql", _bad_created, "quarantined as unparsable_timestamp",
    ),
    "null_identifier": Fault(
        "pagerduty", "/incidents", _add_incident(_null_id, "PFAULTNULLID"), "quarantined as null_identifier",
    ),
    "conflicting_duplicate": Fault(
        "pagerduty", "/incidents", _conflicting_copy, "both versions quarantined as conflicting_duplicate",
    ),
    "null_page": Fault(
        "pagerduty", "/log_entries", _null_page,
        "fails the blocking raw check raw_pagerduty/log_entries:required_fields_present",
    ),
    "zero_incidents": Fault(
        "pagerduty", "/incidents", _no_incidents,
        "warns in the raw check raw_pagerduty/incidents:row_count (an empty table)",
    ),
}  # fmt: skip


def fault_interceptor(server: SampleServer, names: list[str] | tuple[str, ...]) -> Interceptor:
    """One interceptor applying the faults `names` (in order) to the responses they concern."""
    unknown = set(names) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault modes: {sorted(unknown)}; known: {sorted(FAULTS)}")
    faults = [FAULTS[n] for n in names]

    def intercept(req: Request) -> Response | None:
        prefix = req.base.rstrip("/").rsplit("/", 1)[-1]
        chosen = [f for f in faults if f.applies(prefix, req)]
        source = server.sources.get(prefix)
        if not chosen or source is None:
            return None
        answer = source.handle(req)  # the real answer, then broken: auth and errors stay the source's own
        if answer.status != 200:
            return answer
        body = copy.deepcopy(answer.body)
        for fault in chosen:
            body = fault.mutate(server, body)
        return Response(answer.status, body, answer.headers)

    return intercept


def install_faults(server: SampleServer, names: list[str] | tuple[str, ...]) -> None:
    """Make `server` answer with the faults `names` injected (no names: nothing changes)."""
    if names:
        server.interceptors.append(fault_interceptor(server, names))
