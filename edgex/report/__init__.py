"""Reports of a run: terminal table, JSON, Markdown, JUnit XML."""
