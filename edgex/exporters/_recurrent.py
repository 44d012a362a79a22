"""nn.LSTM layers re-expressed as a torch scan loop before torch.export, for ExecuTorch.

torch.export keeps `aten.lstm` whole, but ExecuTorch has no LSTM kernel: its edge decomposition unrolls every
time step of every layer into ~20 nodes, and lowering time grows faster than the node count (a 3-layer LSTM over
160 frames, ~10k nodes, did not lower in 15 minutes). ExecuTorch runs `torch.ops.higher_order.scan` as a loop, so
one cell body per layer is exported instead: the input projection of all steps is one matmul (XNNPACK), the
recurrent step runs on portable kernels.
"""

from __future__ import annotations

from typing import Any


def _lstm_layer(inputs: Any, state: tuple[Any, Any], weights: tuple[Any, ...]) -> tuple[Any, Any, Any]:
    """One unidirectional layer over (time, batch, features): outputs and the final (h, c)."""
    import torch
    from torch._higher_order_ops.scan import scan

    w_ih, w_hh, b_ih, b_hh = weights
    bias = None if b_ih is None else b_ih + b_hh
    projected = torch.nn.functional.linear(inputs, w_ih, bias)  # every time step in one matmul

    def cell(carry: tuple[Any, Any], x_t: Any) -> tuple[tuple[Any, Any], Any]:
        hidden, cell_state = carry
        gates = x_t + torch.nn.functional.linear(hidden, w_hh)
        in_gate, forget_gate, candidate, out_gate = gates.chunk(4, dim=-1)
        cell_state = torch.sigmoid(forget_gate) * cell_state + torch.sigmoid(in_gate) * torch.tanh(candidate)
        hidden = torch.sigmoid(out_gate) * torch.tanh(cell_state)
        return (hidden, cell_state), hidden.clone()  # scan refuses outputs that alias the carry

    (hidden, cell_state), outputs = scan(cell, state, projected)
    return outputs, hidden, cell_state


def _scan_lstm_class() -> type:
    import torch
    from torch import nn

    class ScanLSTM(nn.Module):
        """Same weights and results as the wrapped nn.LSTM (eval mode), as one scan per layer."""

        def __init__(self, lstm: nn.LSTM) -> None:
            super().__init__()
            self.lstm = lstm

        def forward(self, inputs: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None) -> Any:
            lstm = self.lstm
            unbatched = inputs.dim() == 2
            if unbatched:
                inputs = inputs.unsqueeze(1 if not lstm.batch_first else 0)
                hx = None if hx is None else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
            steps = inputs.transpose(0, 1) if lstm.batch_first else inputs
            batch = steps.shape[1]
            hiddens, cells = [], []
            for layer in range(lstm.num_layers):
                if hx is None:
                    zeros = steps.new_zeros(batch, lstm.hidden_size)
                    state = (zeros, zeros.clone())
                else:
                    state = (hx[0][layer], hx[1][layer])
                weights = tuple(
                    getattr(lstm, f"{name}_l{layer}", None) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                )
                steps, hidden, cell_state = _lstm_layer(steps, state, weights)
                hiddens.append(hidden)
                cells.append(cell_state)
            outputs = steps.transpose(0, 1) if lstm.batch_first else steps
            final = (torch.stack(hiddens), torch.stack(cells))
            if unbatched:
                outputs = outputs.squeeze(0 if lstm.batch_first else 1)
                final = (final[0].squeeze(1), final[1].squeeze(1))
            return outputs, final

    return ScanLSTM


def scan_recurrent_layers(module: Any) -> tuple[Any, list[str]]:
    """The module with every unidirectional nn.LSTM without projection in its scan form (replaced in place), and
    their paths. Bidirectional and projected LSTMs are left as they are (exported unrolled, as before)."""
    from torch import nn

    targets = [
        (name, child)
        for name, child in module.named_modules()
        if isinstance(child, nn.LSTM) and not child.bidirectional and not child.proj_size
    ]
    if not targets:
        return module, []
    scan_lstm = _scan_lstm_class()
    for name, lstm in targets:
        if not name:  # the model is an nn.LSTM itself
            return scan_lstm(lstm), ["<model>"]
        parent_name, _, attribute = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, attribute, scan_lstm(lstm))
    return module, [name for name, _ in targets]
