"""Legacy PyTorch Mobile (.ptl for pytorch_android_lite / LibTorch-Lite). ExecuTorch is its successor."""

from edgex.quantize.modes import QuantMode
from edgex.targets import Target, register

register(
    Target(
        name="pytorch-lite",
        format="ptl",
        extension=".ptl",
        description="legacy PyTorch-Mobile lite-interpreter program (successor: executorch-xnnpack)",
        quant_modes=(QuantMode.NONE,),
        default_mode=QuantMode.NONE,
        runtime="PyTorch Mobile lite interpreter (pytorch_android_lite, LibTorch-Lite)",
        constraints=("traced: data-dependent control flow is frozen to the example input",),
        aliases=("ptl", "pytorch-mobile"),
    )
)
