"""育 cultivate: volunteer events with sign-up, and the volunteer-hours ledger (record, confirm, reverse)."""
