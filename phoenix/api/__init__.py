"""Phoenix's HTTP API: the original system's endpoints, typed, authenticated, over the flows."""
