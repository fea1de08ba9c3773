"""The catalog: each error names the file, the entry and the problem; secrets never show."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from orchestration.cli import main
from orchestration.config import ConfigError, load_catalog

GOOD = {
    "timezone": "Europe/London",
    "sources": {
        "github": {"api_url": "https://api.github.com", "token": "env:TEST_GITHUB_TOKEN"},
        "pagerduty": {"api_url": "https://api.pagerduty.com", "token": "env:TEST_PD_TOKEN"},
    },
    "services": [
        {
            "name": "checkout",
            "team": "payments",
            "availability_target": 99.9,
            "operating_model": [
                {"model": "ops_run_it", "from": "2024-01-01"},
                {"model": "you_build_it_you_run_it", "from": "2025-03-01"},
            ],
            "github": {"repo": "acme/checkout"},
            "pagerduty": {"service_id": "PABC123"},
        },
        {
            "name": "search",
            "team": "discovery",
            "availability_target": 99.5,
            "operating_model": [{"model": "you_build_it_you_run_it", "from": "2024-01-01"}],
            "github": {"repo": "acme/search"},
        },
    ],
}
SECRET = "ghp_supersecretvalue"


@pytest.fixture(autouse=True)
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GITHUB_TOKEN", SECRET)
    monkeypatch.setenv("TEST_PD_TOKEN", "pd-secret")


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "opmetrics.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def broken(tmp_path: Path, change) -> str:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    change(data)
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    message = str(info.value)
    assert str(path) in message
    assert SECRET not in message
    return message


def test_good_config_loads(tmp_path: Path) -> None:
    catalog, _ = load_catalog(write(tmp_path, GOOD))
    checkout = catalog.services[0]
    assert checkout.model_at(__import__("datetime").date(2025, 2, 28)) == "ops_run_it"
    assert checkout.model_at(__import__("datetime").date(2025, 3, 1)) == "you_build_it_you_run_it"
    assert checkout.sources["github"].repo == "acme/checkout"
    assert catalog.sources["github"].token.get_secret_value() == SECRET
    assert SECRET not in repr(catalog)


def test_unknown_operating_model(tmp_path: Path) -> None:
    def change(d: dict) -> None:
        d["services"][1]["operating_model"][0]["model"] = "devops"

    message = broken(tmp_path, change)
    assert "services[1] (search).operating_model[0].model" in message
    assert "unknown operating model 'devops'" in message


@pytest.mark.parametrize(("second", "problem"), [("2024-01-01", "overlap"), ("2023-06-01", "not in order")])
def test_effective_dates(tmp_path: Path, second: str, problem: str) -> None:
    def change(d: dict) -> None:
        d["services"][0]["operating_model"][1]["from"] = second

    message = broken(tmp_path, change)
    assert "services[0] (checkout).operating_model" in message
    assert problem in message


def test_missing_token_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_PD_TOKEN")
    message = broken(tmp_path, lambda d: None)
    assert "sources" in message and "'pagerduty'" in message
    assert "environment variable TEST_PD_TOKEN is not set" in message


def test_literal_secret_refused(tmp_path: Path) -> None:
    def change(d: dict) -> None:
        d["sources"]["github"]["token"] = SECRET

    message = broken(tmp_path, change)
    assert "secrets must come from the environment" in message


def test_unknown_source_in_sources(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["sources"].update(bitbucket={"api_url": "https://x"}))
    assert "unknown source 'bitbucket'" in message


def test_unknown_source_in_service(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["services"][0].update(bitbucket={"repo": "x"}))
    assert "services[0] (checkout)" in message and "unknown source 'bitbucket'" in message


def test_service_mapped_to_unconfigured_source(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["services"][1].update(jira={"project": "SRCH"}))
    assert "'search' maps to source 'jira', which is not configured" in message


def test_service_mapped_twice(tmp_path: Path) -> None:
    message = broken(tmp_path, lambda d: d["services"][1]["github"].update(repo="acme/checkout"))
    assert "github 'acme/checkout@production' is mapped twice: to 'checkout' and 'search'" in message


def test_service_declared_twice(tmp_path: Path) -> None:
    def change(d: dict) -> None:
        d["services"][1]["name"] = "checkout"
        del d["services"][1]["github"]

    assert "service 'checkout' is declared twice" in broken(tmp_path, change)


def test_validate_config_command(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["validate-config", str(write(tmp_path, GOOD))])
    assert ok.exit_code == 0, ok.output
    assert "OK (2 services; sources: github, pagerduty)" in ok.output

    data = yaml.safe_load(yaml.safe_dump(GOOD))
    data["services"][0]["availability_target"] = 120
    bad = runner.invoke(main, ["validate-config", str(write(tmp_path, data))])
    assert bad.exit_code == 1
    assert "services[0] (checkout).availability_target" in bad.output


def test_secrets_can_stay_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the catalog only to find the warehouse (reports) needs no token in the environment."""
    monkeypatch.delenv("TEST_PD_TOKEN")
    catalog, _ = load_catalog(write(tmp_path, GOOD), resolve_secrets=False)
    assert catalog.sources["pagerduty"].token is None
    with pytest.raises(ConfigError):
        load_catalog(write(tmp_path, GOOD))


