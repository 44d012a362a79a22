"""Format-independent comparison of a reference model and an exported one. Imports no ML framework."""
