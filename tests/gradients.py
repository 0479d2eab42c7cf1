"""Gradient checks by central differences."""

import numpy as np

H = 1e-6


def finite_difference_check(params: dict, grads: dict, loss_fn, rng, per_param: int = 6) -> None:
    """Central differences on a few random entries of each parameter; relative error < 1e-6."""
    ours, numeric = [], []
    for name, p in params.items():
        for idx in [tuple(rng.integers(0, s) for s in p.shape) for _ in range(per_param)]:
            old = p[idx]
            p[idx] = old + H
            up = loss_fn()
            p[idx] = old - H
            down = loss_fn()
            p[idx] = old
            ours.append(grads[name][idx])
            numeric.append((up - down) / (2 * H))
    ours, numeric = np.array(ours), np.array(numeric)
    assert np.linalg.norm(ours - numeric) <= 1e-6 * (np.linalg.norm(ours) + np.linalg.norm(numeric)) + 1e-10
