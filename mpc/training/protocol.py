"""Training on shares between organisations: one SPMD program, each party given only what its owner holds.

:func:`training_program` runs in the model owner's process (party 0) and in the
data owner's (party 1), each connected to the other and to the dealer
(:func:`mpc.party.run_party`).  It

1. has the model owner announce the design (:func:`describe_design`): model
   kind, architecture, activations with their coefficients and intervals, input
   features (window and lags), hyper-parameters (epochs, batch size, learning
   rate, L2, seed, loss scale, declared bounds) and where the initial weights
   come from (the public seed, or the model owner's own); the data owner checks
   it on arrival (:func:`public_design`) and builds its samples from it;
2. has the data owner announce its samples (:func:`describe_samples`): the
   number of training, validation and test samples, a bound on |x| and |y| of
   each, the input width and outputs, and what a usable model file needs
   (the class labels of a classifier, the holiday calendar of a forecaster, and
   -- for initial weights from the public seed -- the forecaster's output bias,
   the mean of the normalised training targets, as ``approx train`` starts from);
   the model owner checks it (:func:`public_samples`);
3. has the model owner announce a bound on |w| of each initial weight tensor;
4. plans the run from public information only, the same in both processes
   (:func:`mpc.training.loop.plan_run`), and trains
   (:func:`mpc.training.loop.secure_train`): after every epoch the validation
   loss is opened to the model owner (one number); with ``reveal_loss`` every
   step's loss to both; after the last epoch the test predictions to the data
   owner, who holds their targets; at the end the weights to the model owner,
   or, with ``keep_shared``, to nobody: each process keeps its own shares and
   both record the same public part (:func:`share_record`), so that secure
   inference can check later that two share files are halves of one model.

Every announcement is JSON of at most ``mpc.channel.PUBLIC_LIMIT`` bytes, sent
only after the HELLOs authenticated the peer, and checked field by field:
a malformed one stops both processes with one line (:class:`ProtocolError`).
"""

from __future__ import annotations

import math
import secrets
import time

import numpy as np

from approx.errors import ApproxError
from mpc.forecaster import DATA_OWNER, MODEL_OWNER, weight_bounds
from mpc.inference import describe_activations, rebuild_activations
from mpc.planning import agree
from mpc.training.loop import Samples, TrainSettings, batches, parameter_shapes, plan_run, secure_train
from mpc.wire import ProtocolError

__all__ = ["training_program", "describe_design", "public_design", "describe_samples", "public_samples",
           "training_config", "share_record", "ROLES", "PARTS"]

ROLES = {"mlp": ("hidden", "output"), "forecaster": ("gate", "cell", "hidden", "output")}
PARTS = ("train", "val", "test")
MAX_SIZE = 1 << 14
MAX_SAMPLES = 1 << 24
MAX_CLASSES = 1024
HYPER = ("epochs", "batch_size", "lr", "l2", "seed", "loss_scale", "weight_bound", "gradient_bound")