def test_ci_and_gitlab_sources_as_the_catalog_writes_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GitLab, GitHub Actions and Jenkins entries; Jenkins' user is a secret from the environment, like its token."""
    for variable in ("GITLAB_TOKEN", "GH_ACTIONS_TOKEN", "JENKINS_TOKEN"):
        monkeypatch.setenv(variable, "ci-secret")
    monkeypatch.setenv("JENKINS_USER", "deploy-bot")
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    data["sources"] |= {
        "gitlab": {"api_url": "https://gitlab.example.com/api/v4", "token": "env:GITLAB_TOKEN"},
        "github_actions": {"api_url": "https://api.github.com", "token": "env:GH_ACTIONS_TOKEN"},
        "jenkins": {"api_url": "https://ci.example.com", "user": "env:JENKINS_USER", "token": "env:JENKINS_TOKEN"},
    }
    data["services"][0] |= {
        "gitlab": {"project": "acme/checkout", "environment": "production", "branch": "main"},
        "github_actions": {"repo": "acme/checkout", "workflow": "deploy.yml", "branch": "main"},
        "jenkins": {"jobs": ["checkout/deploy-production"]},
    }
    # four sources record this service's deployments: the catalog must say which one counts
    assert "say which one's deployments count with `deployment_source`" in broken_with(tmp_path, data)
    data["services"][0]["deployment_source"] = "jenkins"
    data["services"][1] |= {
        "gitlab": {"project": "acme/platform/search"},
        "github_actions": {"repo": "acme/search", "workflow": "deploy.yml", "job": "Deploy to production"},
        "jenkins": {"jobs": ["search/main", "search/feature%2Fone"]},
        "deployment_source": "github_actions",
    }
    catalog, _ = load_catalog(write(tmp_path, data))
    checkout, search = catalog.services
    assert (checkout.deployment_source, search.deployment_source) == ("jenkins", "github_actions")
    assert checkout.sources["gitlab"].key() == "acme/checkout@production"
    assert search.sources["github_actions"].key() == "acme/search:deploy.yml:Deploy to production"
    assert search.sources["jenkins"].key() == "search/feature%2Fone,search/main"
    assert catalog.sources["jenkins"].user.get_secret_value() == "deploy-bot"
    assert "deploy-bot" not in repr(catalog) and "ci-secret" not in repr(catalog)

    data["services"][1]["deployment_source"] = "pagerduty"
    assert "'pagerduty' is not a deployment source the service maps" in broken_with(tmp_path, data)
    data["services"][1]["deployment_source"] = "github_actions"
    data["services"][1]["jenkins"] = {"jobs": ["checkout/deploy-production"]}
    assert "jenkins" in broken_with(tmp_path, data)
    data["services"][1]["jenkins"] = {"jobs": []}
    assert "jobs" in broken_with(tmp_path, data)


def broken_with(tmp_path: Path, data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        load_catalog(write(tmp_path, data))
    return str(info.value)


TEAMS = [
    {"name": "payments", "kind": "product", "time_zone": "Europe/London", "pagerduty_team_ids": ["PTEAM1"]},
    {
        "name": "discovery",
        "kind": "product",
        "working_hours": {"days": ["mon", "tue"], "start": "08:00", "end": "16:00"},
    },
    {"name": "operations", "kind": "operations", "pagerduty_team_ids": ["PTEAM2"], "opsgenie_teams": ["ops"]},
]


def test_teams_load_with_default_working_hours(tmp_path: Path) -> None:
    catalog, _ = load_catalog(write(tmp_path, {**GOOD, "teams": TEAMS}))
    payments, discovery, operations = catalog.teams
    assert (payments.working_hours.start.isoformat(), payments.working_hours.end.isoformat()) == (
        "09:00:00",
        "17:30:00",
    )
    assert payments.working_hours.days == ["mon", "tue", "wed", "thu", "fri"]
    assert discovery.time_zone == "UTC" and discovery.working_hours.days == ["mon", "tue"]
    assert operations.pager_ids() == [("pagerduty", "team_id", "PTEAM2"), ("opsgenie", "team", "ops")]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t[0].update(kind="platform"), "teams[0] (payments).kind"),
        (lambda t: t[0].update(time_zone="Mars/Olympus"), "unknown timezone 'Mars/Olympus'"),
        (lambda t: t[1]["working_hours"].update(end="07:00"), "teams[1] (discovery).working_hours"),
        (lambda t: t.append(dict(t[0])), "team 'payments' is declared twice"),
        (lambda t: t[2].update(pagerduty_team_ids=["PTEAM1"]), "pagerduty team 'PTEAM1' belongs to two teams"),
        (lambda t: t.pop(1), "service 'search' is owned by team 'discovery', which is not declared under `teams`"),
    ],
)
def test_bad_teams_are_named(tmp_path: Path, change, problem: str) -> None:
    def apply(d: dict) -> None:
        d["teams"] = yaml.safe_load(yaml.safe_dump(TEAMS))
        change(d["teams"])

    assert problem in broken(tmp_path, apply)


