-- The commits of every pull or merge request (its branch), from every code host.
-- Every source's conforming staging model (var event_sources), in the `change_commits` contract's columns.

{{ union_event_sources('change_commits') }}
