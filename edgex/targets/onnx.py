"""ONNX: for onnxruntime (mobile, web, servers) and as the bridge between frameworks."""

from edgex.quantize.modes import QuantMode
from edgex.targets import Target, register

register(
    Target(
        name="onnx",
        format="onnx",
        extension=".onnx",
        description="ONNX model (float32), validated with onnxruntime",
        quant_modes=(QuantMode.NONE,),
        default_mode=QuantMode.NONE,
        runtime="onnxruntime (incl. onnxruntime-mobile / onnxruntime-web)",
        constraints=("from PyTorch: torch.onnx dynamo exporter; from Keras/SavedModel: tf2onnx",),
    )
)
