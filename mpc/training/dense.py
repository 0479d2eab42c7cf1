"""A dense layer on shares: forward a = f(x W + b) and back-propagation.

Forward: the Beaver matrix product x W (one round; W is masked and opened
once per step, x once however many products it enters), then f, with its
slope f'(z) kept in terms of the powers the forward pass opened
(:class:`mpc.training.activations.SlopeTerms`).  Backward, from dL/da:

    dz = dL/da * f'(z)              one round (none for identity); opens dL/da only
    dL/dW = x^T dz,  dL/dx = dz W^T one round, reusing the openings of x and W
    dL/db = sum over the batch of dz (local)

(the standard back-propagation of a fully connected layer, e.g. Goodfellow,
Bengio & Courville, *Deep Learning*, 2016, section 6.5; seed-style delta rule
delta_l = (W_(l+1)^T delta_(l+1)) * f'(z_l)).  Parameters are named and
shaped as ``nn``'s Dense: ``weight`` (in, out), ``bias`` (out,).
"""

from __future__ import annotations

from mpc.training.activations import activate
from mpc.training.rounds import sum_rows

__all__ = ["SecureDense"]


class SecureDense:
    """Dense layer whose parameters live in a shared dict (so SGD can replace them).

    Parameters
    ----------
    params : dict of str -> SharedTensor
        The model's parameters; this layer reads ``{name}.weight`` (in, out) and ``{name}.bias`` (out,).
    name : str
    activation : approx.Activation
        A registry polynomial, ``square`` or ``identity``.
    bounds : mpc.training.precision.PublicBounds
    """

    def __init__(self, params: dict, name: str, activation, bounds):
        self.params, self.name, self.activation, self.bounds = params, name, activation, bounds
        self._cache = None

    def forward(self, x):
        """Round program: a = f(x W + b) for x of shape (batch, in); caches x, W and f'(z)."""
        w = self.params[f"{self.name}.weight"]
        (xw,) = yield [("matmul", x, w)]
        ((a, slope),) = yield from activate([(xw + self.params[f"{self.name}.bias"], self.activation, self.name)],
                                            self.bounds, slope_terms=True)
        self._cache = (x, w, slope)
        return a

    def backward(self, d_out, grads: dict, input_grad: bool = True):
        """Round program: dL/dx from dL/da (batch, out); dL/dW and dL/db go to ``grads``.

        Returns
        -------
        SharedTensor (batch, in), or None when ``input_grad`` is False.
        """
        x, w, slope = self._cache
        d_out = self.bounds.cap_gradient(d_out)
        dz = d_out if slope is None else (yield from slope.times(d_out))
        products = yield [("matmul_tn", x, dz)] + ([("matmul_nt", dz, w)] if input_grad else [])
        grads[f"{self.name}.weight"] = products[0]
        grads[f"{self.name}.bias"] = sum_rows(dz)
        return products[1] if input_grad else None
