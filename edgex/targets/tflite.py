"""TFLite / LiteRT: Android, iOS, Linux boards, microcontrollers (int8), browsers (LiteRT.js)."""

from edgex.quantize.modes import QuantMode
from edgex.targets import Target, register

register(
    Target(
        name="tflite",
        format="tflite",
        extension=".tflite",
        description="TFLite / LiteRT flatbuffer",
        quant_modes=tuple(QuantMode),
        default_mode=QuantMode.NONE,
        runtime="LiteRT interpreter (ai-edge-litert, tflite-runtime, Android/iOS LiteRT, LiteRT.js)",
        constraints=("int8: calibration data required", "int8 I/O dtype: int8 (default), uint8 or float32"),
        aliases=("litert",),
    )
)
