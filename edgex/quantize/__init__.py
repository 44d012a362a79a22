"""Quantization recipes (modes) and calibration data."""
