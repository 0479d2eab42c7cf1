"""nn.torch_import: a PyTorch nn.LSTM + nn.Linear head gives the same forecasts as in torch."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.torch_import import StateDictError, forecaster_from_state_dict, read_state_dict
from tests.torch_models import TorchForecaster, saved_state_dict


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


def test_read_state_dict_keeps_the_stored_float_types(tmp_path):
    model = TorchForecaster(2, 3)
    path = saved_state_dict(tmp_path, model, **{"head.bias": model.state_dict()["head.bias"].double()})
    state = read_state_dict(path)
    assert state["head.bias"].dtype == np.float64 and state["lstm.weight_ih_l0"].dtype == np.float32
    with pytest.raises(StateDictError, match="nn.LSTM"):
        forecaster_from_state_dict({"head.weight": state["head.weight"], "head.bias": state["head.bias"]})
