-- The statuses of every source's deployments (success, failure, ...), with when each was set.
-- Every source's conforming staging model (var event_sources), in the `deployment_statuses` contract's columns.

{{ union_event_sources('deployment_statuses') }}
