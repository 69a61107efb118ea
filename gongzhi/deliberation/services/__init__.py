"""See the submodules: issues (D1) and decisions (D2)."""
