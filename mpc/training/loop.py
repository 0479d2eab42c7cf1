"""``secure_train``: SGD on secret shares, written once for every party (SPMD, like :mod:`mpc.forecaster`).

Who holds what (2 parties and a dealer; semi-honest, as the rest of ``mpc``):

* the data owner (party 1) shares the training and validation samples and
  targets once, without communication (pseudo-random zero sharing); their
  shapes and a bound on |x| and |y| are public.  Before the first step the
  samples x are masked with a dealer mask A and x - A is opened, once for the
  run (the set-up: one round, 8 bytes per element per party); every batch is
  a selection of their rows and reuses that opening, the dealer supplying the
  products of A's rows with the fresh masks of the weights and deltas
  (SecureML, Mohassel & Zhang 2017, section 4.2: "the data is masked once"),
  so a step opens no data;
* the initial weights are public (drawn from a public seed, as SecureML and
  CrypTen do) or the model owner's (party 0), with public bounds; they stay
  shared for the whole run;
* the order of the samples is public: each epoch permutes them with a numpy
  Generator seeded by ``seed``, exactly as :func:`nn.training.train` does, so
  that a plaintext twin with the same seed visits the same batches;
* after each epoch the validation loss (the training loss, on the validation
  samples) is computed on shares and only that number is opened, to the model
  owner; with ``reveal_loss`` each step's training loss is opened to both
  parties (both agreed to it, and either may want to stop a diverging run);
  after the last epoch the test predictions, if asked for, are opened to the
  data owner, who holds their targets; at the end the weights are opened to
  the model owner only, or kept shared (``keep_shared``: each process returns
  its own shares).

Before the first step the run is planned on a throwaway in-process session
with zero data (its costs and truncation-failure bound depend only on the
public shapes and bounds): products that can reach 2^62 are refused, and with
local truncation a run whose failure bound exceeds the budget is refused
(:mod:`mpc.training.precision`) and the accumulated bound is checked again
after every step.  With the dealer's truncation (``Session.in_process(...,
truncation="dealer")``) nothing can fail and the bound is 0.
:func:`plan_run` chooses the fractional bits and the truncation of a run
(:func:`mpc.planning.choose`) before any session exists.
"""

from __future__ import annotations

import dataclasses
import time
import warnings

import numpy as np

from mpc.beaver import open_masked
from mpc.costs import SessionStats
from mpc.forecaster import DATA_OWNER, MODEL_OWNER
from mpc.tensor import Session
from mpc.training.activations import check_trainable
from mpc.training.models import SecureLSTMForecaster, SecureMLP, forecaster_shapes, mlp_shapes
from mpc.training.precision import (FAILURE_BUDGET, MIN_FRAC_BITS, PublicBounds, TrainingPrecisionError,
                                    check_failure_budget)
from mpc.training.sgd import sgd_update, summed_squared_error

