"""Templates and static files of the browser pages (no Python code)."""
