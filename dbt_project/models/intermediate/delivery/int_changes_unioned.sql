-- Pull and merge requests of every code host, with the commit they put on the mainline.
-- Every source's conforming staging model (var event_sources), in the `changes` contract's columns.

{{ union_event_sources('changes') }}
