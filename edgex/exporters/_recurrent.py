"""nn.LSTM and nn.GRU layers re-expressed as a torch scan loop before torch.export, for ExecuTorch.

torch.export keeps `aten.lstm` / `aten.gru` whole, but ExecuTorch has no kernel for them: its edge decomposition
unrolls every time step of every layer into ~20 nodes, and lowering time grows faster than the node count (a
3-layer LSTM over 160 frames, ~10k nodes, did not lower in 15 minutes). ExecuTorch runs
`torch.ops.higher_order.scan` as a loop, so one cell body per layer is exported instead: the input projection of
all steps is one matmul (XNNPACK), the recurrent step runs on portable kernels.
"""

from __future__ import annotations

from typing import Any


def _lstm_cell(w_hh: Any) -> Any:
    """Gate order i, f, g, o (torch.nn.LSTM); `x_t` is the step's input projection with both biases."""
    import torch

    def cell(carry: tuple[Any, ...], x_t: Any) -> tuple[tuple[Any, ...], Any]:
        hidden, cell_state = carry
        gates = x_t + torch.nn.functional.linear(hidden, w_hh)
        in_gate, forget_gate, candidate, out_gate = gates.chunk(4, dim=-1)
        cell_state = torch.sigmoid(forget_gate) * cell_state + torch.sigmoid(in_gate) * torch.tanh(candidate)
        hidden = torch.sigmoid(out_gate) * torch.tanh(cell_state)
        return (hidden, cell_state), hidden.clone()  # scan refuses outputs that alias the carry

    return cell


def _gru_cell(w_hh: Any, b_hh: Any) -> Any:
    """Gate order r, z, n (torch.nn.GRU); the recurrent bias of n sits inside the reset gate's product."""
    import torch

    def cell(carry: tuple[Any, ...], x_t: Any) -> tuple[tuple[Any, ...], Any]:
        (hidden,) = carry
        reset_in, update_in, new_in = x_t.chunk(3, dim=-1)
        reset_h, update_h, new_h = torch.nn.functional.linear(hidden, w_hh, b_hh).chunk(3, dim=-1)
        reset = torch.sigmoid(reset_in + reset_h)
        update = torch.sigmoid(update_in + update_h)
        candidate = torch.tanh(new_in + reset * new_h)
        hidden = (1 - update) * candidate + update * hidden
        return (hidden,), hidden.clone()

    return cell


def _layer(kind: str, steps: Any, state: tuple[Any, ...], weights: tuple[Any, ...]) -> tuple[Any, tuple[Any, ...]]:
    """One unidirectional layer over (time, batch, features): its outputs and final state."""
    import torch
    from torch._higher_order_ops.scan import scan

    w_ih, w_hh, b_ih, b_hh = weights
    if kind == "LSTM":
        bias = None if b_ih is None else b_ih + b_hh
        cell = _lstm_cell(w_hh)
    else:
        bias, cell = b_ih, _gru_cell(w_hh, b_hh)
    projected = torch.nn.functional.linear(steps, w_ih, bias)  # every time step in one matmul
    final, outputs = scan(cell, state, projected)
    return outputs, tuple(final)


def _scan_rnn_class() -> type:
    import torch
    from torch import nn

    class ScanRNN(nn.Module):
        """Same weights and results as the wrapped nn.LSTM / nn.GRU (eval mode), as one scan per layer."""

        def __init__(self, rnn: nn.Module) -> None:
            super().__init__()
            self.rnn = rnn

        def forward(self, inputs: torch.Tensor, hx: Any = None) -> Any:
            rnn: Any = self.rnn  # nn.LSTM or nn.GRU: their attributes are plain ints and bools
            kind = type(rnn).__name__
            initial = None if hx is None else (hx if kind == "LSTM" else (hx,))
            unbatched = inputs.dim() == 2
            if unbatched:
                inputs = inputs.unsqueeze(0 if rnn.batch_first else 1)
                initial = None if initial is None else tuple(s.unsqueeze(1) for s in initial)
            steps = inputs.transpose(0, 1) if rnn.batch_first else inputs
            finals: list[tuple[Any, ...]] = []
            for layer in range(rnn.num_layers):
                if initial is None:
                    zeros = steps.new_zeros(steps.shape[1], rnn.hidden_size)
                    state = (zeros, zeros.clone()) if kind == "LSTM" else (zeros,)
                else:
                    state = tuple(s[layer] for s in initial)
                names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                weights = tuple(getattr(rnn, f"{name}_l{layer}", None) for name in names)
                steps, final = _layer(kind, steps, state, weights)
                finals.append(final)
            outputs = steps.transpose(0, 1) if rnn.batch_first else steps
            stacked = tuple(torch.stack(parts) for parts in zip(*finals, strict=True))
            if unbatched:
                outputs = outputs.squeeze(0 if rnn.batch_first else 1)
                stacked = tuple(s.squeeze(1) for s in stacked)
            return outputs, (stacked if kind == "LSTM" else stacked[0])

    return ScanRNN


def scan_recurrent_layers(module: Any) -> tuple[Any, list[str]]:
    """The module with every unidirectional nn.LSTM (without projection) and nn.GRU in scan form (replaced in
    place), and their paths. Bidirectional and projected layers are left as they are (exported unrolled)."""
    from torch import nn

    targets = [
        (name, child)
        for name, child in module.named_modules()
        if type(child) in (nn.LSTM, nn.GRU) and not child.bidirectional and not getattr(child, "proj_size", 0)
    ]
    if not targets:
        return module, []
    scan_rnn = _scan_rnn_class()
    for name, rnn in targets:
        if not name:  # the model is a recurrent layer itself
            return scan_rnn(rnn), ["<model>"]
        parent_name, _, attribute = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, attribute, scan_rnn(rnn))
    return module, [name for name, _ in targets]
