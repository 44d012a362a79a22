"""Linear-layer quantization for PyTorch backends (recipes with a LinearSpec): runs in workers.

Transformers and RNNs keep their weights in Linear layers (and LSTMs); PT2E's static and dynamic configurations
treat every op alike and break on them (attention's matmuls, embedding tables). ExecuTorch's LLM flows instead
quantize the Linear layers alone with torchao's `quantize_` (int8 dynamic activations, int8 or group-wise int4
weights), which XNNPACK lowers to its dynamically quantized fully-connected kernels; this module does the same,
after rewriting each `nn.LSTM` as the Linear layers it is made of so that its weights are quantized too.
"""

from __future__ import annotations

from typing import Any

from edgex.quantize.recipes import LinearSpec, Recipe

LINEAR_DOMINATED = 0.5  # share of the weights in Linear/RNN layers from which a model gets the Linear-layer form
MAX_CONV_SHARE = 0.1  # ...unless convolutions hold more than this: they dominate compute, and PT2E quantizes them


def _share(module: Any, kinds: tuple[Any, ...]) -> float:
    total = sum(p.numel() for p in module.parameters())
    held = sum(
        p.numel() for layer in module.modules() if isinstance(layer, kinds) for p in layer.parameters(recurse=False)
    )
    return held / total if total else 0.0


def linear_weight_share(module: Any) -> float:
    """Share of the parameters held by Linear and RNN layers (matmul weights, not lookup tables or convolutions)."""
    from torch import nn

    return _share(module, (nn.Linear, nn.RNNBase))


def is_linear_dominated(module: Any) -> bool:
    """Transformer- or RNN-shaped: most weights in Linear/RNN layers and (almost) none in convolutions; a CNN
    with a large fully-connected head is not (its compute is in the convolutions)."""
    from torch import nn

    conv = _share(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d))
    return linear_weight_share(module) >= LINEAR_DOMINATED and conv <= MAX_CONV_SHARE


def uses_linear_form(recipe: Recipe, module: Any) -> bool:
    """Whether the recipe applies in its Linear-layer form to this model (always when it has no PT2E form)."""
    if recipe.linear is None:
        return False
    return recipe.pt2e is None or is_linear_dominated(module)


def linear_dominated_source(ref: Any) -> bool | None:
    """is_linear_dominated for a PyTorch source (a worker call for -q auto); None for other sources."""
    if ref.format not in ("torch", "torch-export"):
        return None
    from edgex.sources.torch_common import load_torch_model

    return is_linear_dominated(load_torch_model(ref).module)


