-- The statuses of every source's deployments (success, failure, ...), with when each was set.
-- Every source's conforming staging model (var event_sources), in the `deployment_statuses` contract's columns.
{{ config(materialized='table') }}

{{ union_event_sources('deployment_statuses') }}
