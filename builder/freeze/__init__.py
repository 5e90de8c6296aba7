"""Freeze records: what a run depended on and produced, stored per post, compared for staleness and drift."""
