"""ONNX LSTM for onnx2torch, which has no converter for it: a torch.nn.LSTM built from the node's weights.

Registered with onnx2torch's converter registry (`add_converter`) before a conversion; runs in the torch worker.
ONNX stores the four gates in the order input, output, forget, cell; torch in input, forget, cell, output, so
the weight and bias blocks are reordered. Supported: forward, reverse and bidirectional directions, the default
activations, initial states, outputs Y / Y_h / Y_c, layout 0 (sequence first). Peepholes, clipping, coupled
input-forget gates and per-sample sequence lengths are refused with a clear error: torch.nn.LSTM has none of them.
"""

from __future__ import annotations

from typing import Any

ONNX_LSTM_VERSIONS = (7, 14)
_TORCH_GATE_ORDER = (0, 2, 3, 1)  # ONNX blocks (i, o, f, c) taken as torch's (i, f, c, o)
_DEFAULT_ACTIVATIONS = ["Sigmoid", "Tanh", "Tanh"]


def _reordered(blocks: Any, hidden: int) -> Any:
    import torch

    return torch.cat([blocks[gate * hidden : (gate + 1) * hidden] for gate in _TORCH_GATE_ORDER])


def _make_module() -> type:
    import torch
    from onnx2torch.utils.common import OnnxToTorchModule

    class OnnxLSTM(torch.nn.Module, OnnxToTorchModule):
        """ONNX LSTM semantics (Y: seq x directions x batch x hidden) around torch.nn.LSTM."""

        def __init__(self, lstm: torch.nn.LSTM, reverse: bool) -> None:
            super().__init__()
            self.lstm = lstm
            self.reverse = reverse  # ONNX direction 'reverse': one direction, run over the flipped sequence

        def forward(self, x: Any, initial_h: Any = None, initial_c: Any = None) -> tuple[Any, Any, Any]:
            if self.reverse:
                x = x.flip(0)
            state = None if initial_h is None else (initial_h, initial_c)
            y, (h, c) = self.lstm(x, state)
            if self.reverse:
                y = y.flip(0)
            directions = 2 if self.lstm.bidirectional else 1
            y = y.reshape(y.shape[0], y.shape[1], directions, self.lstm.hidden_size).transpose(1, 2)
            return y, h, c

    return OnnxLSTM


def convert_lstm(node: Any, graph: Any) -> Any:
    """onnx2torch converter for one LSTM node (weights must be initializers: the ONNX repair folds them)."""
    import torch
    from onnx2torch.utils.common import OnnxMapping, OperationConverterResult

    attributes = node.attributes
    inputs = list(node.input_values) + [""] * (8 - len(node.input_values))
    x_name, w_name, r_name, b_name, lengths, h_name, c_name, peepholes = inputs
    unsupported = [
        what
        for what, present in (
            ("peepholes (P)", bool(peepholes)),
            ("sequence_lens", bool(lengths)),
            ("clip", "clip" in attributes),
            ("input_forget", bool(attributes.get("input_forget", 0))),
            ("layout=1", bool(attributes.get("layout", 0))),
            ("activations other than Sigmoid/Tanh/Tanh",
             attributes.get("activations", _DEFAULT_ACTIVATIONS)[:3] != _DEFAULT_ACTIVATIONS),
            ("only one of initial_h / initial_c", bool(h_name) != bool(c_name)),
            ("weights computed at run time", any(n not in graph.initializers for n in (w_name, r_name, b_name) if n)),
        )
        if present
    ]
    if unsupported:
        raise NotImplementedError(f"LSTM {node.name}: {', '.join(unsupported)} not supported")
    direction = attributes.get("direction", "forward")
    weights = graph.initializers[w_name].to_torch()
    recurrent = graph.initializers[r_name].to_torch()
    directions, four_hidden, input_size = weights.shape
    hidden = int(attributes.get("hidden_size", four_hidden // 4))
    bias = (
        graph.initializers[b_name].to_torch()
        if b_name
        else torch.zeros(directions, 8 * hidden, dtype=weights.dtype)
    )
    lstm = torch.nn.LSTM(input_size, hidden, num_layers=1, bidirectional=direction == "bidirectional")
    with torch.no_grad():
        for index, suffix in enumerate(("", "_reverse")[:directions]):
            getattr(lstm, f"weight_ih_l0{suffix}").copy_(_reordered(weights[index], hidden))
            getattr(lstm, f"weight_hh_l0{suffix}").copy_(_reordered(recurrent[index], hidden))
            getattr(lstm, f"bias_ih_l0{suffix}").copy_(_reordered(bias[index, : 4 * hidden], hidden))
            getattr(lstm, f"bias_hh_l0{suffix}").copy_(_reordered(bias[index, 4 * hidden :], hidden))
    module = _make_module()(lstm.eval(), reverse=direction == "reverse")
    mapped_inputs = (x_name, h_name, c_name) if h_name else (x_name,)
    return OperationConverterResult(module, OnnxMapping(inputs=mapped_inputs, outputs=node.output_values))


def register_lstm() -> None:
    """Add the converter to onnx2torch's registry once per process (the registry refuses duplicates)."""
    from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY, OperationDescription, add_converter

    for version in ONNX_LSTM_VERSIONS:
        if OperationDescription("", "LSTM", version) not in _CONVERTER_REGISTRY:
            add_converter(operation_type="LSTM", version=version)(convert_lstm)
