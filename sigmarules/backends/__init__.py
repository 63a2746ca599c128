"""The two backends a Sigma rule set is emitted through: ``streaming`` (Python, per batch of records)
and ``clickhouse`` (SQL over the store, for retro-hunting)."""
