"""On-call notification: routing, grouping, silences, acknowledgement, escalation and channels (issue 15)."""
