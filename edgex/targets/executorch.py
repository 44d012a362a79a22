"""ExecuTorch .pte targets: XNNPACK-delegated (phones, Linux boards) and portable kernels (anything with a C++
compiler). One module registers both because they share the converter and differ only in the backend."""

from edgex.quantize.modes import QuantMode
from edgex.targets import Target, register

register(
    Target(
        name="executorch-xnnpack",
        format="pte",
        extension=".pte",
        description="ExecuTorch program lowered to XNNPACK (ARM/x86 CPUs)",
        quant_modes=(QuantMode.NONE, QuantMode.FP16, QuantMode.DYNAMIC, QuantMode.INT8),
        default_mode=QuantMode.NONE,
        runtime="ExecuTorch runtime with the XNNPACK delegate (Android, iOS, Linux)",
        constraints=(
            "int8: PT2E static per-channel, calibration data required",
            "fp16 only when XNNPACK takes every node",
            "--min-delegated gates the delegated share",
        ),
        aliases=("executorch", "pte", "xnnpack"),
        name_tag="xnnpack",
        settings=(("backend", "xnnpack"),),
    )
)

register(
    Target(
        name="executorch-portable",
        format="pte",
        extension=".pte",
        description="ExecuTorch program on portable (reference C++) kernels, no delegate",
        quant_modes=(QuantMode.NONE, QuantMode.INT8),
        default_mode=QuantMode.NONE,
        runtime="ExecuTorch runtime, portable + quantized kernels (microcontrollers, any C++ toolchain)",
        constraints=(
            "int8: PT2E static per-channel, calibration data required",
            "int8 apps must link ExecuTorch's quantized kernels (quantized_ops_lib) next to the portable ones",
        ),
        aliases=("portable",),
        name_tag="portable",
        settings=(("backend", "portable"),),
    )
)
