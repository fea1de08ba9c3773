-- Pages of every pager source, with their timeline as the source records it.
-- Every source's conforming staging model (var event_sources), in the `incidents` contract's columns.

{{ union_event_sources('incidents') }}
