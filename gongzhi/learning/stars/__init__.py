"""学 credentials: star ratings of learners (星级评定) — a declared yearly standard, computed proposals, staff review."""
