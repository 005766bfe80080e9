"""Reads: planning which files a scan needs, and reading them under the current schema."""
