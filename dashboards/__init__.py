"""Grafana boards as code for the SOC, on the embedded store and on a ClickHouse cluster (issue 14)."""
