"""Every write Parley makes goes through these services: the layers and where each kind of rule
lives are in docs/architecture.md."""