def _number(value, low: float, high: float, low_open: bool = False) -> bool:
    """A finite real (not a bool) in [low, high] (or (low, high])."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and (value > low if low_open else value >= low) and value <= high)


def _whole(value, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def describe_design(kind: str, architecture: dict, activations: dict, features: dict, hyper: dict,
                    init: str) -> dict:
    """The model owner's announcement: what will be trained, and how.

    Parameters
    ----------
    kind : {"mlp", "forecaster"}
    architecture : dict
        mlp: ``hidden`` (list of layer sizes); forecaster: ``hidden_size``, ``dense_size``, ``cell``.
    activations : dict of role -> approx.Activation
        mlp: ``hidden``, ``output``; forecaster: ``gate``, ``cell``, ``hidden``, ``output``.
    features : dict
        forecaster: ``window`` and ``lags``; mlp: empty.
    hyper : dict
        ``epochs``, ``batch_size``, ``lr``, ``l2``, ``seed``, ``loss_scale``, ``weight_bound`` and
        ``gradient_bound`` (None when not declared).
    init : {"seed", "model-owner"}
        Initial weights from the public seed, or the model owner's own.
    """
    return {"kind": kind, "architecture": architecture, "activations": describe_activations(activations),
            "features": features, "hyper": {k: hyper[k] for k in HYPER}, "init": init}


def _bad_design(what: str) -> ProtocolError:
    return ProtocolError(f"the model owner announced {what}")


def public_design(announced) -> dict:
    """Check the model owner's announcement; the design with the activations rebuilt.

    Returns
    -------
    dict
        ``kind``, ``architecture``, ``activations`` (role -> approx.Activation), ``described`` (the
        activations as announced), ``features``, ``hyper``, ``init``.

    Raises
    ------
    ProtocolError
        If a field is missing, extra, of the wrong type or out of range.
    """
    fields = {"kind", "architecture", "activations", "features", "hyper", "init"}
    if not isinstance(announced, dict) or set(announced) != fields:
        raise _bad_design(f"something other than a training design ({', '.join(sorted(fields))})")
    kind, arch, features, hyper = (announced[k] for k in ("kind", "architecture", "features", "hyper"))
    if kind not in ROLES:
        raise _bad_design("a model kind other than mlp or forecaster")
    if kind == "mlp":
        ok = (isinstance(arch, dict) and set(arch) == {"hidden"} and isinstance(arch["hidden"], list)
              and 1 <= len(arch["hidden"]) <= 16 and all(_whole(v, 1, MAX_SIZE) for v in arch["hidden"])
              and features == {})
    else:
        ok = (isinstance(arch, dict) and set(arch) == {"hidden_size", "dense_size", "cell"}
              and _whole(arch["hidden_size"], 1, MAX_SIZE) and _whole(arch["dense_size"], 1, MAX_SIZE)
              and arch["cell"] in ("standard", "linear")
              and isinstance(features, dict) and set(features) == {"window", "lags"}
              and _whole(features["window"], 1, MAX_SIZE) and isinstance(features["lags"], list)
              and len(features["lags"]) <= 64 and all(_whole(v, 1, 1 << 20) for v in features["lags"])
              and len(set(features["lags"])) == len(features["lags"]))
    if not ok:
        raise _bad_design(f"an architecture or input features that a {kind} cannot have")
    ok = (isinstance(hyper, dict) and set(hyper) == set(HYPER) and _whole(hyper["epochs"], 1, 1 << 20)
          and _whole(hyper["batch_size"], 1, 1 << 16) and _number(hyper["lr"], 0, 1e6, low_open=True)
          and _number(hyper["l2"], 0, 1e6) and _whole(hyper["seed"], 0, (1 << 63) - 1)
          and _whole(hyper["loss_scale"], 1, 1 << 16) and not hyper["loss_scale"] & (hyper["loss_scale"] - 1)
          and all(hyper[k] is None or _number(hyper[k], 0, 1e6, low_open=True)
                  for k in ("weight_bound", "gradient_bound")))
    if not ok:
        raise _bad_design("hyper-parameters out of range (epochs, batch size, learning rate, L2, seed, a power-of-two "
                          "loss scale, declared bounds)")
    if announced["init"] not in ("seed", "model-owner"):
        raise _bad_design("initial weights from neither the public seed nor the model owner")
    activations = rebuild_activations(announced["activations"], ROLES[kind], _bad_design)
    return {**announced, "activations": activations, "described": announced["activations"]}


def describe_samples(parts: dict, extra: dict) -> dict:
    """The data owner's announcement: per part its number of samples and bounds on |x| and |y| (0 for the test
    part, whose targets are never shared), the input width and outputs, and ``extra`` (classes and label column,
    or holidays and target mean)."""
    x, y = parts["train"]
    return {"parts": {name: {"samples": int(len(parts[name][0])),
                             "x_bound": float(np.max(np.abs(parts[name][0]), initial=0.0)),
                             "y_bound": 0.0 if name == "test" else float(np.max(np.abs(parts[name][1]), initial=0.0))}
                      for name in PARTS},
            "input_size": int(x.shape[-1]), "outputs": int(y.shape[-1]), **extra}


def _bad_samples(what: str) -> ProtocolError:
    return ProtocolError(f"the data owner announced {what}")


def public_samples(announced, design: dict) -> dict:
    """Check the data owner's announcement against the design.

    Raises
    ------
    ProtocolError
    """
    kind = design["kind"]
    extra = ({"classes", "label_column"} if kind == "mlp"
             else {"holidays"} | ({"target_mean"} if design["init"] == "seed" else set()))
    if not isinstance(announced, dict) or set(announced) != {"parts", "input_size", "outputs"} | extra:
        raise _bad_samples(f"something other than its samples' sizes and bounds and {', '.join(sorted(extra))}")
    parts = announced["parts"]
    if not isinstance(parts, dict) or set(parts) != set(PARTS) or not all(
            isinstance(p, dict) and set(p) == {"samples", "x_bound", "y_bound"} and _whole(p["samples"], 1, MAX_SAMPLES)
            and _number(p["x_bound"], 0, 1e15) and _number(p["y_bound"], 0, 1e15) for p in parts.values()):
        raise _bad_samples("parts other than train, val and test, each with 1 to 2^24 samples and finite bounds")
    if not _whole(announced["input_size"], 1, MAX_SIZE):
        raise _bad_samples("an input width outside 1 to 16384")
    if kind == "mlp":
        classes = announced["classes"]
        ok = (isinstance(classes, list) and 2 <= len(classes) <= MAX_CLASSES
              and all(isinstance(c, str) and len(c) <= 256 or _number(c, -1e15, 1e15) for c in classes)
              and announced["outputs"] == len(classes) and isinstance(announced["label_column"], str)
              and len(announced["label_column"]) <= 256)
        if not ok:
            raise _bad_samples(f"classes other than 2 to {MAX_CLASSES} labels, one output each")
    else:
        ok = (announced["outputs"] == 1 and isinstance(announced["holidays"], str)
              and len(announced["holidays"]) <= 64
              and ("target_mean" not in announced or _number(announced["target_mean"], -1e6, 1e6)))
        if not ok:
            raise _bad_samples("a forecaster's samples other than one target each, a holiday calendar and a "
                               "finite target mean")
    return announced


def training_config(design: dict, samples: dict) -> dict:
    """The configuration :func:`mpc.training.loop.secure_train` takes, from the two announcements."""
    arch = design["architecture"]
    if design["kind"] == "mlp":
        return {"sizes": (samples["input_size"], *arch["hidden"], samples["outputs"])}
    return {"input_size": samples["input_size"], "hidden_size": arch["hidden_size"],
            "dense_size": arch["dense_size"], "cell": arch["cell"]}


def _public_bounds(announced, shapes: dict) -> dict:
    if not isinstance(announced, dict) or set(announced) != set(shapes) or not all(
            _number(v, 0, 1e15, low_open=True) for v in announced.values()):
        raise _bad_design(f"initial weight bounds other than one positive number for each of {', '.join(shapes)}")
    return {k: float(v) for k, v in announced.items()}


def share_record(session, kind: str, config: dict, described: dict, features: dict, final_bounds: dict) -> dict:
    """The public part of both parties' share files of a model kept shared, the same in both processes.

    ``sharing`` is a random id the model owner draws and announces: two share files are halves of one model
    only if they carry the same one (shares of two runs of the same design would otherwise add up to garbage).
    ``announcement`` is what secure inference announces for the model (configuration, activations with their
    coefficients, a public bound on |w| of each tensor from the training's bounds, input features).
    """
    mine = session.comm.position(MODEL_OWNER) is not None
    sharing = session.comm.announce(MODEL_OWNER, secrets.token_hex(16) if mine else None)
    if not isinstance(sharing, str) or not 1 <= len(sharing) <= 64:
        raise _bad_design("a sharing id that is not a short text")
    if kind == "forecaster":
        config = {**config, "highway": 0, "highway_features": []}
    return {"model": kind, "sharing": sharing, "frac_bits": session.encoder.frac_bits,
            "announcement": {"config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
                             "activations": described, "bounds": dict(final_bounds),
                             # the load scaling is the data owner's (its model metadata), not announced
                             "features": {**features, "scaling": None} if kind == "forecaster" else features}}


def training_program(session, model: dict | None, data: dict | None, settings: dict) -> dict:
    """The SPMD program of training on shares across hosts (party 0 the model owner, party 1 the data owner).

    Parameters
    ----------
    session : mpc.tensor.Session
    model : dict or None
        In the model owner's process: ``design`` (:func:`describe_design`) and ``init``, a callable
        (design, samples) -> dict of name -> ndarray, the initial weights (from the public seed or its own
        file), given both public announcements; None elsewhere.
    data : dict or None
        In the data owner's process: ``load``, a callable (design) -> (parts, extra) with ``parts`` part name
        (train, val, test) -> (x, y) and ``extra`` the rest of its announcement (:func:`describe_samples`);
        None elsewhere.
    settings : dict
        ``frac_bits`` (int or None: the most up to 16 that fit), ``budget``, ``allow_out_of_range``,
        ``reveal_loss``, ``keep_shared`` (agreed at set-up), and for progress, each optional: ``on_start``
        (callable (steps, epochs), once the run is planned), ``on_step`` (callable (epoch, step, steps per
        epoch, loss)) and ``on_epoch`` (callable (epoch, validation loss)).

    Returns
    -------
    dict
        ``design`` (as announced), ``samples`` (the data owner's announcement), ``config``, ``frac_bits``, and
        the :class:`~mpc.training.loop.SecureTrainResult` as ``result``; ``record``, the share files' public
        part (``keep_shared``).

    Raises
    ------
    ProtocolError
        If an announcement is malformed.
    TrainingPrecisionError, PreactivationRangeError
        If the plan refuses the run (both processes, before any data is shared), or it fails its budget.
    ApproxError
        If the model owner's initial weights do not fit the design.
    """
    mine = session.comm.position
    owner, holder = mine(MODEL_OWNER) is not None, mine(DATA_OWNER) is not None
    design = public_design(session.comm.announce(MODEL_OWNER, model["design"] if owner else None))
    parts = extra = None
    if holder:
        parts, extra = data["load"](design)
    samples = public_samples(session.comm.announce(DATA_OWNER, describe_samples(parts, extra) if holder else None),
                             design)
    kind, config = design["kind"], training_config(design, samples)
    shapes = parameter_shapes(kind, config)
    weights = None
    if owner:
        weights = model["init"](design, samples)
        wrong = [name for name in shapes if name not in weights or np.shape(weights[name]) != shapes[name]]
        if wrong or set(weights) != set(shapes):
            raise ApproxError(f"the initial weights do not fit the model the data asks for ({(wrong or ['names'])[0]})")
    bounds = _public_bounds(session.comm.announce(MODEL_OWNER, weight_bounds(weights) if owner else None), shapes)
    public = {}
    for name in PARTS:
        part = samples["parts"][name]
        n = part["samples"]
        x_shape = (n, *((design["features"]["window"],) if kind == "forecaster" else ()), samples["input_size"])
        x, y = parts[name] if holder else (None, None)
        if holder and (x.shape != x_shape or y.shape != (n, samples["outputs"])):
            raise ApproxError(f"the {name} samples do not have the announced shapes")
        # a forecaster's windows slide one step over the load series (as make_dataset builds them): their rows
        # are shared and opened once, not once per window
        sliding = kind == "forecaster"
        if holder and sliding and not np.array_equal(x[1:, :-1], x[:-1, 1:]):
            raise ApproxError(f"the {name} windows do not slide one step at a time over one series")
        public[name] = Samples(x, y, x_shape, (n, samples["outputs"]), part["x_bound"], part["y_bound"], sliding)
    hyper = design["hyper"]
    train_settings = TrainSettings(hyper["epochs"], hyper["batch_size"], hyper["lr"], hyper["l2"], hyper["seed"],
                                   hyper["loss_scale"], settings["budget"], settings["allow_out_of_range"],
                                   hyper["weight_bound"], hyper["gradient_bound"], settings["reveal_loss"])
    # both parties plan the same fractional bits and truncation from the same public facts
    planned = plan_run(kind, config, design["activations"], public["train"], train_settings, bounds,
                       settings["frac_bits"], settings.get("truncation", "auto"), public["val"], public["test"])
    frac_bits = planned.frac_bits
    agree(session, planned)
    session.set_frac_bits(frac_bits)
    session.set_truncation(planned.truncation)
    if settings.get("on_start"):
        settings["on_start"](hyper["epochs"] * batches(public["train"], hyper["batch_size"]), hyper["epochs"])
    start = time.perf_counter()
    result = secure_train(session, kind, config, design["activations"], public["train"], train_settings, weights,
                          bounds, validation=public["val"], keep_shared=settings["keep_shared"],
                          on_step=settings.get("on_step"), test=public["test"], test_to=DATA_OWNER,
                          on_epoch=settings.get("on_epoch"))
    record = None
    if settings["keep_shared"]:
        record = share_record(session, kind, config, design["described"], design["features"], result.final_bounds)
    return {"design": {k: v for k, v in design.items() if k != "activations"}, "samples": samples, "config": config,
            "frac_bits": frac_bits, "result": result, "record": record, "seconds": time.perf_counter() - start}
