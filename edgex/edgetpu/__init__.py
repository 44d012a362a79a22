"""Coral Edge TPU: pre-flight mapping prediction, the edgetpu_compiler driver and its output parser, compiled-model
inspection (DarwiNN packages) and the libedgetpu delegate. Nothing here imports a framework.

The compiler (Google's closed-source `edgetpu_compiler`, last release 16.0, x86-64 Linux only) is optional: without
it edgex still writes the int8 model and predicts, op by op, what the compiler would map.
"""
