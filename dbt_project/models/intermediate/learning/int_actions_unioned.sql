-- Improvement actions of every source, with the keys of the issues each links to.
-- Every source's conforming staging model (var event_sources), in the `actions` contract's columns.

{{ union_event_sources('actions') }}
