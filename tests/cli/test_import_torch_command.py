"""approx import-torch: the model file it writes forecasts as torch does and approx evaluate reads it; a state dict
it cannot convert is refused in one line."""

import json

import numpy as np
import torch
from click.testing import CliRunner

from cli import approx
from tests.torch_models import TorchForecaster, saved_state_dict


def test_the_command_writes_a_model_file_that_evaluate_reads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    model = TorchForecaster(58, 4, 3)  # float32, as PyTorch trains
    path = saved_state_dict(tmp_path, model)
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
    assert "lstm.weight_hh_l1" in _refusal(tmp_path, saved_state_dict(tmp_path, model, **{"lstm.weight_hh_l1": None}))
    assert "unexpected key head.scale" in _refusal(tmp_path, saved_state_dict(tmp_path, model, **{"head.scale": w["head.bias"]}))
    assert "lstm.weight_hh_l0 has shape (16, 3)" in _refusal(
        tmp_path, saved_state_dict(tmp_path, model, **{"lstm.weight_hh_l0": torch.zeros(16, 3)}))
    assert "F16" in _refusal(tmp_path, saved_state_dict(tmp_path, model, **{"head.weight": w["head.weight"].half()}))
    assert "does not map" in _refusal(tmp_path, saved_state_dict(tmp_path, model, **{"head.weight": torch.zeros(2, 4),
                                                                           "head.bias": torch.zeros(2)}))
    one = torch.nn.LSTM(58, 4, num_layers=1)
    assert "num_layers=1" in _refusal(tmp_path, saved_state_dict(tmp_path, one))
    both = torch.nn.LSTM(58, 4, num_layers=2, bidirectional=True)
    assert "bidirectional" in _refusal(tmp_path, saved_state_dict(tmp_path, both))
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    assert "not a safetensors file" in _refusal(tmp_path, tmp_path / "junk.safetensors")
    assert "no safetensors file" in _refusal(tmp_path, tmp_path / "missing.safetensors")
    good = saved_state_dict(tmp_path, model)
    assert "reads 58 features" in _refusal(tmp_path, good, "--lags", "48")
    assert "unknown activation" in _refusal(tmp_path, good, "--gate-activation", "nope")
