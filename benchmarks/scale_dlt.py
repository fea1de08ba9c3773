"""The yardstick of the scale benchmark: dlt's `rest_api` source reading the GitHub endpoints opmetrics reads.

    python -m benchmarks.scale_dlt SPEC.json

Run by `benchmarks.scale` in a child process (its memory and CPU are its own), against the sample server that the
full run just read. SPEC gives the API URL, the token, the repositories with their branches, the page size and
where to write; the last line printed is a JSON result.

The same requests as the opmetrics GitHub connector's full sync (`connectors/github.py`), with the same headers
(Bearer token, `application/vnd.github+json`, API version 2022-11-28) and `per_page`:
- `repos/{repo}/deployments`, then `.../deployments/{id}/statuses` for every deployment;
- `repos/{repo}/pulls?state=closed&sort=updated&direction=desc`, then `.../pulls/{n}/commits` for every merged
  pull (opmetrics reads the commits of merged pulls only). dlt's `rest_api` passes a child only what its parent
  loads, so the merged pulls come from a second, unloaded listing of the same pages (`merged_pulls`): dlt makes
  one more request per page of pulls than opmetrics, which the request counts show;
- `repos/{repo}/commits?sha={branch}`.
Pages follow the `Link` header. Child endpoints are `parallelized` (dlt's thread pool; opmetrics reads children on
4 threads). Nested objects stay JSON columns (`max_table_nesting=0`), as opmetrics keeps each record's payload as
JSON; dlt appends (its default) where opmetrics merges on the primary key: into empty tables both write every
record once.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

RESOURCES = ("deployments", "deployment_statuses", "pull_requests", "pull_commits", "commits")


def github_source(api_url: str, token: str, repos: list[dict[str, str]], page_size: int) -> Any:
    """The `rest_api` source over the sample server's GitHub API, with dlt's default HTTP session."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    @dlt.resource(name="repos", selected=False)
    def repositories() -> Any:
        # One page, as rest_api's own parents yield them: its children iterate over what they receive.
        yield [
            {"owner": r["repo"].split("/", 1)[0], "name": r["repo"].split("/", 1)[1], "branch": r["branch"]}
            for r in repos
        ]

    per_page = {"per_page": page_size}
    repo = "repos/{resources.repos.owner}/{resources.repos.name}"
    pulls_params = {"state": "closed", "sort": "updated", "direction": "desc", **per_page}
    config: dict[str, Any] = {
        "client": {
            "base_url": api_url.rstrip("/") + "/",
            "headers": {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
            "auth": {"type": "bearer", "token": token},
            "paginator": {"type": "header_link"},
        },
        "resource_defaults": {"max_table_nesting": 0},
        "resources": [
            repositories,
            {
                "name": "deployments",
                "endpoint": {"path": f"{repo}/deployments", "params": per_page},
                "include_from_parent": ["owner", "name"],
            },
            {
                "name": "deployment_statuses",
                "parallelized": True,
                "endpoint": {
                    "path": "repos/{resources.deployments._repos_owner}/{resources.deployments._repos_name}"
                    "/deployments/{resources.deployments.id}/statuses",
                    "params": per_page,
                },
            },
            {
                "name": "pull_requests",
                "endpoint": {"path": f"{repo}/pulls", "params": pulls_params},
                "include_from_parent": ["owner", "name"],
            },
            {
                "name": "merged_pulls",
                "selected": False,
                "endpoint": {"path": f"{repo}/pulls", "params": pulls_params},
                "include_from_parent": ["owner", "name"],
                "processing_steps": [{"filter": lambda pull: bool(pull.get("merged_at"))}],
            },
            {
                "name": "pull_commits",
                "parallelized": True,
                "endpoint": {
                    "path": "repos/{resources.merged_pulls._repos_owner}/{resources.merged_pulls._repos_name}"
                    "/pulls/{resources.merged_pulls.number}/commits",
                    "params": per_page,
                },
                "include_from_parent": ["number"],
            },
            {
                "name": "commits",
                "endpoint": {
                    "path": f"{repo}/commits",
                    "params": {"sha": "{resources.repos.branch}", **per_page},
                },
                "include_from_parent": ["owner", "name"],
            },
        ],
    }
    return rest_api_source(config, name="github")


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Extract, normalize and load into DuckDB; seconds per stage, rows per table, requests made."""
    work = Path(spec["work_dir"])
    os.environ.setdefault("DLT_DATA_DIR", str(work / "dlt_data"))
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    import dlt
    from requests.adapters import HTTPAdapter

    # Every request that goes out (retries included), whichever session dlt builds: counted at the adapter.
    lock = threading.Lock()
    sent = 0
    send = HTTPAdapter.send

    def counting_send(self: HTTPAdapter, *args: Any, **kwargs: Any) -> Any:
        nonlocal sent
        with lock:
            sent += 1
        return send(self, *args, **kwargs)

    HTTPAdapter.send = counting_send  # type: ignore[method-assign]
    source = github_source(spec["api_url"], spec["token"], spec["repos"], spec["page_size"])
    pipeline = dlt.pipeline(
        pipeline_name="scale_bench_github",
        destination=dlt.destinations.duckdb(str(work / "dlt.duckdb")),
        dataset_name="github",
        pipelines_dir=str(work / "dlt_pipelines"),
    )
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    pipeline.extract(source)
    seconds["extract"] = time.perf_counter() - started
    mark = time.perf_counter()
    pipeline.normalize()
    seconds["normalize"] = time.perf_counter() - mark
    mark = time.perf_counter()
    pipeline.load()
    seconds["load"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    rows = {}
    with pipeline.sql_client() as client:
        for name in RESOURCES:
            try:
                rows[name] = int(client.execute_sql(f"select count(*) from {name}")[0][0])
            except Exception:  # a table dlt never created (no record at all): zero rows
                rows[name] = 0
    return {"seconds": {k: round(v, 3) for k, v in seconds.items()}, "rows": rows, "requests": sent}


if __name__ == "__main__":
    print(json.dumps(run(json.loads(Path(sys.argv[1]).read_text()))))
