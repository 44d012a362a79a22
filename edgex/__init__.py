"""edgex: convert, quantize and prove parity of trained models for on-device runtimes."""

__version__ = "0.1.0"
