"""Adding a source stays one connector, one staging folder and one line: these tests keep that true.

Every registered connector must feed the event kinds it declares (dbt_project.yml's var `event_sources`) through
staging models that conform to each kind's contract, land its catalog mapping in long form, and no model past
staging may name a source.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer

from connectors.registry import CONNECTORS
from orchestration.config import parse_catalog
from orchestration.dbt.project import DBT_PROJECT_DIR
from orchestration.raw.catalog import catalog_rows
from tests.connectors.fakes import FAKES, FakeApi

EVENT_SOURCES: dict[str, dict[str, str]] = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"][
    "event_sources"
]
SOURCE_AGNOSTIC = ("intermediate", "marts", "quarantine")


def test_every_registered_connector_is_declared_to_dbt_and_nothing_else_is() -> None:
    assert set(EVENT_SOURCES) == set(CONNECTORS), (
        "dbt_project.yml's var event_sources must have one line per registered connector "
        f"(registered: {sorted(CONNECTORS)}, declared: {sorted(EVENT_SOURCES)})"
    )


@pytest.mark.parametrize("source", sorted(CONNECTORS))
def test_each_kind_a_source_feeds_has_a_staging_model_tested_against_its_contract(
    source: str, dbt_manifest: Path
) -> None:
    manifest = json.loads(dbt_manifest.read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    contract_tests = {
        (manifest["nodes"][t["attached_node"]]["name"], t["test_metadata"]["kwargs"].get("kind"))
        for t in manifest["nodes"].values()
        if t["resource_type"] == "test"
        and (t.get("test_metadata") or {}).get("name") == "conforms_to_event_contract"
        and t.get("attached_node")
    }
    assert EVENT_SOURCES.get(source), f"{source} feeds no event kind"
    for kind, model in EVENT_SOURCES[source].items():
        name = f"stg_{source}__{model}"
        assert name in models, f"{source} declares {kind} from {name}, which does not exist"
        assert models[name]["original_file_path"].startswith(f"models/staging/{source}/"), name
        assert (name, kind) in contract_tests, f"{name} has no conforms_to_event_contract test with kind {kind}"


@pytest.mark.parametrize("source", sorted(CONNECTORS))
def test_a_connectors_mapping_lands_in_long_form(
    source: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog path knows no source: a service mapped to any connector lands as (service, source, key, value)."""
    monkeypatch.setenv("CONTRACT_TOKEN", "t")
    monkeypatch.setenv("CONTRACT_USER", "u")
    fixture = FAKES[source](FakeApi(httpserver))
    service, mapping = next(iter(fixture.mappings.items()))
    catalog = parse_catalog(
        {
            "sources": {source: fixture.settings},
            "services": [
                {
                    "name": service,
                    "team": "t",
                    "availability_target": 99.9,
                    "operating_model": [{"model": "ops_run_it", "from": "2024-01-01"}],
                    source: mapping,
                }
            ],
        }
    )
    rows = catalog_rows(catalog)
    declared = CONNECTORS[source].mapping_model.model_validate(mapping)
    expected = {name for name in type(declared).model_fields if getattr(declared, name) not in (None, [], "")}
    landed = {key for svc, src, key, _ in rows["service_mappings"] if (svc, src) == (service, source)}
    assert landed and landed == expected, f"{source}'s mapping did not land whole: {sorted(landed)}"
    streams = {stream for src, stream, *_ in rows["streams"] if src == source}
    assert streams == {s.name for s in CONNECTORS[source].streams}, "every stream is declared to quarantine"
    assert not {"t", "u"} & {value for *_, value in rows["source_settings"]}, "no secret reaches the catalog"


def sql_without_comments(path: Path) -> str:
    """A model's SQL and Jinja without its `--` and `{# #}` comments (a comment may name an example source)."""
    text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.DOTALL)
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def test_no_model_past_staging_names_a_source() -> None:
    names = "|".join(sorted(CONNECTORS, key=len, reverse=True))
    pattern = re.compile(rf"\b({names})\b|stg_({names})__", re.IGNORECASE)
    offending = [
        f"{path.relative_to(DBT_PROJECT_DIR)}: {match.group(0)}"
        for folder in SOURCE_AGNOSTIC
        for path in sorted((DBT_PROJECT_DIR / "models" / folder).rglob("*.sql"))
        for match in pattern.finditer(sql_without_comments(path))
    ]
    assert not offending, offending


def test_the_source_check_would_see_a_model_that_names_one(tmp_path: Path) -> None:
    model = tmp_path / "int_x.sql"
    model.write_text("-- github in a comment is fine\nselect * from {{ ref('stg_github__deployments') }}\n")
    assert re.search(r"stg_(github)__", sql_without_comments(model))
    assert "github in a comment" not in sql_without_comments(model)
    assert (DBT_PROJECT_DIR / "models" / "intermediate").is_dir()
