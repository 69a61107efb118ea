"""学 credentials: online tests — question banks, tests, attempts scored on the server."""
