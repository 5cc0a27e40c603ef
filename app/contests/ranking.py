"""Ranking pages of rounds (people and units), exports for the prize audit, the officers' live
view of a round. The order itself lives in app.services.ranking."""
