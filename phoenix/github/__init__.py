"""What Phoenix knows about GitHub-compatible forges (GitHub, GitHub Enterprise, the local forge)."""
