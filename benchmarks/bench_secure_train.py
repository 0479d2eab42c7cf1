"""Training on secret shares (2 parties, in process): the MLP on the digits and the seed forecaster.

Run:  python benchmarks/bench_secure_train.py [--mlp-epochs 20] [--forecaster-epochs 1] [--forecaster-lr 0.1]
                                             [--forecaster-bits 16] [--skip-forecaster]

MLP 64 -> 32 -> 10, degree-3 Chebyshev sigmoid on [-8, 8] (hidden and output), square loss on one-hot
targets, batch 16, lr 2: trained on shares at the most fractional bits whose truncation-failure bound
over the run stays within 1e-6, beside its plaintext twin (nn, same seed, initial weights, batches and
learning rate).  Forecaster (LSTM 58 -> 40 -> 40, 20 steps, linear cell, degree-3 Chebyshev sigmoid on
[-2, 2] and tanh on [-1, 1], square hidden layer, identity output), batch 64, lr 0.1, loss scale 256, 16 fractional
bits: one SGD step's gradients against nn's with and without loss scaling, then an epoch on shares
beside the plaintext twin.  Figures per step: rounds and bytes sent per party beside the floor (each
secret operand of a product opened once: 8 bytes per element per party; rounds: the circuit's depth
in openings), and seconds.  The training runs mask the samples once before the first step (the
set-up, its bytes printed apart) and a step opens no data; "before" is one step of the same circuit
with its batch shared and opened in the step, measured in the same run, and the ratio of the two.  CrypTen 0.4.1 on this machine (issue figures, not rerun here): MLP
(cross-entropy, batch 16) 159 rounds and 478 KB per party per step, 35-38 s per epoch, 95.6 %;
forecaster at batch 64: 2,378 rounds, 243.5 MB per party and 11.6 s per step.
"""

import argparse
import os
import tempfile
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import approx
from approx import Registry, fit
from cli.secure_train_command import train_to_the_last_epoch
from mpc.costs import SessionStats
from mpc.forecaster import weight_bounds
from mpc.tensor import Session
from mpc.training.cost import forecaster_step_cost, mlp_step_cost, setup_cost
from mpc.training.loop import Samples, TrainSettings, plan_step, secure_train
from mpc.training.models import SecureLSTMForecaster, SecureMLP
from mpc.training.precision import (FAILURE_BUDGET, PublicBounds, TrainingPrecisionError, check_failure_budget,
                                    max_frac_bits)
from mpc.training.sgd import sgd_update
from mpc.truncation import RingOverflowError
from nn.network import MLPConfig, Network, one_hot
from nn.training import TrainConfig

CRYPTEN = {"mlp": {"rounds": 159, "bytes": 478e3, "epoch_seconds": 36.5, "accuracy": 0.956},
           "forecaster": {"rounds": 2378, "bytes": 243.5e6, "step_seconds": 11.6}}


def add(registry, approximation) -> str:
    registry.add(approximation)
    return approximation.name


def cost_line(cost, seconds: float) -> str:
    return (f"{cost.rounds} rounds (floor {cost.floor_rounds}), {cost.bytes_per_party / 1e6:.3f} MB per party "
            f"(floor {cost.floor_bytes_per_party / 1e6:.3f} MB), {seconds:.2f} s")


def batch_opened_step(init: dict, acts: dict, x: np.ndarray, y: np.ndarray, frac_bits: int) -> SessionStats:
    """Cost of one MLP step whose batch is shared and opened in the step (the circuit without the set-up)."""
    s = Session.in_process(2, frac_bits, seed=b"b" * 16)
    params = {k: s.share(v, magnitude=4.0) for k, v in init.items()}
    bounds = PublicBounds(True, 4.0, 8.0)
    grads: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        SecureMLP(params, acts, bounds).gradients(s.share(x, magnitude=1.0), s.share(y), grads)
        sgd_update(params, grads, 2.0, len(x), 0.0, bounds)
    return s.stats()