__all__ = ["secure_train", "TrainSettings", "Samples", "SharedSamples", "SecureTrainResult", "build_model",
           "parameter_shapes", "batches", "predict", "validation_loss", "plan_step", "plan_run", "run_failure_bound",
           "MODEL_OWNER", "DATA_OWNER"]


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
    reveal_loss : bool
        Open each step's training loss to both parties (two more rounds per step).
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
    reveal_loss: bool = False


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
    sliding : bool
        Public: the samples are windows (samples, time, features) sliding one step at a time over one
        sequence of feature rows, x[i, t] = row i + t (as ``nn.features.make_dataset`` builds them).
        The rows (samples + time - 1, features) are then shared and opened once instead of every window.
    """

    x: np.ndarray | None
    y: np.ndarray | None
    x_shape: tuple
    y_shape: tuple
    x_bound: float = 1.0
    y_bound: float = 1.0
    sliding: bool = False

    @classmethod
    def public(cls, x: np.ndarray, y: np.ndarray, sliding: bool = False) -> "Samples":
        """Samples whose shapes and bounds are read from the arrays (the data owner, or a test).

        Raises
        ------
        ValueError
            If ``sliding`` is claimed for x that are not windows sliding one step at a time.
        """
        if sliding and (x.ndim != 3 or not np.array_equal(x[1:, :-1], x[:-1, 1:])):
            raise ValueError("the samples are not windows sliding one step at a time over one sequence of rows")
        return cls(x, y, x.shape, y.shape, float(np.max(np.abs(x), initial=0.0)),
                   float(np.max(np.abs(y), initial=0.0)), sliding)

    def rows(self) -> np.ndarray | None:
        """The feature rows (samples + time - 1, features) of sliding windows (None outside the data owner's
        process)."""
        return None if self.x is None else np.concatenate([self.x[:, 0], self.x[-1, 1:]])

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
    validation_loss : list of float
        Per epoch, the validation loss computed on shares, opened to the model owner (empty elsewhere).
    train_loss : list of float
        Per step, the training loss of the batch (``reveal_loss``; empty without).
    test_predictions : ndarray or None
        The predictions of the ``test`` samples after the last epoch, in the process of the party they
        were opened to (None elsewhere).
    step_cost : mpc.costs.SessionStats or None
        What the first training step spent (None before it ran).
    setup_cost : mpc.costs.SessionStats or None
        What the set-up before the first step spent (the training, validation and test samples masked
        and opened once).
    truncation_failure_bound : float
        Accumulated over the run.
    planned_failure_bound : float
        The plan's bound for the run (steps times a step's, and the validation and test predictions).
    seconds_per_epoch : list of float
    weight_bounds : list of float
        Per epoch, the largest public bound on |w| (grows with the steps unless declared).
    final_bounds : dict of str -> float
        The public bound on |w| of each trained parameter (what a share file records).
    range_ratios : list of dict of str -> float
        Per epoch and layer, the largest pre-activation bound / interval seen so far (above 1: out of
        range, allowed).
    conditional : bool
        The failure bound rests on declared bounds or allowed out-of-range pre-activations.
    """

    weights: dict | None = None
    shares: dict | None = None
    validation_loss: list = dataclasses.field(default_factory=list)
    train_loss: list = dataclasses.field(default_factory=list)
    test_predictions: np.ndarray | None = None
    step_cost: SessionStats | None = None
    setup_cost: SessionStats | None = None
    truncation_failure_bound: float = 0.0
    planned_failure_bound: float = 0.0
    seconds_per_epoch: list = dataclasses.field(default_factory=list)
    weight_bounds: list = dataclasses.field(default_factory=list)
    final_bounds: dict = dataclasses.field(default_factory=dict)
    range_ratios: list = dataclasses.field(default_factory=list)
    conditional: bool = False


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


class SharedSamples:
    """A data owner's samples shared once (no communication): batches are selections of their rows.

    :func:`mpc.beaver.open_masked` of ``x`` (with the other sets' x, one round
    for all) masks x and opens x - A once; from then on the batches' x reuse
    that opening and cost no traffic (:meth:`mpc.tensor.SharedTensor.__getitem__`).
    Windows (samples, time, features) are shared as feature rows, and a batch
    is a list of T selections of rows: x_t = rows[i T + t] for window i, or
    rows[i + t] for sliding windows (``Samples.sliding``: each row shared and
    opened once, not once per window it belongs to).

    Parameters
    ----------
    session : Session
    samples : Samples
    targets : bool
        Share y too (training), or x only (prediction).
    """

    def __init__(self, session: Session, samples: Samples, targets: bool = True):
        mine = session.comm.position(DATA_OWNER) is not None
        n, *rest = samples.x_shape
        x, shape, self.steps, self.stride = samples.x, samples.x_shape, None, 0
        if len(rest) == 2:  # windows: their time steps are rows
            self.steps, self.stride = rest[0], 1 if samples.sliding else rest[0]
            x = samples.rows() if samples.sliding else None if x is None else x.reshape(n * rest[0], rest[1])
            shape = ((n + rest[0] - 1) if samples.sliding else n * rest[0], rest[1])
        self.x = session.share(x if mine else None, magnitude=samples.x_bound, owner=DATA_OWNER, shape=shape)
        self.y = session.share(samples.y if mine else None, magnitude=samples.y_bound, owner=DATA_OWNER,
                               shape=samples.y_shape) if targets else None
        self.count = n

    def __len__(self) -> int:
        return self.count

    def batch(self, rows):
        """(x, y) of the samples ``rows`` (an index array or a slice; y None for x only); local.

        x is a SharedTensor (batch, ...), or for windows a list of T SharedTensors (batch, features).
        """
        y = None if self.y is None else self.y[rows]
        if self.steps is None:
            return self.x[rows], y
        starts = self.stride * np.arange(self.count)[rows]
        return [self.x[starts + t] for t in range(self.steps)], y


