-- Which pager team each responder is on, one row per responder and pager team, from every source that says.
-- Every source's conforming staging model (var event_sources), in the `responder_teams` contract's columns.

{{ union_event_sources('responder_teams') }}
