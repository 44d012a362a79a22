"""`edgex build`: a declarative matrix (edgex.toml) of models x targets, built incrementally, with a manifest.

config.py reads and validates the file; fingerprint.py hashes each cell's inputs; cells.py runs one cell (in this
process or a child); runner.py schedules the matrix; manifest.py writes what apps consume. Beyond one machine:
shard.py picks a CI job's share (--shard K/N), merge.py joins the shards (`edgex report merge`), ray_executor.py
runs cells as Ray tasks (--executor ray).
"""
