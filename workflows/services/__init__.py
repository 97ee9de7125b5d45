"""Every write Parley makes goes through these services (STYLE.md)."""
