"""``secure_train``: SGD on secret shares, written once for every party (SPMD, like :mod:`mpc.forecaster`).

Who holds what (2 parties and a dealer; semi-honest, as the rest of ``mpc``):

* the data owner (party 1) shares the training and validation samples and
  targets once, without communication (pseudo-random zero sharing); their
  shapes and a bound on |x| and |y| are public;
* the initial weights are public (drawn from a public seed, as SecureML and
  CrypTen do) or the model owner's (party 0), with public bounds; they stay
  shared for the whole run;
* the order of the samples is public: each epoch permutes them with a numpy
  Generator seeded by ``seed``, exactly as :func:`nn.training.train` does, so
  that a plaintext twin with the same seed visits the same batches;
* after each epoch the validation predictions are opened to the model owner
  only; at the end the weights are opened to the model owner only, or kept
  shared (``keep_shared``: each process returns its own shares).

Before the first step the run is planned on a throwaway in-process session
with zero data (its costs and truncation-failure bound depend only on the
public shapes and bounds): products that can reach 2^62 are refused, and with
local truncation a run whose failure bound exceeds the budget is refused
(:mod:`mpc.training.precision`) and the accumulated bound is checked again
after every step.  With the dealer's truncation (``Session(...,
truncation="dealer")``) nothing can fail and the bound is 0.
:func:`plan_run` chooses the fractional bits and the truncation of a run
(:func:`mpc.planning.choose`) before any session exists.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np

from mpc.forecaster import DATA_OWNER, MODEL_OWNER
from mpc.tensor import Session
from mpc.training.activations import check_trainable
from mpc.training.models import SecureLSTMForecaster, SecureMLP, forecaster_shapes, mlp_shapes
from mpc.training.precision import (FAILURE_BUDGET, MIN_FRAC_BITS, PublicBounds, TrainingPrecisionError,
                                    check_failure_budget)
from mpc.training.sgd import sgd_update

__all__ = ["secure_train", "TrainSettings", "Samples", "SecureTrainResult", "build_model", "parameter_shapes",
           "predict", "plan_step", "plan_run", "MODEL_OWNER", "DATA_OWNER"]



@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """Public hyper-parameters of :func:`secure_train`.

    Attributes
    ----------
    epochs, batch_size : int
    lr : float
        Learning rate.
    l2 : float
        L2 lambda on weight matrices.
    seed : int
        Seeds the order of the samples (as ``nn.training.TrainConfig.seed``).
    loss_scale : int
        Public power of two the output gradient is multiplied by (see :mod:`mpc.training.models`).
    failure_budget : float
        Largest accepted truncation-failure bound over the run.
    allow_out_of_range : bool
        Warn instead of refusing when a pre-activation bound exceeds its interval.
    weight_bound, gradient_bound : float, optional
        Declared bounds (:class:`mpc.training.precision.PublicBounds`).
    """

    epochs: int = 10
    batch_size: int = 16
    lr: float = 0.5
    l2: float = 0.0
    seed: int = 0
    loss_scale: int = 1
    failure_budget: float = FAILURE_BUDGET
    allow_out_of_range: bool = False
    weight_bound: float | None = None
    gradient_bound: float | None = None


@dataclasses.dataclass
class Samples:
    """Samples and targets as one party sees them: the arrays in the data owner's process, None elsewhere.

    Attributes
    ----------
    x, y : ndarray or None
        Features (samples, ...) and targets (samples, outputs).
    x_shape, y_shape : tuple
        Public shapes.
    x_bound, y_bound : float
        Public bounds on |x| and |y|.
    """

    x: np.ndarray | None
    y: np.ndarray | None
    x_shape: tuple
    y_shape: tuple
    x_bound: float = 1.0
    y_bound: float = 1.0

    @classmethod
    def public(cls, x: np.ndarray, y: np.ndarray) -> "Samples":
        """Samples whose shapes and bounds are read from the arrays (the data owner, or a test)."""
        return cls(x, y, x.shape, y.shape, float(np.max(np.abs(x), initial=0.0)),
                   float(np.max(np.abs(y), initial=0.0)))

    def __len__(self) -> int:
        return self.x_shape[0]


@dataclasses.dataclass
class SecureTrainResult:
    """What :func:`secure_train` returns in one process.

    Attributes
    ----------
    weights : dict of str -> ndarray or None
        The trained weights, in the model owner's process (None elsewhere, and with ``keep_shared``).
    shares : dict of str -> ndarray or None
        This process's shares of the weights (``keep_shared``), uint64 with a leading party axis.
    validation : list of ndarray or None
        Per epoch, the validation predictions (model owner only).
    step_cost : dict
        Of one training step: ``rounds``, ``bytes_per_party``, ``floor_rounds``, ``floor_bytes_per_party``,
        ``triples`` (elements per kind), ``truncation_failure_bound``, ``truncation`` (the mode).
    truncation_failure_bound : float
        Accumulated over the run.
    planned_failure_bound : float
        The plan's bound for the run (steps times a step's, and the validation predictions).
    seconds_per_epoch : list of float
    weight_bounds : list of float
        Per epoch, the largest public bound on |w| (grows with the steps unless declared).
    range_ratios : list of dict of str -> float
        Per epoch and layer, the largest pre-activation bound / interval seen so far (above 1: out of
        range, allowed).
    conditional : bool
        The failure bound rests on declared bounds or allowed out-of-range pre-activations.
    """

    weights: dict | None
    shares: dict | None
    validation: list
    step_cost: dict
    truncation_failure_bound: float
    planned_failure_bound: float
    seconds_per_epoch: list
    weight_bounds: list
    range_ratios: list
    conditional: bool


def parameter_shapes(kind: str, config: dict) -> dict:
    """Name -> shape of every parameter of an ``"mlp"`` (config ``sizes``) or ``"forecaster"``
    (config ``input_size``, ``hidden_size``, ``dense_size``, ``cell``)."""
    if kind == "mlp":
        return mlp_shapes(tuple(config["sizes"]))
    if kind == "forecaster":
        return forecaster_shapes(config["input_size"], config["hidden_size"], config["dense_size"])
    raise ValueError(f"unknown model {kind!r}; choose mlp or forecaster")


def build_model(kind: str, config: dict, activations: dict, params: dict, bounds: PublicBounds):
    """The secure model over shared ``params``.

    Raises
    ------
    approx.ApproxError
        If an activation cannot be evaluated on shares.
    """
    for role, act in activations.items():
        check_trainable(act, role)
    if kind == "mlp":
        return SecureMLP(params, activations, bounds)
    return SecureLSTMForecaster(params, activations, config["cell"], bounds)


def _share_params(session, kind, config, weights, weight_bounds) -> dict:
    mine = session.comm.position(MODEL_OWNER) is not None
    return {name: session.share(weights[name] if mine else None, magnitude=weight_bounds[name],
                                owner=MODEL_OWNER, shape=shape)
            for name, shape in parameter_shapes(kind, config).items()}


def _share(session, samples: Samples, rows=None):
    mine = session.comm.position(DATA_OWNER) is not None
    x, y = (samples.x, samples.y) if rows is None or not mine else (samples.x[rows], samples.y[rows])
    n = samples.x_shape[0] if rows is None else len(rows)
    return (session.share(x if mine else None, magnitude=samples.x_bound, owner=DATA_OWNER,
                          shape=(n, *samples.x_shape[1:])),
            session.share(y if mine else None, magnitude=samples.y_bound, owner=DATA_OWNER,
                          shape=(n, *samples.y_shape[1:])))


def _step(model, params, x, y, settings, bounds, batch):
    grads: dict = {}
    # vacuous public bounds may overflow to inf: the failure bound is then inf, and refused unless allowed
    with np.errstate(over="ignore"):
        model.gradients(x, y, grads, settings.loss_scale)
        sgd_update(params, grads, settings.lr, batch, settings.l2, bounds, settings.loss_scale)


def plan_step(kind: str, config: dict, activations: dict, train: Samples, settings: TrainSettings,
              weight_bounds: dict, frac_bits: int, truncation: str = "local") -> dict:
    """Costs and truncation-failure bound of one step, from public information only.

    Runs a step on a throwaway in-process session with zero data and the
    public bounds (weights at the declared bound when there is one: the worst
    step of the run), pre-activation range checks included.  Arguments as
    :func:`secure_train`; ``truncation`` is the session's mode (local: the
    failure bound of local truncation; dealer: its costs, bound 0).

    Returns
    -------
    dict
        :meth:`Session.stats` of the step, and ``predict_failure_bound``: the
        truncation-failure bound of predicting one batch (validation).
    """
    s = Session(2, frac_bits, seed=b"\0" * 16, truncation=truncation)
    zeros = {name: np.zeros(shape) for name, shape in parameter_shapes(kind, config).items()}
    # the worst step: weights at their declared bound (the weights grow towards it during the run)
    params = {name: s.share(zeros[name], magnitude=max(weight_bounds[name], settings.weight_bound or 0.0))
              for name in zeros}
    # the range check of the worst step: refuses before any data is shared (warnings come with the run)
    bounds = PublicBounds(settings.allow_out_of_range, settings.weight_bound, settings.gradient_bound)
    batch = min(settings.batch_size, len(train))
    x = s.share(np.zeros((batch, *train.x_shape[1:])), magnitude=train.x_bound)
    y = s.share(np.zeros((batch, *train.y_shape[1:])), magnitude=train.y_bound)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(kind, config, activations, params, bounds)
        _step(model, params, x, y, settings, bounds, batch)
        stats = s.stats()
        model.predict(x)
    stats["predict_failure_bound"] = s.truncation_failure_bound - stats["truncation_failure_bound"]
    return stats


def plan_run(kind: str, config: dict, activations: dict, train: Samples, settings: TrainSettings,
             weight_bounds: dict, frac_bits: int | None, truncation: str = "auto", validation_size: int = 0):
    """Fractional bits and truncation of a training run (:func:`mpc.planning.choose`), from public facts.

    The run's local-truncation failure bound at f is its steps times a step's (:func:`plan_step`), plus
    its validation batches times a prediction's; local truncation is chosen from
    ``mpc.training.precision.MIN_FRAC_BITS`` (8) bits up.

    Parameters
    ----------
    frac_bits : int or None
    truncation : {"auto", "local", "dealer"}
    validation_size : int
        Samples predicted after every epoch.

    Returns
    -------
    mpc.planning.Plan

    Raises
    ------
    mpc.encoder.EncodingError
        If the run cannot be made safe as asked (see :func:`mpc.planning.choose`).
    mpc.training.precision.PreactivationRangeError
        If a pre-activation bound exceeds its polynomial's interval (not allowed).
    """
    from mpc.planning import choose

    steps = settings.epochs * -(-len(train) // settings.batch_size)
    predictions = settings.epochs * -(-validation_size // settings.batch_size)

    def evaluate(f):
        step = plan_step(kind, config, activations, train, settings, weight_bounds, f)
        bound = steps * step["truncation_failure_bound"] + predictions * step["predict_failure_bound"]
        return bound, {}

    return choose(evaluate, frac_bits, settings.failure_budget, truncation, MIN_FRAC_BITS)


def secure_train(session: Session, kind: str, config: dict, activations: dict, train: Samples,
                 settings: TrainSettings, weights: dict | None, weight_bounds: dict,
                 validation: Samples | None = None, keep_shared: bool = False, on_step=None) -> SecureTrainResult:
    """Train an MLP or the forecaster on shares, in every party's process with the same public arguments.

    Parameters
    ----------
    session : Session
        In process (all parties) or one party's (:func:`mpc.tcp.connect`); 2 parties.
    kind : {"mlp", "forecaster"}
    config : dict
        ``sizes`` (mlp: input, hidden..., outputs) or ``input_size``, ``hidden_size``,
        ``dense_size``, ``cell`` (forecaster).
    activations : dict of role -> approx.Activation
        mlp: ``hidden``, ``output``; forecaster: ``gate``, ``cell``, ``hidden``, ``output``.
    train : Samples
        x (samples, features) or (samples, time, features); y (samples, outputs): one-hot
        targets for the MLP, normalised loads (samples, 1) for the forecaster.
    settings : TrainSettings
    weights : dict of str -> ndarray or None
        Initial weights, named as ``nn``'s models: in the model owner's process
        (or in every process when they come from a public seed).
    weight_bounds : dict of str -> float
        Public bounds on the initial |w|.
    validation : Samples, optional
        Predicted after every epoch, opened to the model owner.
    keep_shared : bool
        Return this process's shares instead of opening the weights to the model owner.
    on_step : callable (epoch, step, steps), optional
        Progress callback.

    Returns
    -------
    SecureTrainResult

    Raises
    ------
    TrainingPrecisionError
        With local truncation, if the run's truncation-failure bound exceeds ``settings.failure_budget``
        (before the first step, or as soon as the accumulated bound would); in either mode, if the
        declared weight bound does not hold for the trained weights.
    mpc.truncation.RingOverflowError
        If a product of the worst step the public bounds allow can reach 2^62 (before the first step).
    mpc.training.precision.PreactivationRangeError
        If a pre-activation bound exceeds its polynomial's interval (not allowed): before the first
        step for the worst step the public bounds allow, or at the step where it happens.
    approx.ApproxError
        If an activation cannot be evaluated on shares.
    """
    if session.parties != 2:
        raise TrainingPrecisionError(f"secure training runs with 2 parties (the model owner and the data owner), "
                                     f"not {session.parties}")
    frac_bits = session.encoder.frac_bits
    steps_per_epoch = -(-len(train) // settings.batch_size)
    total_steps = settings.epochs * steps_per_epoch
    # overflow and range checks in both modes; the failure bound of local truncation
    plan = plan_step(kind, config, activations, train, settings, weight_bounds, frac_bits)
    # validation after every epoch counts too: as extra steps of the same bound per step
    predictions = settings.epochs * -(-len(validation) // settings.batch_size) if validation is not None else 0
    per_step = plan["truncation_failure_bound"] + predictions * plan["predict_failure_bound"] / total_steps
    planned = (0.0 if session.truncation == "dealer" else
               check_failure_budget(per_step, frac_bits, total_steps, settings.failure_budget))
    bounds = PublicBounds(settings.allow_out_of_range, settings.weight_bound, settings.gradient_bound)
    params = _share_params(session, kind, config, weights, weight_bounds)
    model = build_model(kind, config, activations, params, bounds)
    rng = np.random.default_rng(settings.seed)
    validation_bound = (0.0 if session.truncation == "dealer" else
                        predictions / max(settings.epochs, 1) * plan["predict_failure_bound"])
    result = SecureTrainResult(None, None, [], {}, 0.0, planned, [], [], [], False)
    start_bound = session.truncation_failure_bound
    for epoch in range(settings.epochs):
        order = rng.permutation(len(train))
        start = time.perf_counter()
        for step, first in enumerate(range(0, len(train), settings.batch_size)):
            rows = order[first:first + settings.batch_size]
            before, bound_before = session.stats(), session.truncation_failure_bound
            x, y = _share(session, train, rows)
            _step(model, params, x, y, settings, bounds, len(rows))
            # an infinite bound (vacuous public bounds) stays infinite, never inf - inf = nan
            step_bound = session.truncation_failure_bound - bound_before if np.isfinite(bound_before) else np.inf
            if not result.step_cost:
                after = session.stats()
                result.step_cost = {key: after[key] - before[key] for key in
                                    ("rounds", "bytes_per_party", "floor_rounds", "floor_bytes_per_party",
                                     "truncation_failure_bound")}
                result.step_cost["triples"] = {k: after["triples"][k] - before["triples"][k]
                                               for k in after["triples"]}
                result.step_cost["truncation"] = session.truncation
            done = epoch * steps_per_epoch + step + 1
            spent = session.truncation_failure_bound - start_bound if np.isfinite(start_bound) else np.inf
            projected = (spent + ((total_steps - done) * step_bound if done < total_steps else 0.0)
                         + (settings.epochs - epoch) * validation_bound)
            if not projected <= settings.failure_budget:  # NaN refuses too
                raise TrainingPrecisionError(f"after step {done} the truncation-failure bound of this run is "
                                             f"projected at {projected:.3g}, above {settings.failure_budget:g}: the "
                                             "public bounds grew; declare weight and gradient bounds, use fewer "
                                             "fractional bits, or truncate with the dealer")
            if on_step is not None:
                on_step(epoch, step, steps_per_epoch)
        result.seconds_per_epoch.append(time.perf_counter() - start)
        result.weight_bounds.append(max(p.magnitude for p in params.values()))
        result.range_ratios.append(dict(bounds.ratios))
        if validation is not None:
            result.validation.append(predict(model, session, validation, settings.batch_size))
    result.truncation_failure_bound = (session.truncation_failure_bound - start_bound if np.isfinite(start_bound)
                                       else np.inf)
    result.conditional = bounds.conditional
    if keep_shared:
        result.shares = {name: p.shares for name, p in params.items()}
        return result
    opened = {name: p.reveal(to=MODEL_OWNER) for name, p in params.items()}
    if session.comm.position(MODEL_OWNER) is not None:
        result.weights = opened
        if settings.weight_bound is not None:
            worst = max(float(np.max(np.abs(v))) for v in opened.values())
            if worst > settings.weight_bound:
                raise TrainingPrecisionError(f"the trained weights reach |w| = {worst:.4g}, above the declared bound "
                                             f"{settings.weight_bound:g}: the failure bound did not hold; retrain "
                                             "with a larger --weight-bound")
    return result


def predict(model, session: Session, samples: Samples, batch_size: int) -> np.ndarray | None:
    """Predictions of ``samples`` on shares, in batches, opened to the model owner (None elsewhere)."""
    out = []
    for first in range(0, len(samples), batch_size):
        rows = np.arange(first, min(first + batch_size, len(samples)))
        x, _ = _share(session, samples, rows)
        out.append(model.predict(x).reveal(to=MODEL_OWNER))
    return None if out[0] is None else np.concatenate(out)
