"""Raw layer: connectors' records landed in `raw_<source>.<stream>`, plus the service catalog."""
