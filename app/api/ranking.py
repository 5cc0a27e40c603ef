"""Leaderboards over the API: GET /rounds/{round}/leaderboard and /units (api.md)."""