def mlp(registry, epochs: int) -> None:
    from nn.tabular import load_table

    name = add(registry, fit("sigmoid", 3, interval=(-8.0, 8.0)))
    data = load_table("digits")
    (xtr, ytr), (xva, yva), (xte, yte) = data.part("train"), data.part("val"), data.part("test")
    config = MLPConfig(64, (32,), 10, name, "poly", False, "mse", name)
    twin = Network(config, registry=registry, seed=0)
    init = {k: v.copy() for k, v in twin.params.items()}
    start = time.perf_counter()
    train_to_the_last_epoch(twin, (xtr, ytr), (xva, yva), TrainConfig(epochs, 16, 2.0, 0.0, None, epochs + 1, 0))
    twin_epoch = (time.perf_counter() - start) / epochs
    twin_accuracy = float(np.mean(twin.predict(xte) == yte))
    w_max = max(float(np.max(np.abs(v))) for v in twin.params.values())
    act = approx.get(name, registry=registry)
    acts = {"hidden": act, "output": act}
    settings = TrainSettings(epochs, 16, 2.0, 0.0, 0, 1, FAILURE_BUDGET, allow_out_of_range=True, weight_bound=4.0,
                             gradient_bound=8.0)
    train_samples = Samples.public(xtr, one_hot(ytr, 10))
    bounds = {k: float(np.max(np.abs(v))) for k, v in init.items()}
    steps = epochs * -(-len(xtr) // 16)
    at16 = plan_step("mlp", {"sizes": (64, 32, 10)}, acts, train_samples, settings, bounds,
                     16)["truncation_failure_bound"]
    f = max_frac_bits(at16, 16, steps)
    print(f"MLP, digits: plaintext twin max |w| = {w_max:.2f} (declared weight bound 4); a step's failure bound at "
          f"16 bits {at16:.3g}, so {steps} steps fit 1e-6 with at most {f} fractional bits")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = secure_train(Session.in_process(2, f), "mlp", {"sizes": (64, 32, 10)}, acts, train_samples, settings, init,
                              bounds, test=Samples.public(xte, one_hot(yte, 10)))
    secure = Network(config, registry=registry)
    for k, v in result.weights.items():
        secure.params[k][...] = v
    accuracy = float(np.mean(secure.predict(xte) == yte))
    on_shares = float(np.mean(result.test_predictions.argmax(axis=1) == yte))
    epoch_seconds = float(np.mean(result.seconds_per_epoch))
    cost = result.step_cost
    formula = mlp_step_cost((64, 32, 10), 16)
    before = batch_opened_step(init, acts, xtr[:16], one_hot(ytr[:16], 10), f)
    old = mlp_step_cost((64, 32, 10), 16, masked_data=False)
    setup = result.setup_cost
    print(f"  set-up (training and validation samples masked and opened once): {setup.rounds} round, "
          f"{setup.bytes_per_party} bytes per party (formula "
          f"{setup_cost(xtr.shape, xte.shape)['bytes_per_party']})")
    print(f"  per step: {cost_line(cost, epoch_seconds / -(-len(xtr) // 16))}; closed formula {formula['rounds']} "
          f"rounds, {formula['bytes_per_party']} bytes")
    print(f"  before (each batch opened in its step): {before.rounds} rounds, {before.bytes_per_party} bytes "
          f"per party (formula {old['bytes_per_party']}); after / before: rounds "
          f"{cost.rounds / before.rounds:.2f}, bytes {cost.bytes_per_party / before.bytes_per_party:.3f} "
          f"({before.bytes_per_party / cost.bytes_per_party:.3f}x less)")
    print(f"  against CrypTen ({CRYPTEN['mlp']['rounds']} rounds, {CRYPTEN['mlp']['bytes'] / 1e3:.0f} KB per party "
          f"per step): {CRYPTEN['mlp']['rounds'] / cost.rounds:.1f}x fewer rounds, "
          f"{CRYPTEN['mlp']['bytes'] / cost.bytes_per_party:.2f}x less traffic "
          f"(before: {CRYPTEN['mlp']['bytes'] / before.bytes_per_party:.2f}x); "
          f"the set-up is {setup.bytes_per_party / (cost.bytes_per_party * steps):.1%} of the run's step traffic")
    print(f"  correlations per step (elements): {cost.triples}")
    print(f"  {epoch_seconds:.2f} s per epoch on shares ({epoch_seconds / twin_epoch:.0f}x the plaintext twin's "
          f"{twin_epoch:.3f} s; CrypTen ~{CRYPTEN['mlp']['epoch_seconds']} s, "
          f"{CRYPTEN['mlp']['epoch_seconds'] / epoch_seconds:.0f}x ours)")
    print(f"  test accuracy after {epochs} epochs at {f} fractional bits: {100 * accuracy:.2f} % on shares "
          f"(predicted on shares: {100 * on_shares:.2f} %), plaintext twin {100 * twin_accuracy:.2f} %; "
          f"truncation-failure bound of the run {result.truncation_failure_bound:.3g} "
          f"(planned {result.planned_failure_bound:.3g}; conditional on the declared bounds and on the "
          f"pre-activations inside [-8, 8]: public bound / interval up to "
          f"{max(result.range_ratios[-1].values()):.1f}, {len(caught)} warnings)")


def forecaster(registry, runs: list, lr: float, frac_bits: int) -> None:
    from nn.data import load_series
    from nn.features import make_dataset
    from nn.forecaster import Forecaster, ForecasterConfig

    gate = add(registry, fit("sigmoid", 3, interval=(-2.0, 2.0)))
    cell = add(registry, fit("tanh", 3, interval=(-1.0, 1.0)))
    data = make_dataset(load_series("taylor", "timestamp", "load"))
    xtr, ytr = data.part("train")
    config = ForecasterConfig(58, 40, 20, gate, cell, "linear", "square", "identity")
    twin = Forecaster(config, registry=registry, seed=0, output_bias=float(ytr.mean()))
    init = {k: v.copy() for k, v in twin.params.items()}
    acts = {role: act.activation for role, act in twin.activations().items()}
    print(f"forecaster, batch 64, linear cell, lr {lr}, {frac_bits} fractional bits:")
    forecaster_costs(init, acts, len(xtr))
    try:
        forecaster_runs(twin, init, acts, config, data, runs, lr, frac_bits, registry)
    except RingOverflowError as exc:  # the public bounds propagated through 20 recurrent steps
        print(f"  refused at {frac_bits} fractional bits: {exc}")


def forecaster_costs(init: dict, acts: dict, samples: int) -> None:
    """Rounds, bytes and seconds of one forecaster step at batch 64, its windows opened in the step (before) or
    their rows masked once at set-up (after); on zero data, whose public bounds cannot overflow (the costs do not
    depend on the values)."""
    cost = {}
    for masked in (False, True):
        s = Session.in_process(2, 16, seed=b"c" * 16)
        params = {k: s.share(np.zeros(v.shape)) for k, v in init.items()}
        x = s.share(np.zeros((64, 20, 58)))
        if masked:
            rows = s.share(np.zeros((samples + 19, 58))).open_masked()
            x = [rows[np.arange(64) + t] for t in range(20)]
        before, start = s.stats(), time.perf_counter()
        grads: dict = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            SecureLSTMForecaster(params, acts, "linear", PublicBounds(True)).gradients(x, s.share(np.zeros((64, 1))),
                                                                                        grads, 256)
            sgd_update(params, grads, 0.1, 64, 0.0, None, 256)
        seconds, after = time.perf_counter() - start, s.stats()
        cost[masked] = after - before
        formula = forecaster_step_cost(64, 20, 58, 40, 20, "linear", masked)
        print(f"  a step, {'data masked once' if masked else 'windows opened in the step'}: "
              f"{cost_line(cost[masked], seconds)}; closed formula {formula['rounds']} rounds, "
              f"{formula['bytes_per_party'] / 1e6:.3f} MB")
    print(f"  set-up: the {samples + 19} feature rows of the sliding training windows, "
          f"{setup_cost((samples + 19, 58))['bytes_per_party'] / 1e6:.3f} MB per party once; after / before: bytes "
          f"{cost[True].bytes_per_party / cost[False].bytes_per_party:.3f}; CrypTen "
          f"{CRYPTEN['forecaster']['rounds']} rounds, {CRYPTEN['forecaster']['bytes'] / 1e6:.1f} MB: "
          f"{CRYPTEN['forecaster']['bytes'] / cost[True].bytes_per_party:.2f}x ours (before "
          f"{CRYPTEN['forecaster']['bytes'] / cost[False].bytes_per_party:.2f}x)")


def forecaster_runs(twin, init, acts, config, data, runs, lr, frac_bits, registry) -> None:
    from nn.evaluation import evaluate
    from nn.forecaster import Forecaster

    (xtr, ytr), (xva, yva) = data.part("train"), data.part("val")
    steps_per_epoch = -(-len(xtr) // 64)  # batch 64
    x, y = xtr[:64], ytr[:64]
    _, plain = twin.loss_and_grads(x, y)
    for scale_ in (1, 256):
        s = Session.in_process(2, frac_bits, seed=b"g" * 16)
        params = {k: s.share(v) for k, v in init.items()}
        grads: dict = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            SecureLSTMForecaster(params, acts, "linear", PublicBounds(True)).gradients(s.share(x), s.share(y), grads,
                                                                                        scale_)
            sgd_update(params, grads, lr, 64, 0.0, None, scale_)
            seconds = time.perf_counter() - start
        cost = s.stats()
        worst = max((float(np.max(np.abs(grads[k].reveal() / (64 * scale_) - g)) / np.max(np.abs(g))), k)
                    for k, g in plain.items())
        print(f"  loss scale {scale_:4d}: worst gradient error {100 * worst[0]:.3f} % of the tensor's largest "
              f"({worst[1]})")
    print(f"  one step on the data, its windows opened in the step: {cost_line(cost, seconds)}; CrypTen "
          f"{CRYPTEN['forecaster']['rounds']} rounds, {CRYPTEN['forecaster']['bytes'] / 1e6:.1f} MB "
          f"({CRYPTEN['forecaster']['bytes'] / cost.bytes_per_party:.1f}x ours), "
          f"{CRYPTEN['forecaster']['step_seconds']} s ({CRYPTEN['forecaster']['step_seconds'] / seconds:.1f}x ours)")
    for epochs in runs:
        settings = TrainSettings(epochs, 64, lr, 0.0, 0, 256, float("inf"), allow_out_of_range=True)
        bounds = weight_bounds(init)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = secure_train(Session.in_process(2, frac_bits), "forecaster",
                                  {"input_size": 58, "hidden_size": 40, "dense_size": 20, "cell": "linear"}, acts,
                                  Samples.public(xtr, ytr, sliding=True), settings, init, bounds)
        for name, value in init.items():  # every run from the same start
            twin.params[name][...] = value
        start = time.perf_counter()
        train_to_the_last_epoch(twin, (xtr, ytr), (xva, yva),
                                TrainConfig(epochs, 64, lr, 0.0, None, epochs + 1, 0))
        twin_epoch = (time.perf_counter() - start) / epochs
        rel, worst = max((float(np.max(np.abs(result.weights[k] - v)) / np.max(np.abs(v))), k)
                         for k, v in twin.params.items())
        secure = Forecaster(config, registry=registry)
        for k, v in result.weights.items():
            secure.params[k][...] = v
        mape, twin_mape = evaluate(secure, data)["test"]["mape"], evaluate(twin, data)["test"]["mape"]
        epoch_seconds = float(np.mean(result.seconds_per_epoch))
        try:
            verdict = "within"
            check_failure_budget(result.step_cost.truncation_failure_bound, frac_bits, steps_per_epoch * epochs)
        except TrainingPrecisionError:
            verdict = "refused at"
        formula = forecaster_step_cost(64, 20, 58, 40, 20, "linear")
        print(f"  set-up of the run: {result.setup_cost.rounds} round, "
              f"{result.setup_cost.bytes_per_party / 1e6:.3f} MB per party")
        print(f"  {epochs} epoch(s) of {steps_per_epoch} steps: {epoch_seconds:.1f} s per epoch on shares "
              f"({epoch_seconds / steps_per_epoch:.2f} s per step; plaintext twin {twin_epoch:.2f} s per epoch, "
              f"{epoch_seconds / twin_epoch:.0f}x); step "
              f"{cost_line(result.step_cost, epoch_seconds / steps_per_epoch)}; closed formula {formula['rounds']} rounds, "
              f"{formula['bytes_per_party'] / 1e6:.3f} MB")
        print(f"  correlations per step (elements): {result.step_cost.triples}")
        print(f"  weights after {epochs} epoch(s): largest |secure - plaintext| {rel:.2e} of the tensor's largest "
              f"({worst}; goal 1e-3 after one); test MAPE {mape:.3f} % on shares, {twin_mape:.3f} % plaintext twin "
              f"(relative difference {abs(mape - twin_mape) / twin_mape:.2%})")
        print(f"  truncation-failure bound from the public bounds: a step "
              f"{result.step_cost.truncation_failure_bound:.3g}"
              f", the run {result.truncation_failure_bound:.3g} ({verdict} the 1e-6 budget: the bounds propagated "
              f"through 20 recurrent steps are vacuous; this run was allowed by an explicit budget of inf)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp-epochs", type=int, default=20)
    parser.add_argument("--forecaster-epochs", default="1",
                        help="comma-separated: one run from the same start per entry, e.g. 1,15")
    parser.add_argument("--forecaster-lr", type=float, default=0.1)
    parser.add_argument("--forecaster-bits", type=int, default=16)
    parser.add_argument("--skip-forecaster", action="store_true")
    args = parser.parse_args()
    with threadpool_limits(limits=1):
        print("threads: " + ", ".join(f"{info['internal_api']} {info['num_threads']}" for info in threadpool_info())
              + f"; numba {os.environ.get('NUMBA_NUM_THREADS', 'default')}")
        with tempfile.TemporaryDirectory() as tmp:
            registry = Registry(os.path.join(tmp, "r.json"))
            mlp(registry, args.mlp_epochs)
            if not args.skip_forecaster:
                forecaster(registry, [int(v) for v in args.forecaster_epochs.split(",")], args.forecaster_lr,
                           args.forecaster_bits)


if __name__ == "__main__":
    main()
