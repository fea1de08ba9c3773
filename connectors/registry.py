"""Every connector the pipeline knows. Adding a source: one module, one line here, one fixture test."""

from __future__ import annotations

from connectors.base import Connector
from connectors.github import GithubConnector
from connectors.github_actions import GithubActionsConnector
from connectors.gitlab import GitlabConnector
from connectors.jenkins import JenkinsConnector
from connectors.jira import JiraConnector
from connectors.opsgenie import OpsgenieConnector
from connectors.pagerduty import PagerdutyConnector

CONNECTORS: dict[str, type[Connector]] = {
    connector.name: connector
    for connector in (
        GithubConnector,
        PagerdutyConnector,
        JiraConnector,
        OpsgenieConnector,
        GitlabConnector,
        GithubActionsConnector,
        JenkinsConnector,
    )
}
