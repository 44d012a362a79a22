"""Input data for calibration and validation: image folders, .npy/.npz arrays, or a Python callable."""
