"""Views: issues (staff and residents), decisions (ballots, decisions, follow-up), public (no login)."""
