"""MSE loss gradient and the SGD update on shares.

Loss (mean squared error, halved): C = (1/B) sum_i 1/2 |y'_i - y_i|^2 over a batch of B, so
dC/dy' = (y' - y) / B.  The layers back-propagate the unscaled y' - y (local)
and the update folds 1/B into the learning rate,

    W <- W - (lr / (B S)) S dL_sum/dW - lr lambda W        (lambda: L2, on weights only)
    b <- b - (lr / (B S)) S dL_sum/db

which keeps the gradients B times further above the fixed-point resolution
2^-f than dividing first would, and S (the loss scale, a public power of two
the backward pass started with) times more (CrypTen's layer-1 gradients at
batch 64 and 16 fractional bits were mostly noise).  lr / (B S) and lr lambda are public
constants applied with :func:`mpc.training.rounds.scale`, which keeps their
relative precision.
"""

from __future__ import annotations

from mpc.beaver import compute
from mpc.training.rounds import scale_many, sum_rows

__all__ = ["mse_output_grad", "summed_squared_error", "sgd_update", "is_weight"]


def mse_output_grad(prediction, target):
    """B dC/dy' = y' - y (local) for shared predictions and targets of one shape."""
    return prediction - target


def summed_squared_error(prediction, target, bound: float | None = None):
    """Shares of sum |y' - y|^2 over a batch (one round: the elementwise square, then a local sum), e.g. to
    open a loss as one number.

    Parameters
    ----------
    prediction, target : SharedTensor
        Of one shape.
    bound : float, optional
        A declared bound on |y' - y| (caps the propagated one, as the declared gradient bound does).

    Returns
    -------
    SharedTensor of shape (1,)
    """
    d = mse_output_grad(prediction, target)
    if bound is not None:
        d.magnitude = min(d.magnitude, bound)
    (square,) = compute([("mul", d, d)])
    return sum_rows(square, len(square.shape)).reshape((1,))


def is_weight(name: str) -> bool:
    """True for weight matrices (``*.weight*``), which L2 applies to; False for biases."""
    return name.rsplit(".", 1)[-1].startswith("weight")


def sgd_update(params: dict, grads: dict, lr: float, batch: int, l2: float = 0.0, bounds=None,
               loss_scale: int = 1) -> None:
    """Replace every shared parameter by its SGD step (local: public-constant products and subtractions).

    Parameters
    ----------
    params, grads : dict of str -> SharedTensor
        ``loss_scale`` times the gradients of the batch's summed loss, same names and shapes.
    lr : float
        Public learning rate.
    batch : int
        B: the gradients are divided by it.
    l2 : float
        lambda, on weights only.
    bounds : mpc.training.precision.PublicBounds, optional
        Caps the propagated bound on |w| at the declared weight bound, if any.
    loss_scale : int
        S, divided out here.
    """
    # every parameter's update with the same two truncations (two rounds in dealer mode, none in local)
    names = list(grads)
    decay = [name for name in names if l2 and is_weight(name)]
    steps = scale_many([(grads[name], lr / (batch * loss_scale)) for name in names]
                       + [(params[name], lr * l2) for name in decay])
    shrink = dict(zip(decay, steps[len(names):]))
    for name, step in zip(names, steps):
        new = params[name] - step
        if name in shrink:
            new = new - shrink[name]
        params[name] = new if bounds is None else bounds.cap_weight(new)
