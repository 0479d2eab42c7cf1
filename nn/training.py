"""Training by stochastic gradient descent with L2, clipping and early stopping.

Per epoch the training windows are reshuffled (a seeded numpy Generator, so a
run is reproducible bit for bit) and visited in minibatches (batch size 1 is
per-sample SGD).  Each step applies

    W <- W - lr (dL/dW + lambda W)

(L2 on weights, not on biases: Goodfellow, Bengio & Courville, *Deep Learning*, 2016, §7.1; early stopping §7.8)
after scaling the whole gradient down to norm ``clip_norm`` if it is longer.
Training stops early when the validation loss has not fallen for ``patience``
epochs, and the parameters of the best epoch are restored.  It stops at once,
marked diverged, when a loss becomes NaN or infinite or exceeds
``DIVERGENCE`` (10^6) times the validation loss of the initial weights (an
exploding run: normal training lowers the loss, and 10^6 leaves room for any
noisy start).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits


__all__ = ["TrainConfig", "History", "train", "train_to_the_last_epoch", "DIVERGENCE"]

DIVERGENCE = 1e6


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`train`.

    Attributes
    ----------
    epochs : int
        At most this many epochs.
    batch_size : int
        1 is per-sample SGD.
    lr : float
        Learning rate.
    l2 : float
        L2 regularisation lambda on weight matrices.
    clip_norm : float or None
        Global gradient-norm clipping.
    patience : int
        Epochs without a new best validation loss before stopping.
    seed : int
        Seeds the shuffling.
    """

    epochs: int = 150
    batch_size: int = 1
    lr: float = 0.01
    l2: float = 0.0
    clip_norm: float | None = 5.0
    patience: int = 10
    seed: int = 0


@dataclasses.dataclass
class History:
    """What happened during :func:`train`.

    Attributes
    ----------
    train_loss, val_loss : list of float
        Per epoch, the model's loss (the forecaster: MSE 1/2 (y' - y)^2 on
        normalised loads; the classifiers: cross-entropy).
    outside_interval : list of dict
        Per epoch, the domain monitor on the validation windows.
    best_epoch : int
        1-based epoch whose parameters were kept.
    diverged : bool
        The loss became NaN or infinite, or exceeded ``DIVERGENCE`` times the initial
        validation loss (training stopped there; the best epoch's parameters, if any,
        were restored).
    seconds : float
        Wall time of training.
    """

    train_loss: list = dataclasses.field(default_factory=list)
    val_loss: list = dataclasses.field(default_factory=list)
    outside_interval: list = dataclasses.field(default_factory=list)
    best_epoch: int = 0
    diverged: bool = False
    seconds: float = 0.0

    @property
    def epochs_run(self) -> int:
        """Epochs trained (early stopping may end before ``TrainConfig.epochs``)."""
        return len(self.train_loss)


def _is_weight(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("weight")


def evaluate_loss(model, x: np.ndarray, y: np.ndarray, batch: int = 1024) -> float:
    """Mean loss (``model.loss``) on (x, y), in batches of ``batch`` samples."""
    total = 0.0
    for start in range(0, len(x), batch):
        total += model.loss(x[start:start + batch], y[start:start + batch]) * len(x[start:start + batch])
    return total / len(x)


# The matrices of these models are small: BLAS threads cost more in synchronisation than they
# save (on a busy 2-core machine a step took 6x longer with two OpenBLAS threads than with one).
@threadpool_limits.wrap(limits=1, user_api="blas")
def train(model, train_xy: tuple[np.ndarray, np.ndarray], val_xy: tuple[np.ndarray, np.ndarray],
          config: TrainConfig = TrainConfig(),
          on_epoch: Callable[[int, History], None] | None = None) -> History:
    """Train ``model`` in place, with BLAS on one thread.

    Parameters
    ----------
    model : object with ``params``, ``loss_and_grads(x, y)``, ``loss(x, y)`` and ``outside_interval()``
    train_xy, val_xy : (x, y)
        Samples on the first axis: windows (samples, time, features) and targets
        (samples, 1) for the forecaster, features and labels for the classifiers.
    config : TrainConfig
    on_epoch : callable (epoch, history), optional
        Called after every epoch (progress display).

    Returns
    -------
    History
    """
    x, y = train_xy
    rng = np.random.default_rng(config.seed)
    params = model.params
    history = History()
    best_loss, best_params, since_best = np.inf, None, 0
    start = time.perf_counter()
    limit = DIVERGENCE * max(evaluate_loss(model, *val_xy), np.finfo(np.float64).tiny)
    for epoch in range(1, config.epochs + 1):
        order = rng.permutation(len(x))
        total = 0.0
        for first in range(0, len(x), config.batch_size):
            idx = order[first:first + config.batch_size]
            loss, grads = model.loss_and_grads(x[idx], y[idx])
            if not loss <= limit:  # diverged (or NaN): no use finishing the epoch
                total = np.inf
                break
            total += loss * len(idx)
            if config.l2:
                for name, g in grads.items():
                    if _is_weight(name):
                        g += config.l2 * params[name]
            if config.clip_norm is not None:
                norm = np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
                if norm > config.clip_norm:
                    for g in grads.values():
                        g *= config.clip_norm / norm
            for name, g in grads.items():
                params[name] -= config.lr * g
        history.train_loss.append(total / len(x))
        val_loss = evaluate_loss(model, *val_xy)
        history.val_loss.append(val_loss)
        history.outside_interval.append(model.outside_interval())
        if not (val_loss <= limit and history.train_loss[-1] <= limit):
            history.diverged = True
            break
        if val_loss < best_loss:
            best_loss, since_best, history.best_epoch = val_loss, 0, epoch
            best_params = {k: v.copy() for k, v in params.items()}
        else:
            since_best += 1
        if on_epoch is not None:
            on_epoch(epoch, history)
        if since_best >= config.patience:
            break
    if best_params is not None:
        for name, value in best_params.items():
            params[name][...] = value
    history.seconds = time.perf_counter() - start
    return history


def train_to_the_last_epoch(model, train_xy: tuple[np.ndarray, np.ndarray], val_xy: tuple[np.ndarray, np.ndarray],
                            config: TrainConfig) -> History:
    """:func:`train`, keeping the last epoch's weights instead of the best epoch's.

    Training on secret shares opens no validation loss to choose an epoch with and keeps the weights of its
    last epoch; this is its plaintext twin (the same initial weights, batches and learning rate).  Give
    ``config.patience`` above ``config.epochs`` so that every epoch runs.

    Parameters
    ----------
    model, train_xy, val_xy, config
        As for :func:`train`.

    Returns
    -------
    History
        ``best_epoch`` still names the epoch of the lowest validation loss; the weights are the last
        finished epoch's (of the last epoch before it diverged, if it did).
    """
    last = {}
    history = train(model, train_xy, val_xy, config,
                    on_epoch=lambda epoch, _: last.update({k: v.copy() for k, v in model.params.items()}))
    for name, value in last.items():
        model.params[name][...] = value
    return history
