"""Secure inference as one SPMD program: the model owner's weights, the data owner's windows, nothing else shared.

:func:`forecast_program` runs in every party's process, each given only what
its owner holds (``model`` in the model owner's, ``data`` in the data
owner's, neither in the others').  It

1. announces the public parts (:meth:`Communicator.announce`): the model owner
   the configuration, the activations with their coefficients and the weight
   bounds; the data owner the windows' shape, their bound and the batch size --
   each checked on arrival (:func:`public_model`, :func:`public_data`);
2. plans the run from them, identically in every process (:func:`plan_forecast`):
   the fractional bits and the truncation protocol (local within the failure
   budget, or the dealer's), products that could reach 2^62, pre-activations
   whose bounds leave their intervals -- refused before any secret is shared;
3. shares the weights -- or, for a model trained with ``--keep-shared``, each
   party inputs its own share of them, after the data owner checked that both
   share files are halves of one model -- and forecasts batch after batch;
   only the data owner learns the forecasts.

The local command (``approx secure infer``) and the per-role commands
(``approx party``) both run this program.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np

from approx.activations import PolynomialActivation
from approx.approximation import Approximation
from approx.errors import ApproxError
from mpc.encoder import EncodingError
from mpc.forecaster import DATA_OWNER, MODEL_OWNER, SecureForecaster, check_activations, weight_bounds
from mpc.planning import agree, plan
from mpc.tensor import Session
from mpc.wire import ProtocolError

__all__ = ["forecast_program", "describe_model", "public_model", "public_data", "public_shares", "plan_forecast",
           "describe_activations", "rebuild_activations", "share_announcement", "check_share_pair", "differing",
           "ROLES", "MAX_DEGREE"]

ROLES = ("gate", "cell", "hidden", "output")
MAX_DEGREE = 64
_SIZES = ("input_size", "hidden_size", "dense_size")


def describe_model(config: dict, activations: dict, weights: dict, features: dict) -> dict:
    """The model owner's public announcement: configuration, activations (with coefficients), weight bounds,
    and the input features the model reads (window length, lags, and the min-max scaling of the loads it was
    trained with) so that the data owner can build its windows as the model expects them.

    Parameters
    ----------
    config : dict
        The fields of the forecaster's configuration.
    activations : dict of role -> approx.Activation
    weights : dict of str -> ndarray
    features : dict
        ``window`` (steps per window), ``lags`` (list of int) and ``scaling`` ((smallest, largest) load of the
        training data, or None when the data owner holds it, as for a model trained on shares), as the model
        was trained with.

    Raises
    ------
    ApproxError
        If an activation is not a polynomial (nor square / identity).
    """
    check_activations(activations)
    described = describe_activations(activations)
    keep = (*_SIZES, "cell", "highway", "highway_features")
    return {"config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items() if k in keep},
            "activations": described, "bounds": weight_bounds(weights),
            "features": {"window": features.get("window"), "lags": list(features.get("lags", [])),
                         "scaling": None if features.get("scaling") is None else
                         [float(v) for v in features["scaling"]]}}


def _scaling(value) -> bool:
    """A (smallest, largest) load: two finite numbers, the first below the second."""
    return (isinstance(value, list) and len(value) == 2 and all(type(v) in (int, float) for v in value)
            and all(math.isfinite(v) and abs(v) < 1e15 for v in value) and value[0] < value[1])


def _bad(what: str):
    return ProtocolError(f"the model owner announced {what}")


def public_model(announced) -> tuple[dict, dict, dict, dict]:
    """Check the model owner's announcement and rebuild (config, activations, bounds, features).

    Raises
    ------
    ProtocolError
        If a field is missing, of the wrong type or out of range, or an activation cannot be rebuilt.
    """
    if not isinstance(announced, dict) or set(announced) - {"shares"} != {"config", "activations", "bounds",
                                                                        "features"}:
        raise _bad("something other than a configuration, activations, bounds and features")
    config, acts, bounds = announced["config"], announced["activations"], announced["bounds"]
    features = announced["features"]
    if not isinstance(features, dict) or set(features) != {"window", "lags", "scaling"} or not (
            features["window"] is None or type(features["window"]) is int and 1 <= features["window"] <= 1 << 14) \
            or not isinstance(features["lags"], list) or not all(type(v) is int and 1 <= v <= 1 << 20
                                                                  for v in features["lags"]) \
            or not (features["scaling"] is None or _scaling(features["scaling"])):
        raise _bad("input features other than a window length, lags and a load scaling")
    if not isinstance(config, dict) or not all(type(config.get(k)) is int and 1 <= config[k] <= 1 << 14
                                               for k in _SIZES):
        raise _bad("a configuration without sizes from 1 to 16384")
    if config.get("cell") not in ("standard", "linear"):
        raise _bad("a cell other than standard or linear")
    highway, columns = config.get("highway", 0), config.get("highway_features", [])
    if type(highway) is not int or not 0 <= highway <= 1 << 14 or not isinstance(columns, list) or not all(
            type(v) is int and 0 <= v < config["input_size"] for v in columns) or (highway and not columns):
        raise _bad("a highway that does not fit the inputs")
    shapes = SecureForecaster.shapes(config)
    if not isinstance(bounds, dict) or set(bounds) != set(shapes) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1e15 and math.isfinite(v)
            for v in bounds.values()):
        raise _bad(f"weight bounds that are not one positive number for each of {', '.join(shapes)}")
    activations = rebuild_activations(acts, ROLES, _bad)
    return config, activations, {k: float(v) for k, v in bounds.items()}, features


def describe_activations(activations: dict) -> dict:
    """Role -> the public description of an activation: its name, and for a polynomial its coefficients,
    interval and fit (``Approximation.to_dict``), from which :func:`rebuild_activations` rebuilds it."""
    return {role: {"name": act.name, **({"approximation": act.approximation.to_dict()}
                                        if isinstance(act, PolynomialActivation) else {})}
            for role, act in activations.items()}


def rebuild_activations(acts, roles, bad) -> dict:
    """Role -> approx.Activation from a peer's :func:`describe_activations`, every field checked.

    Parameters
    ----------
    acts : object
        What arrived.
    roles : sequence of str
        The roles expected, exactly.
    bad : callable (str) -> Exception
        Builds the error to raise, from what was wrong.

    Raises
    ------
    Exception
        ``bad(...)`` if a role is missing or extra, or an activation is neither square/identity nor a polynomial
        of degree 1 to ``MAX_DEGREE`` with finite coefficients on a finite interval.
    """
    import approx

    if not isinstance(acts, dict) or set(acts) != set(roles):
        raise bad(f"activations other than one for each of {', '.join(roles)}")
    activations = {}
    for role, spec in acts.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise bad(f"a {role} activation without a name")
        if "approximation" not in spec:
            if spec["name"] not in ("square", "identity") or len(spec) != 1:
                raise bad(f"the {role} activation {spec['name']!r}, which is neither a polynomial nor square/identity")
            activations[role] = approx.get(spec["name"])
            continue
        try:
            fitted = Approximation.from_dict(spec["approximation"])
            ok = (fitted.name == spec["name"] and 1 <= fitted.degree <= MAX_DEGREE
                  and fitted.coef.shape == (fitted.degree + 1,) and np.all(np.isfinite(fitted.coef))
                  and all(math.isfinite(v) for v in fitted.domain) and fitted.domain[0] < fitted.domain[1])
            activations[role] = PolynomialActivation(fitted) if ok else None
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, ZeroDivisionError):
            activations[role] = None
        if activations[role] is None:
            raise bad(f"a {role} activation whose polynomial cannot be rebuilt")
    return activations


def public_data(announced, config: dict) -> tuple[tuple, float, int]:
    """Check the data owner's announcement: (windows' shape (N, T, F), bound on |x|, batch size).

    Raises
    ------
    ProtocolError
    """
    ok = isinstance(announced, dict) and set(announced) == {"shape", "magnitude", "batch_size"}
    shape = announced.get("shape") if ok else None
    ok = ok and isinstance(shape, list) and len(shape) == 3 and all(type(v) is int and v >= 1 for v in shape)
    ok = ok and shape[2] == config["input_size"] and shape[1] >= config.get("highway", 0) and shape[0] <= 1 << 24
    magnitude, batch = (announced.get("magnitude"), announced.get("batch_size")) if ok else (None, None)
    ok = ok and isinstance(magnitude, (int, float)) and not isinstance(magnitude, bool) and 0 <= magnitude < 1e15
    ok = ok and type(batch) is int and 1 <= batch <= 1 << 16
    if not ok:
        raise ProtocolError(f"the data owner announced windows that do not fit the model (a shape (N, T, "
                            f"{config['input_size']}) with T >= the highway, a finite bound and a batch size)")
    return tuple(shape), float(magnitude), batch


def plan_forecast(config: dict, activations: dict, bounds: dict, shape: tuple, magnitude: float,
                  frac_bits: int | None, budget: float, allow_out_of_range: bool, truncation: str = "auto",
                  parties: int = 2):
    """Plan secure inference from public information only (:func:`mpc.planning.plan`): one window is the probe.

    Parameters
    ----------
    truncation : {"auto", "local", "dealer"}
        The policy of :func:`mpc.planning.choose` (local truncation from ``MIN_LOCAL_BITS`` bits up).
    parties : int
        Parties holding shares (local truncation needs 2; more always truncate with the dealer).

    Returns
    -------
    mpc.planning.Plan

    Raises
    ------
    EncodingError
        If local truncation was asked for and the run exceeds the budget at ``frac_bits`` (naming the
        largest safe setting and ``--truncation dealer``), a product can reach 2^62, or (unless allowed)
        a pre-activation can leave its polynomial's interval.
    """
    windows, steps, features = shape

    def probe(f):
        session = Session.in_process(2, f, allow_out_of_range=allow_out_of_range)
        zeros = {name: np.zeros(s) for name, s in SecureForecaster.shapes(config).items()}
        model = SecureForecaster(session, config, activations, zeros, bounds)
        model.forecast(np.zeros((1, steps, features)), (1, steps, features), magnitude)
        return session

    return plan(probe, windows, frac_bits, budget, truncation, parties=parties)


def public_shares(announced) -> dict | None:
    """The ``shares`` part of the model owner's announcement: ``frac_bits`` and ``sharing`` (the run that wrote
    the share files) when each party inputs its own share of the weights, None when the model owner shares them.

    Raises
    ------
    ProtocolError
    """
    shares = announced.get("shares") if isinstance(announced, dict) else None
    if shares is None:
        return None
    if not isinstance(shares, dict) or set(shares) != {"frac_bits", "sharing"} or not (
            type(shares["frac_bits"]) is int and 1 <= shares["frac_bits"] <= 30) or not (
            isinstance(shares["sharing"], str) and 1 <= len(shares["sharing"]) <= 64):
        raise _bad("model shares without their fractional bits (1 to 30) and sharing id")
    return shares


def share_announcement(public: dict) -> dict:
    """What the model owner announces when the weights come from share files (``public``: a share file's public
    part, :func:`mpc.training.protocol.share_record`): the model's description and the shares' frac bits and id."""
    return {**public["announcement"], "shares": {"frac_bits": public["frac_bits"], "sharing": public["sharing"]}}


def differing(mine: dict, theirs: dict) -> str:
    """The first top-level field (and a sub-field) where two announcements differ, for the message."""
    for key in sorted(set(mine) | set(theirs)):
        a, b = mine.get(key), theirs.get(key)
        if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
            if isinstance(a, dict) and isinstance(b, dict):
                inner = [k for k in sorted(set(a) | set(b))
                         if json.dumps(a.get(k), sort_keys=True) != json.dumps(b.get(k), sort_keys=True)]
                return f"{key} ({inner[0]})" if inner else key
            return key
    return "nothing"


def check_share_pair(announced: dict, mine: dict | None) -> None:
    """In the data owner's process: the model owner's announcement against this party's own share file.

    Parameters
    ----------
    announced : dict
        What the model owner announced (JSON as it arrived).
    mine : dict or None
        This party's share file's public part, or None if it inputs no share.

    Raises
    ------
    ApproxError
        If one party inputs a share and the other does not, or the two share files are not of the same sharing
        (their public parts differ: naming the first field).
    """
    if mine is None:
        if announced.get("shares") is not None:
            raise ApproxError("the model owner inputs its share of a model kept shared: give this party's share "
                              "file too (--model MODEL.party1.npz)")
        return
    if announced.get("shares") is None:
        raise ApproxError("this party inputs a share file but the model owner gives a model file: both parties give "
                          "their share files of one --keep-shared run, or the model owner its model alone")
    expected = json.loads(json.dumps(share_announcement(mine)))
    if json.dumps(expected, sort_keys=True) != json.dumps(announced, sort_keys=True):
        raise ApproxError(f"the two share files are not halves of one model: their public metadata differ in "
                          f"{differing(expected, announced)}; give both files written by one --keep-shared run")


def forecast_program(session, model: dict | None, data: dict | None, settings: dict) -> dict:
    """The SPMD program of secure inference (2 parties: the model owner 0 and the data owner 1).

    Parameters
    ----------
    session : mpc.tensor.Session
    model : dict or None
        In the model owner's process: ``config``, ``activations`` (role -> approx.Activation),
        ``weights`` (name -> ndarray) and ``features`` (window, lags); or, for a model kept shared,
        ``public`` (its share file's public part) and ``shares`` (party -> name -> ndarray of uint64: the
        share files this process holds); None elsewhere.
    data : dict or None
        In the data owner's process: ``batch_size``, and ``x``, ndarray (N, T, F), or ``windows``, a
        callable that builds x from the announced features (window, lags); for a model kept shared also
        ``public`` and ``shares`` of its own share file; None elsewhere.
    settings : dict
        ``frac_bits`` (int, or None: chosen by the plan), ``truncation`` ("auto", "local" or "dealer";
        default auto), ``budget`` (float), ``allow_out_of_range`` (bool), ``progress`` (callable wrapping the batch iterable, or None),
        ``on_plan`` (callable (Plan, activations), e.g. to warn about pre-activations out of range; or None).

    Returns
    -------
    dict
        ``forecasts`` (ndarray (N,), the data owner's; None elsewhere), ``online_seconds``, ``stats``,
        ``plan`` (:class:`~mpc.planning.Plan` as a dict).

    Raises
    ------
    ProtocolError
        If an announcement is malformed.
    EncodingError
        If the plan refuses the run, or the shares hold more fractional bits than the run can use.
    ApproxError
        If the two parties' share files are not of one model.
    """
    mine = session.comm.position
    owner = mine(MODEL_OWNER) is not None
    shared = owner and "shares" in model
    announced = session.comm.announce(MODEL_OWNER, None if not owner else share_announcement(model["public"])
                                      if shared else describe_model(model["config"], model["activations"],
                                                                    model["weights"], model["features"]))
    config, activations, bounds, features = public_model(announced)
    from_shares = public_shares(announced)
    x = None
    if mine(DATA_OWNER) is not None:
        check_share_pair(announced, data.get("public"))
        x = data["x"] if "x" in data else data["windows"](features)
    shape, magnitude, batch = public_data(session.comm.announce(DATA_OWNER, {
        "shape": list(x.shape), "magnitude": float(np.max(np.abs(x), initial=0.0)),
        "batch_size": data["batch_size"]} if x is not None else None), config)
    planned = plan_forecast(config, activations, bounds, shape, magnitude, settings["frac_bits"],
                            settings["budget"], settings["allow_out_of_range"], settings.get("truncation", "auto"),
                            session.parties)
    if from_shares is not None and planned.frac_bits < from_shares["frac_bits"]:
        raise EncodingError(f"the model's shares hold {from_shares['frac_bits']} fractional bits but this run can "
                            f"use at most {planned.frac_bits}; give --frac-bits {from_shares['frac_bits']} or more "
                            "(with --truncation dealer if the failure budget does not allow it)")
    if settings.get("on_plan"):
        settings["on_plan"](planned, activations)
    agree(session, planned)
    session.set_frac_bits(planned.frac_bits)
    session.set_truncation(planned.truncation)
    session.failure_budget, session.allow_out_of_range = settings["budget"], settings["allow_out_of_range"]
    if from_shares is not None:
        held = {**((model or {}).get("shares") or {}), **((data or {}).get("shares") or {})}
        secure = SecureForecaster(session, config, activations, None, bounds,
                                  shares=[held[p] for p in session.comm.local_parties],
                                  shares_frac_bits=from_shares["frac_bits"])
    else:
        secure = SecureForecaster(session, config, activations, model["weights"] if owner else None, bounds)
    out, start = [], time.perf_counter()
    batches = range(0, shape[0], batch)
    progress = settings.get("progress")
    for first in (progress(batches) if progress and x is not None else batches):
        part = (min(batch, shape[0] - first), *shape[1:])
        out.append(secure.forecast(x[first:first + batch] if x is not None else None, part, magnitude))
    online = time.perf_counter() - start
    return {"forecasts": np.concatenate(out) if x is not None else None, "online_seconds": online,
            "stats": session.stats(), "plan": planned.to_dict()}
