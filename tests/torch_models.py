"""A PyTorch forecaster as a user writes it, and its state dict saved with safetensors (torch installed)."""

import torch
from safetensors.torch import save_file


class TorchForecaster(torch.nn.Module):
    """What a PyTorch user writes: two stacked LSTM layers, the last step's hidden state, a Linear head."""

    def __init__(self, inputs, hidden, dense=None):
        super().__init__()
        self.lstm = torch.nn.LSTM(inputs, hidden, num_layers=2, batch_first=True)
        self.head = (torch.nn.Linear(hidden, 1) if dense is None else
                     torch.nn.Sequential(torch.nn.Linear(hidden, dense), torch.nn.ReLU(), torch.nn.Linear(dense, 1)))

    def forward(self, x):
        return self.head(self.lstm(x)[0][:, -1])


def saved_state_dict(tmp_path, model, name="m.safetensors", **changes):
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    save_file(state, str(tmp_path / name))
    return tmp_path / name