def test_teams_land_in_long_form(tmp_path: Path) -> None:
    from orchestration.raw.catalog import catalog_rows

    catalog, _ = load_catalog(write(tmp_path, {**GOOD, "teams": TEAMS}))
    rows = catalog_rows(catalog)
    assert [r[:4] for r in rows["teams"]] == [
        ("payments", "product", "Europe/London", ["mon", "tue", "wed", "thu", "fri"]),
        ("discovery", "product", "UTC", ["mon", "tue"]),
        ("operations", "operations", "UTC", ["mon", "tue", "wed", "thu", "fri"]),
    ]
    assert rows["team_pager_ids"] == [
        ("payments", "pagerduty", "team_id", "PTEAM1"),
        ("operations", "pagerduty", "team_id", "PTEAM2"),
        ("operations", "opsgenie", "team", "ops"),
    ]


def test_costs_land_beside_their_service_and_team_and_default_to_none(tmp_path: Path) -> None:
    """Costs are the organisation's own assumptions: given ones land as given, missing ones stay null (not 0)."""
    from orchestration.raw.catalog import catalog_rows

    data = yaml.safe_load(yaml.safe_dump({**GOOD, "teams": TEAMS, "currency": "EUR"}))
    data["services"][0]["costs"] = {"unavailability_per_hour": 5000, "delay_per_week": 1200.5}
    data["teams"][2]["costs"] = {"hourly": 80, "on_call_allowance_per_week": 1400}
    rows = catalog_rows(load_catalog(write(tmp_path, data))[0])
    # (service, ..., operations team on call under Ops Run It, unavailability per hour, delay per week)
    assert [r[5:] for r in rows["services"]] == [("operations", 5000, 1200.5), ("operations", None, None)]
    assert [(r[0], *r[6:]) for r in rows["teams"]] == [
        ("payments", None, None),
        ("discovery", None, None),
        ("operations", 80, 1400),
    ]
    assert ("currency", "EUR") in rows["settings"]


def test_without_a_single_operations_team_nobody_is_assumed_on_call_for_ops_run_it(tmp_path: Path) -> None:
    from orchestration.raw.catalog import catalog_rows

    teams = [*TEAMS, {"name": "platform-ops", "kind": "operations"}]
    data = yaml.safe_load(yaml.safe_dump({**GOOD, "teams": teams}))
    data["services"][1]["operations_team"] = "platform-ops"
    rows = catalog_rows(load_catalog(write(tmp_path, data))[0])
    assert [r[5] for r in rows["services"]] == [None, "platform-ops"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: d["services"][0].update(costs={"unavailability_per_hour": -1}),
            "services[0] (checkout).costs.unavailability_per_hour: Input should be greater than or equal to 0",
        ),
        (
            lambda d: d["services"][0].update(costs={"per_hour": 10}),
            "services[0] (checkout).costs.per_hour: unknown key",
        ),
        (
            lambda d: d["teams"][0].update(costs={"hourly": "a lot"}),
            "teams[0] (payments).costs.hourly: Input should be a valid number",
        ),
        (
            lambda d: d["services"][0].update(operations_team="payments"),
            "service 'checkout': operations_team 'payments' is not an operations team declared under `teams`"
            " (operations teams: operations)",
        ),
    ],
)
def test_bad_costs_are_named(tmp_path: Path, change, problem: str) -> None:
    def apply(d: dict) -> None:
        d["teams"] = yaml.safe_load(yaml.safe_dump(TEAMS))
        change(d)

    assert problem in broken(tmp_path, apply)


def test_dagster_home_survives_a_moved_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The instance's dagster.yaml is an absolute link to a checkout: after `mv` of that checkout it dangles, and
    the next run re-points it rather than failing; a file of the user's own is left alone."""
    from orchestration.cli import ROOT, _dagster_home

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(tmp_path / "moved-away" / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert _dagster_home() == home
    assert (home / "dagster.yaml").resolve() == (ROOT / "dagster.yaml").resolve()
    assert (home / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()

    own = tmp_path / "own"
    own.mkdir()
    (own / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(own))
    _dagster_home()
    assert not (own / "dagster.yaml").is_symlink()
    assert (own / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
