"""approx import-torch and nn.torch_import: a PyTorch nn.LSTM + nn.Linear head gives the same forecasts as in torch."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from cli import approx
from nn.torch_import import StateDictError, forecaster_from_state_dict, read_state_dict


class TorchForecaster(torch.nn.Module):
    """What a PyTorch user writes: two stacked LSTM layers, the last step's hidden state, a Linear head."""

    def __init__(self, inputs, hidden, dense=None):
        super().__init__()
        self.lstm = torch.nn.LSTM(inputs, hidden, num_layers=2, batch_first=True)
        self.head = (torch.nn.Linear(hidden, 1) if dense is None else
                     torch.nn.Sequential(torch.nn.Linear(hidden, dense), torch.nn.ReLU(), torch.nn.Linear(dense, 1)))

    def forward(self, x):
        return self.head(self.lstm(x)[0][:, -1])


def _saved(tmp_path, model, name="m.safetensors", **changes):
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    save_file(state, str(tmp_path / name))
    return tmp_path / name


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.one_of(st.none(), st.integers(1, 5)),
       st.integers(0, 2**31))
def test_the_converted_forecaster_gives_torch_forward(inputs, hidden, steps, dense, seed):
    torch.manual_seed(seed)
    model = TorchForecaster(inputs, hidden, dense).double()
    with torch.no_grad():  # biases away from PyTorch's small init, so that a wrong sum or order shows
        for name, value in model.named_parameters():
            value.add_(torch.randn_like(value))
    x = np.random.default_rng(seed).normal(size=(3, steps, inputs))
    expected = model(torch.from_numpy(x)).detach().numpy()
    ours = forecaster_from_state_dict({k: v.numpy() for k, v in model.state_dict().items()}, dtype="float64")
    np.testing.assert_allclose(ours.forward(x), expected, rtol=1e-10, atol=1e-12)
    assert ours.config.dense_size == (hidden if dense is None else dense)


def test_the_command_writes_a_model_file_that_evaluate_reads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    model = TorchForecaster(58, 4, 3)  # float32, as PyTorch trains
    path = _saved(tmp_path, model)
    run = CliRunner().invoke(approx, ["import-torch", str(path), "--registry", "r.json", "--dtype", "float32",
                                      "-o", "imported.npz"])
    assert run.exit_code == 0, run.output
    from nn.persistence import load_model

    ours, meta = load_model("imported.npz", registry="r.json")
    x = np.random.default_rng(1).normal(size=(4, 20, 58)).astype(np.float32)
    np.testing.assert_allclose(ours.forward(x), model(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert meta["summary"]["imported_from"]["source"] == str(path)
    evaluated = CliRunner().invoke(approx, ["evaluate", "imported.npz", "--registry", "r.json", "--json"])
    assert evaluated.exit_code == 0 and json.loads(evaluated.stdout)["test_rmse"] > 0


def _refusal(tmp_path, path, *more):
    result = CliRunner().invoke(approx, ["import-torch", str(path), "-o", str(tmp_path / "out.npz"), *more])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert not (tmp_path / "out.npz").exists()
    return lines[0]


def test_wrong_keys_shapes_and_dtypes_are_refused_in_one_line(tmp_path):
    torch.manual_seed(0)
    model = TorchForecaster(58, 4)
    w = model.state_dict()
    assert "lstm.weight_hh_l1" in _refusal(tmp_path, _saved(tmp_path, model, **{"lstm.weight_hh_l1": None}))
    assert "unexpected key head.scale" in _refusal(tmp_path, _saved(tmp_path, model, **{"head.scale": w["head.bias"]}))
    assert "lstm.weight_hh_l0 has shape (16, 3)" in _refusal(
        tmp_path, _saved(tmp_path, model, **{"lstm.weight_hh_l0": torch.zeros(16, 3)}))
    assert "F16" in _refusal(tmp_path, _saved(tmp_path, model, **{"head.weight": w["head.weight"].half()}))
    assert "does not map" in _refusal(tmp_path, _saved(tmp_path, model, **{"head.weight": torch.zeros(2, 4),
                                                                           "head.bias": torch.zeros(2)}))
    one = torch.nn.LSTM(58, 4, num_layers=1)
    assert "num_layers=1" in _refusal(tmp_path, _saved(tmp_path, one))
    both = torch.nn.LSTM(58, 4, num_layers=2, bidirectional=True)
    assert "bidirectional" in _refusal(tmp_path, _saved(tmp_path, both))
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    assert "not a safetensors file" in _refusal(tmp_path, tmp_path / "junk.safetensors")
    assert "no safetensors file" in _refusal(tmp_path, tmp_path / "missing.safetensors")
    good = _saved(tmp_path, model)
    assert "reads 58 features" in _refusal(tmp_path, good, "--lags", "48")
    assert "unknown activation" in _refusal(tmp_path, good, "--gate-activation", "nope")


def test_read_state_dict_keeps_the_stored_float_types(tmp_path):
    model = TorchForecaster(2, 3)
    path = _saved(tmp_path, model, **{"head.bias": model.state_dict()["head.bias"].double()})
    state = read_state_dict(path)
    assert state["head.bias"].dtype == np.float64 and state["lstm.weight_ih_l0"].dtype == np.float32
    with pytest.raises(StateDictError, match="nn.LSTM"):
        forecaster_from_state_dict({"head.weight": state["head.weight"], "head.bias": state["head.bias"]})