def _loss_bound(settings: TrainSettings) -> float | None:
    """The declared bound on |y' - y| (the gradient bound is in loss-scaled units), if any."""
    return None if settings.gradient_bound is None else settings.gradient_bound / settings.loss_scale


def _step(model, params, x, y, settings, bounds, batch) -> float | None:
    """One SGD step; with ``reveal_loss`` the batch's loss, opened to both parties (None without)."""
    grads: dict = {}
    # vacuous public bounds may overflow to inf: the failure bound is then inf, and refused unless allowed
    with np.errstate(over="ignore"):
        prediction = model.gradients(x, y, grads, settings.loss_scale)
        error = summed_squared_error(prediction, y, _loss_bound(settings)) if settings.reveal_loss else None
        sgd_update(params, grads, settings.lr, batch, settings.l2, bounds, settings.loss_scale)
    return None if error is None else float(error.reveal()[0]) / (2 * batch)


def plan_step(kind: str, config: dict, activations: dict, train: Samples, settings: TrainSettings,
              weight_bounds: dict, frac_bits: int, predicted: tuple = (), truncation: str = "local") -> dict:
    """Costs and truncation-failure bound of one step, from public information only.

    Runs a step on a throwaway in-process session with zero data and the
    public bounds (weights at the declared bound when there is one: the worst
    step of the run), pre-activation range checks included.  Arguments as
    :func:`secure_train`; ``predicted`` lists the other samples the run
    predicts (validation, test), whose bounds count too; ``truncation`` is
    the session's mode (local: the failure bound of local truncation; dealer:
    its costs, bound 0).

    Returns
    -------
    dict
        What the step costs (``rounds``, ``bytes_per_party``, ``floor_rounds``,
        ``floor_bytes_per_party``, ``triples``, ``offline_bytes``,
        ``truncation_failure_bound``; the data masked and opened beforehand, as
        the run does at set-up), and ``predict_failure_bound``: the
        truncation-failure bound of predicting one batch and its squared error
        (validation, test).
    """
    s = Session.in_process(2, frac_bits, seed=b"\0" * 16, truncation=truncation)
    zeros = {name: np.zeros(shape) for name, shape in parameter_shapes(kind, config).items()}
    # the worst step: weights at their declared bound (the weights grow towards it during the run)
    params = {name: s.share(zeros[name], magnitude=max(weight_bounds[name], settings.weight_bound or 0.0))
              for name in zeros}
    # the range check of the worst step: refuses before any data is shared (warnings come with the run)
    bounds = PublicBounds(settings.allow_out_of_range, settings.weight_bound, settings.gradient_bound)
    batch = min(settings.batch_size, len(train))
    # the data is masked and opened before the first step (the set-up), not by the step
    data = SharedSamples(s, Samples(np.zeros((batch, *train.x_shape[1:])), np.zeros((batch, *train.y_shape[1:])),
                                    (batch, *train.x_shape[1:]), (batch, *train.y_shape[1:]), train.x_bound,
                                    train.y_bound, train.sliding))
    open_masked(data.x)
    x, y = data.batch(slice(None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(kind, config, activations, params, bounds)
        before = s.stats()
        _step(model, params, x, y, settings, bounds, batch)
        stats = (s.stats() - before).as_dict()
        if predicted:  # the samples the run predicts, at the largest of their bounds
            held = SharedSamples(s, Samples(np.zeros((batch, *train.x_shape[1:])), np.zeros((batch, *train.y_shape[1:])),
                                            (batch, *train.x_shape[1:]), (batch, *train.y_shape[1:]),
                                            max(train.x_bound, *(p.x_bound for p in predicted)),
                                            max(train.y_bound, *(p.y_bound for p in predicted)), train.sliding))
            open_masked(held.x)
            x, y = held.batch(slice(None))
        with np.errstate(over="ignore"):
            summed_squared_error(model.predict(x), y, _loss_bound(settings))
    stats["predict_failure_bound"] = s.truncation_failure_bound - before.truncation_failure_bound - stats[
        "truncation_failure_bound"]
    return stats


def batches(samples: Samples | None, batch_size: int) -> int:
    """Batches of ``batch_size`` in ``samples`` (0 for None): the steps of an epoch, or a prediction's."""
    return 0 if samples is None else -(-len(samples) // batch_size)


def run_failure_bound(plan: dict, train: Samples, settings: TrainSettings, validation: Samples | None = None,
                      test: Samples | None = None) -> float:
    """The truncation-failure bound of a run per training step: a step's, and the predictions (validation after
    every epoch, test at the end) spread over the steps, from :func:`plan_step`'s figures."""
    steps = settings.epochs * batches(train, settings.batch_size)
    predictions = settings.epochs * batches(validation, settings.batch_size) + batches(test, settings.batch_size)
    return plan["truncation_failure_bound"] + predictions * plan["predict_failure_bound"] / steps


def plan_run(kind: str, config: dict, activations: dict, train: Samples, settings: TrainSettings,
             weight_bounds: dict, frac_bits: int | None, truncation: str = "auto",
             validation: Samples | None = None, test: Samples | None = None):
    """Fractional bits and truncation of a training run (:func:`mpc.planning.choose`), from public facts.

    The run's local-truncation failure bound at f is its steps times a step's (:func:`plan_step`), plus
    its predictions (validation after every epoch, test at the end) times a prediction's; local
    truncation is chosen from ``mpc.training.precision.MIN_FRAC_BITS`` (8) bits up, the dealer's
    otherwise.

    Parameters
    ----------
    frac_bits : int or None
        None: the most up to 16 that the policy allows.
    truncation : {"auto", "local", "dealer"}
    validation, test : Samples, optional
        The samples the run predicts (their public bounds count).

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

    steps = settings.epochs * batches(train, settings.batch_size)
    predicted = tuple(p for p in (validation, test) if p is not None)

    def evaluate(f):
        step = plan_step(kind, config, activations, train, settings, weight_bounds, f, predicted)
        return steps * run_failure_bound(step, train, settings, validation, test), {}

    return choose(evaluate, frac_bits, settings.failure_budget, truncation, MIN_FRAC_BITS)


def secure_train(session: Session, kind: str, config: dict, activations: dict, train: Samples,
                 settings: TrainSettings, weights: dict | None, weight_bounds: dict,
                 validation: Samples | None = None, keep_shared: bool = False, on_step=None,
                 test: Samples | None = None, test_to: int = DATA_OWNER, on_epoch=None) -> SecureTrainResult:
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
        After every epoch, the loss on these samples is computed on shares and opened to the model owner.
    keep_shared : bool
        Return this process's shares instead of opening the weights to the model owner.
    on_step : callable (epoch, step, steps, loss), optional
        Progress callback after every step (``loss``: the step's, with ``reveal_loss``; else None).
    test : Samples, optional
        Predicted on shares after the last epoch, opened to ``test_to`` only.
    test_to : int
        The party that learns the test predictions (default the data owner, who holds their targets).
    on_epoch : callable (epoch, validation_loss), optional
        Called after every epoch (the validation loss in the model owner's process; None elsewhere).

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
    steps_per_epoch = batches(train, settings.batch_size)
    total_steps = settings.epochs * steps_per_epoch
    predicted = tuple(p for p in (validation, test) if p is not None)
    # overflow and range checks in both modes; the failure bound of local truncation
    plan = plan_step(kind, config, activations, train, settings, weight_bounds, frac_bits, predicted,
                     session.truncation)
    per_step = run_failure_bound(plan, train, settings, validation, test)
    planned = (0.0 if session.truncation == "dealer" else
               check_failure_budget(per_step, frac_bits, total_steps, settings.failure_budget))
    if session.truncation == "local":  # every gate refuses before it runs if it would pass the run's budget
        session.failure_budget = session.truncation_failure_bound + settings.failure_budget
    bounds = PublicBounds(settings.allow_out_of_range, settings.weight_bound, settings.gradient_bound)
    setup = session.stats()
    params = _share_params(session, kind, config, weights, weight_bounds)
    model = build_model(kind, config, activations, params, bounds)
    # set-up: the samples shared once, x masked and opened once (train, validation and test in one round)
    data = SharedSamples(session, train)
    held_out = SharedSamples(session, validation) if validation is not None else None
    tested = SharedSamples(session, test, targets=False) if test is not None else None
    open_masked(data.x, *(part.x for part in (held_out, tested) if part is not None))
    rng = np.random.default_rng(settings.seed)
    validation_bound = batches(validation, settings.batch_size) * plan["predict_failure_bound"]
    test_bound = batches(test, settings.batch_size) * plan["predict_failure_bound"]
    result = SecureTrainResult(planned_failure_bound=planned, setup_cost=session.stats() - setup)
    start_bound = session.truncation_failure_bound
    for epoch in range(settings.epochs):
        order = rng.permutation(len(train))
        start = time.perf_counter()
        for step, first in enumerate(range(0, len(train), settings.batch_size)):
            rows = order[first:first + settings.batch_size]
            before = session.stats() if result.step_cost is None else None  # the first step's cost is kept
            bound_before = session.truncation_failure_bound
            x, y = data.batch(rows)
            loss = _step(model, params, x, y, settings, bounds, len(rows))
            if loss is not None:
                result.train_loss.append(loss)
            # an infinite bound (vacuous public bounds) stays infinite, never inf - inf = nan
            step_bound = session.truncation_failure_bound - bound_before if np.isfinite(bound_before) else np.inf
            if result.step_cost is None:
                result.step_cost = session.stats() - before
            done = epoch * steps_per_epoch + step + 1
            spent = session.truncation_failure_bound - start_bound if np.isfinite(start_bound) else np.inf
            projected = (spent + ((total_steps - done) * step_bound if done < total_steps else 0.0)
                         + (settings.epochs - epoch) * validation_bound + test_bound)
            if not projected <= settings.failure_budget:  # NaN refuses too
                raise TrainingPrecisionError(f"after step {done} the truncation-failure bound of this run is "
                                             f"projected at {projected:.3g}, above {settings.failure_budget:g}: the "
                                             "public bounds grew; declare weight and gradient bounds, use fewer "
                                             "fractional bits, or truncate with the dealer")
            if on_step is not None:
                on_step(epoch, step, steps_per_epoch, loss)
        result.seconds_per_epoch.append(time.perf_counter() - start)
        result.weight_bounds.append(max(p.magnitude for p in params.values()))
        result.range_ratios.append(dict(bounds.ratios))
        checked = None
        if validation is not None:
            checked = validation_loss(model, session, held_out, settings.batch_size, _loss_bound(settings))
            if checked is not None:
                result.validation_loss.append(checked)
        if on_epoch is not None:
            on_epoch(epoch, checked)
    if test is not None:
        result.test_predictions = predict(model, session, tested, settings.batch_size, to=test_to)
    result.truncation_failure_bound = (session.truncation_failure_bound - start_bound if np.isfinite(start_bound)
                                       else np.inf)
    if not result.truncation_failure_bound <= settings.failure_budget:  # before anything is opened or kept
        raise TrainingPrecisionError(f"the truncation-failure bound of this run reached "
                                     f"{result.truncation_failure_bound:.3g}, above {settings.failure_budget:g}: "
                                     "declare weight and gradient bounds, use fewer fractional bits, or truncate "
                                     "with the dealer")
    result.conditional = bounds.conditional
    result.final_bounds = {name: p.magnitude for name, p in params.items()}
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


def predict(model, session: Session, samples, batch_size: int, to: int = MODEL_OWNER) -> np.ndarray | None:
    """Predictions of ``samples`` on shares, in batches, opened to party ``to`` only (None elsewhere).

    ``samples`` is a :class:`Samples` (shared here, each batch's x opened by its first product) or a
    :class:`SharedSamples` (shared already; if its x was masked and opened at set-up,
    :func:`mpc.beaver.open_masked`, the batches open no data).
    """
    if isinstance(samples, Samples):
        samples = SharedSamples(session, samples, targets=False)
    out = []
    for first in range(0, len(samples), batch_size):
        x, _ = samples.batch(slice(first, first + batch_size))
        out.append(model.predict(x).reveal(to=to))
    return None if out[0] is None else np.concatenate(out)


def validation_loss(model, session: Session, samples, batch_size: int, bound: float | None = None,
                    to: int = MODEL_OWNER) -> float | None:
    """The loss (1/n) sum 1/2 |y' - y|^2 of ``samples`` (:class:`Samples`, or :class:`SharedSamples` with
    targets), computed on shares and opened to ``to`` only: one number, not the predictions (None in the other
    processes).  ``bound``: a declared bound on |y' - y|."""
    if isinstance(samples, Samples):
        samples = SharedSamples(session, samples)
    total = None
    with np.errstate(over="ignore"):
        for first in range(0, len(samples), batch_size):
            x, y = samples.batch(slice(first, first + batch_size))
            error = summed_squared_error(model.predict(x), y, bound)
            total = error if total is None else total + error
    value = total.reveal(to=to)
    return None if value is None else float(value[0]) / (2 * len(samples))
