"""The LSTM's gate blocks are i, f, o, g; PyTorch's nn.LSTM weights convert by swapping its g and o blocks."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nn.activation import LayerActivation
from nn.lstm import LSTM


def torch_lstm(x, weight_ih, weight_hh, bias_ih, bias_hh):
    """nn.LSTM's documented recurrence (gate rows i, f, g, o; weights (4H, in)), batch first, in numpy."""
    n, steps, _ = x.shape
    hid = weight_hh.shape[1]
    h, c, out = np.zeros((n, hid)), np.zeros((n, hid)), []
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(steps):
        z = x[:, t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
        i, f, g, o = (z[:, k * hid:(k + 1) * hid] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.stack(out, axis=1)


def from_torch(rows: np.ndarray) -> np.ndarray:
    """Blocks i, f, g, o along axis 0 -> ours, i, f, o, g (still along axis 0)."""
    i, f, g, o = np.split(rows, 4, axis=0)
    return np.concatenate([i, f, o, g], axis=0)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 4), st.integers(1, 5), st.integers(0, 2**31))
def test_pytorch_weights_with_g_and_o_swapped_give_pytorch_forward(n, steps, d, hid, seed):
    rng = np.random.default_rng(seed)
    w_ih, w_hh = rng.normal(size=(4 * hid, d)), rng.normal(size=(4 * hid, hid))
    b_ih, b_hh = rng.normal(size=4 * hid), rng.normal(size=4 * hid)
    x = rng.normal(size=(n, steps, d))
    gate, tanh = LayerActivation("sigmoid"), LayerActivation("tanh")
    layer = LSTM(d, hid, gate, tanh, tanh, "standard", rng)
    layer.params["weight_ih"] = from_torch(w_ih).T.copy()
    layer.params["weight_hh"] = from_torch(w_hh).T.copy()
    layer.params["bias"] = from_torch(b_ih + b_hh)
    expected = torch_lstm(x, w_ih, w_hh, b_ih, b_hh)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-9, atol=1e-12)
    # without the swap the same weights give another network: the order is not PyTorch's
    layer.params["weight_ih"], layer.params["weight_hh"] = w_ih.T.copy(), w_hh.T.copy()
    layer.params["bias"] = b_ih + b_hh
    assert not np.allclose(layer.forward(x), expected)
