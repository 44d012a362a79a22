"""`edgex build`: a declarative matrix (edgex.toml) of models x targets, built incrementally, with a manifest.

config.py reads and validates the file; fingerprint.py hashes each cell's inputs; cells.py runs one cell (in this
process or a child); runner.py schedules the matrix; manifest.py writes what apps consume.
"""
