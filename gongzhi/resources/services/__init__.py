"""Split by subject: one module per part of 联 link."""
