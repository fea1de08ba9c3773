-- Who every pager source paged for each incident (acknowledgers, assignees), one row per response.
-- Every source's conforming staging model (var event_sources), in the `page_responses` contract's columns.

{{ union_event_sources('page_responses') }}
