-- Commits reachable from each service's mainline branch, with their parents, from every code host.
-- Every source's conforming staging model (var event_sources), in the `mainline_commits` contract's columns.

{{ union_event_sources('mainline_commits') }}
