-- Deployments of every deployment source, requested or done, production or not.
-- Every source's conforming staging model (var event_sources), in the `deployments` contract's columns.

{{ union_event_sources('deployments') }}
