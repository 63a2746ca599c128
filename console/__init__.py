"""The analyst console served by `wardwatch serve`: triage, evidence, decisions (issue 18)."""
