-- Post-incident reviews of every source, with the incident reference each names.
-- Every source's conforming staging model (var event_sources), in the `reviews` contract's columns.

{{ union_event_sources('reviews') }}