def _unrolled_lstm(lstm: Any) -> Any:
    """The same computation as `lstm` (eval mode) from Linear layers: the input projection of every step at once,
    then one recurrent Linear per step (the sequence length is static in an exported model)."""
    import torch
    from torch import nn

    if lstm.proj_size:
        raise ValueError("LSTM with proj_size")

    class Direction(nn.Module):
        def __init__(self, layer: int, suffix: str) -> None:
            super().__init__()
            weight_ih = getattr(lstm, f"weight_ih_l{layer}{suffix}")
            self.inputs = nn.Linear(weight_ih.shape[1], weight_ih.shape[0], bias=lstm.bias)
            self.hidden = nn.Linear(lstm.hidden_size, weight_ih.shape[0], bias=False)
            with torch.no_grad():
                self.inputs.weight.copy_(weight_ih)
                self.hidden.weight.copy_(getattr(lstm, f"weight_hh_l{layer}{suffix}"))
                if lstm.bias:
                    self.inputs.bias.copy_(
                        getattr(lstm, f"bias_ih_l{layer}{suffix}") + getattr(lstm, f"bias_hh_l{layer}{suffix}")
                    )

        def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, reverse: bool) -> Any:
            projected = self.inputs(x)  # [B, T, 4H]
            steps = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
            outputs = []
            for t in steps:
                i, f, g, o = (projected[:, t] + self.hidden(h)).chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outputs.append(h)
            if reverse:
                outputs.reverse()
            return torch.stack(outputs, dim=1), h, c

    class UnrolledLSTM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.batch_first = lstm.batch_first
            self.hidden_size = lstm.hidden_size
            suffixes = ["", "_reverse"] if lstm.bidirectional else [""]
            self.layers: Any = nn.ModuleList(
                nn.ModuleList(Direction(layer, suffix) for suffix in suffixes) for layer in range(lstm.num_layers)
            )

        def forward(self, x: torch.Tensor, state: Any = None) -> Any:
            if not self.batch_first:
                x = x.transpose(0, 1)
            directions = len(self.layers[0])
            count = len(self.layers) * directions
            if state is None:
                zeros = x.new_zeros(count, x.shape[0], self.hidden_size)
                state = (zeros, zeros)
            h_out, c_out = [], []
            for index, layer in enumerate(self.layers):
                outputs = []
                for direction, cell in enumerate(layer):
                    slot = index * directions + direction
                    out, h, c = cell(x, state[0][slot], state[1][slot], reverse=direction == 1)
                    outputs.append(out)
                    h_out.append(h)
                    c_out.append(c)
                x = torch.cat(outputs, dim=-1) if directions > 1 else outputs[0]
            output = x if self.batch_first else x.transpose(0, 1)
            return output, (torch.stack(h_out), torch.stack(c_out))

    return UnrolledLSTM()


def unroll_lstms(module: Any) -> int:
    """Replace every nn.LSTM in `module` by its Linear-layer form (in place); returns how many were replaced."""
    from torch import nn

    found = [(name, layer) for name, layer in module.named_modules() if isinstance(layer, nn.LSTM)]
    for name, layer in found:
        parent_name, _, attribute = name.rpartition(".")
        setattr(module.get_submodule(parent_name) if parent_name else module, attribute, _unrolled_lstm(layer))
    return len(found)


def quantize_linear_layers(module: Any, spec: LinearSpec, keep_float: tuple[str, ...] = ()) -> list[str]:
    """torchao `quantize_` on the Linear layers of `module` (in place), as ExecuTorch's 8da8w / 8da4w: int8
    dynamic activations; int4 group-wise weights where a layer's input width divides into groups, int8
    per-channel weights elsewhere. Layers named in `keep_float` stay float. Returns notes on what was done."""
    import torch
    from torch import nn
    from torchao.quantization import quantize_
    from torchao.quantization.granularity import PerAxis, PerGroup
    from torchao.quantization.quant_api import Int8DynamicActivationIntxWeightConfig

    notes = []
    unrolled = unroll_lstms(module)
    if unrolled:
        notes.append(f"{unrolled} LSTM(s) rewritten as Linear layers for quantization")
    linears = {
        name: layer
        for name, layer in module.named_modules()
        if isinstance(layer, nn.Linear) and not any(name == k or name.startswith(f"{k}.") for k in keep_float)
    }
    group = spec.group_size if spec.weight_bits == 4 else None
    grouped = {name for name, layer in linears.items() if group and layer.in_features % group == 0}
    if group and grouped:
        config = Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int4, weight_granularity=PerGroup(group))  # type: ignore[attr-defined]
        quantize_(module, config, filter_fn=lambda _layer, name: name in grouped)
    per_channel = set(linears) - grouped
    if per_channel:
        config = Int8DynamicActivationIntxWeightConfig(weight_dtype=torch.int8, weight_granularity=PerAxis(0))
        quantize_(module, config, filter_fn=lambda _layer, name: name in per_channel)
    bits = f"int4 (groups of {group}) weights on {len(grouped)}, int8 on {len(per_channel)}" if grouped else (
        f"int8 weights on {len(per_channel)}"
    )
    notes.append(f"Linear layers: dynamic int8 activations, {bits} (torchao)")
    return notes
