-- Deployments of every deployment source, requested or done, production or not.
-- Every source's conforming staging model (var event_sources), in the `deployments` contract's columns.
{{ config(materialized='table') }}

{{ union_event_sources('deployments') }}
