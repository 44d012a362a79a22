"""JSON Schemas of the files edgex writes for other programs (shipped as package data)."""
