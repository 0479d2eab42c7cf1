"""Training on secret shares (2 parties, in process): the MLP on the digits and the seed forecaster, with both
truncations.

Run:  python benchmarks/bench_secure_train.py [--mlp-epochs 20] [--forecaster-epochs 1] [--forecaster-lr 0.1]
                                             [--forecaster-bits 16] [--skip-mlp] [--skip-forecaster]

MLP 64 -> 32 -> 10, degree-3 Chebyshev sigmoid on [-8, 8] (hidden and output), square loss on one-hot
targets, batch 16, lr 2: the plan of ``approx secure train`` (``mpc.training.loop.plan_run``), then
trained on shares with local truncation at the most fractional bits whose truncation-failure bound over
the run stays within 1e-6 and with the dealer's truncation at 16 bits, each beside its plaintext twin
(nn, same seed, initial weights, batches and learning rate).  Forecaster (LSTM 58 -> 40 -> 40, 20
steps, linear cell, degree-3 Chebyshev sigmoid on [-2, 2] and tanh on [-1, 1], square hidden layer,
identity output), batch 64, lr 0.1: the plan with the declared bounds --weight-bound 4
--gradient-bound 4 --allow-out-of-range (accepted within 1e-6 at 16 bits with the dealer's
truncation), one SGD step's gradients against nn's with and without loss scaling, one step of each
truncation (rounds, bytes per party, seconds, beside the closed formulas and CrypTen), then epochs on
shares with the dealer's truncation beside the plaintext twin.  Figures per step: rounds and bytes sent
per party beside the floor (each secret operand of a product opened once, 8 bytes per element per party,
and with the dealer's truncation each truncated element once more; rounds: the circuit's depth in
openings), and seconds.  CrypTen 0.4.1 on this machine (issue figures, not rerun here): MLP
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
from mpc.forecaster import weight_bounds
from mpc.tensor import Session
from mpc.training.cost import forecaster_step_cost, mlp_step_cost
from mpc.training.loop import Samples, TrainSettings, plan_run, plan_step, secure_train
from mpc.training.models import SecureLSTMForecaster
from mpc.training.precision import FAILURE_BUDGET, PublicBounds, max_frac_bits
from mpc.training.sgd import sgd_update
from nn.network import MLPConfig, Network, one_hot
from nn.training import TrainConfig, train_to_the_last_epoch

CRYPTEN = {"mlp": {"rounds": 159, "bytes": 478e3, "epoch_seconds": 36.5, "accuracy": 0.956},
           "forecaster": {"rounds": 2378, "bytes": 243.5e6, "step_seconds": 11.6}}
FORECASTER = {"input_size": 58, "hidden_size": 40, "dense_size": 20, "cell": "linear"}


def add(registry, approximation) -> str:
    registry.add(approximation)
    return approximation.name


def cost_line(cost: dict, seconds: float) -> str:
    return (f"{cost['rounds']} rounds (floor {cost['floor_rounds']}), {cost['bytes_per_party'] / 1e6:.3f} MB per party "
            f"(floor {cost['floor_bytes_per_party'] / 1e6:.3f} MB), {seconds:.2f} s")


def versus(cost: dict, seconds: float, crypten: dict) -> str:
    """Our figures as ratios against CrypTen's (CrypTen / ours: how many times fewer)."""
    text = (f"CrypTen {crypten['rounds']} rounds ({crypten['rounds'] / cost['rounds']:.1f}x ours), "
            f"{crypten['bytes'] / 1e6:.1f} MB ({crypten['bytes'] / cost['bytes_per_party']:.1f}x ours)")
    if "step_seconds" in crypten:
        text += f", {crypten['step_seconds']} s ({crypten['step_seconds'] / seconds:.1f}x ours)"
    return text


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
    planned = plan_run("mlp", {"sizes": (64, 32, 10)}, acts, train_samples, settings, bounds, None, "auto",
                       test=Samples.public(xte, one_hot(yte, 10)))
    print(f"MLP, digits: plaintext twin max |w| = {w_max:.2f} (declared weight bound 4); a step's failure bound at "
          f"16 bits {at16:.3g}, so {steps} steps fit 1e-6 with at most {f} fractional bits of local truncation; "
          f"approx secure train plans {planned.truncation} truncation at {planned.frac_bits} bits (local needs 8)")
    for mode, bits in (("local", f), ("dealer", 16)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = secure_train(Session.in_process(2, bits, truncation=mode), "mlp", {"sizes": (64, 32, 10)}, acts,
                                  train_samples, settings, init, bounds, test=Samples.public(xte, one_hot(yte, 10)))
        secure = Network(config, registry=registry)
        for k, v in result.weights.items():
            secure.params[k][...] = v
        accuracy = float(np.mean(secure.predict(xte) == yte))
        on_shares = float(np.mean(result.test_predictions.argmax(axis=1) == yte))
        epoch_seconds = float(np.mean(result.seconds_per_epoch))
        cost = result.step_cost.as_dict()
        formula = mlp_step_cost((64, 32, 10), 16, mode, update=True)
        print(f"  {mode} truncation, {bits} fractional bits, per step: "
              f"{cost_line(cost, epoch_seconds / -(-len(xtr) // 16))}; closed formula {formula['rounds']} rounds, "
              f"{formula['bytes_per_party'] / 1e6:.3f} MB; {versus(cost, 0, CRYPTEN['mlp'])}")
        print(f"    correlations per step (elements): {cost['triples']}")
        print(f"    {epoch_seconds:.2f} s per epoch on shares ({epoch_seconds / twin_epoch:.0f}x the plaintext twin's "
              f"{twin_epoch:.3f} s; CrypTen ~{CRYPTEN['mlp']['epoch_seconds']} s, "
              f"{CRYPTEN['mlp']['epoch_seconds'] / epoch_seconds:.0f}x ours)")
        print(f"    test accuracy after {epochs} epochs: {100 * accuracy:.2f} % on shares "
              f"(predicted on shares: {100 * on_shares:.2f} %), plaintext twin {100 * twin_accuracy:.2f} %; "
              f"truncation-failure bound of the run {result.truncation_failure_bound:.3g} "
              f"(planned {result.planned_failure_bound:.3g}; conditional on the declared bounds and on the "
              f"pre-activations inside [-8, 8]: public bound / interval up to "
              f"{max(result.range_ratios[-1].values()):.1f}, {len(caught)} warnings)")


def one_step(init: dict, acts: dict, x, y, frac_bits: int, truncation: str, loss_scale: int, lr: float):
    """One SGD step on shares (gradients and update): its session's costs, seconds and gradients."""
    s = Session.in_process(2, frac_bits, seed=b"g" * 16, truncation=truncation)
    params = {k: s.share(v) for k, v in init.items()}
    grads: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sx, sy = s.share(x), s.share(y)
        before = s.stats()
        start = time.perf_counter()
        # the declared bounds of the runs (the gradient bound in scaled units): the products stay below 2^62
        bounds = PublicBounds(True, 4.0, 4.0 * loss_scale)
        SecureLSTMForecaster(params, acts, "linear", bounds).gradients(sx, sy, grads, loss_scale)
        sgd_update(params, grads, lr, 64, 0.0, bounds, loss_scale)
        seconds = time.perf_counter() - start
    after = s.stats()
    cost = (after - before).as_dict()
    cost["truncated"] = cost["triples"]["truncation"]
    return cost, seconds, grads


def forecaster(registry, runs: list, lr: float, frac_bits: int) -> None:
    from nn.data import load_series
    from nn.evaluation import evaluate
    from nn.features import make_dataset
    from nn.forecaster import Forecaster, ForecasterConfig

    gate = add(registry, fit("sigmoid", 3, interval=(-2.0, 2.0)))
    cell = add(registry, fit("tanh", 3, interval=(-1.0, 1.0)))
    data = make_dataset(load_series("taylor", "timestamp", "load"))
    (xtr, ytr), (xva, yva) = data.part("train"), data.part("val")
    steps_per_epoch = -(-len(xtr) // 64)  # batch 64
    config = ForecasterConfig(58, 40, 20, gate, cell, "linear", "square", "identity")
    twin = Forecaster(config, registry=registry, seed=0, output_bias=float(ytr.mean()))
    init = {k: v.copy() for k, v in twin.params.items()}
    acts = {role: act.activation for role, act in twin.activations().items()}
    bounds = weight_bounds(init)
    declared = TrainSettings(1, 64, lr, 0.0, 0, 1, FAILURE_BUDGET, allow_out_of_range=True, weight_bound=4.0,
                             gradient_bound=4.0)
    print(f"forecaster, batch 64, linear cell, lr {lr}, --weight-bound 4 --gradient-bound 4 --allow-out-of-range:")
    start = time.perf_counter()
    planned = plan_run("forecaster", FORECASTER, acts, Samples.public(xtr, ytr, sliding=True), declared, bounds, None,
                       "auto", Samples.public(xva, yva))
    local16 = plan_step("forecaster", FORECASTER, acts, Samples.public(xtr, ytr), declared, bounds, 16)
    print(f"  approx secure train's plan for one epoch within 1e-6: {planned.truncation} truncation at "
          f"{planned.frac_bits} fractional bits, failure bound {planned.failure_bound:g} (planned in "
          f"{time.perf_counter() - start:.1f} s); local truncation at 16 bits would fail with probability up to "
          f"{local16['truncation_failure_bound']:.3g} per step")
    x, y = xtr[:64], ytr[:64]
    _, plain = twin.loss_and_grads(x, y)
    for scale_ in (1, 256):
        _, _, grads = one_step(init, acts, x, y, frac_bits, "dealer", scale_, lr)
        worst = max((float(np.max(np.abs(grads[k].reveal() / (64 * scale_) - g)) / np.max(np.abs(g))), k)
                    for k, g in plain.items())
        print(f"  loss scale {scale_:4d}, dealer truncation: worst gradient error {100 * worst[0]:.3f} % of the "
              f"tensor's largest ({worst[1]})")
    for mode in ("local", "dealer"):
        cost, seconds, _ = one_step(init, acts, x, y, frac_bits, mode, 1, lr)
        formula = forecaster_step_cost(64, 20, 58, 40, 20, "linear", mode, ("cell",), update=True)
        print(f"  one step, {mode} truncation: {cost_line(cost, seconds)}, {cost['truncated']} elements truncated; "
              f"closed formula {formula['rounds']} rounds (floor {formula['floor_rounds']}), "
              f"{formula['bytes_per_party'] / 1e6:.3f} MB; {versus(cost, seconds, CRYPTEN['forecaster'])}")
    for epochs in runs:
        settings = TrainSettings(epochs, 64, lr, 0.0, 0, 1, FAILURE_BUDGET, allow_out_of_range=True, weight_bound=4.0,
                                 gradient_bound=4.0)
        run_plan = plan_run("forecaster", FORECASTER, acts, Samples.public(xtr, ytr, sliding=True), settings, bounds,
                            frac_bits, "auto", Samples.public(xva, yva))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = secure_train(Session.in_process(2, run_plan.frac_bits, truncation=run_plan.truncation),
                                  "forecaster", FORECASTER, acts, Samples.public(xtr, ytr, sliding=True), settings,
                                  init, bounds,
                                  validation=Samples.public(xva, yva))
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
        mape, twin_mape = evaluate(secure, data).test.mape, evaluate(twin, data).test.mape
        epoch_seconds = float(np.mean(result.seconds_per_epoch))
        print(f"  {epochs} epoch(s) of {steps_per_epoch} steps, {run_plan.truncation} truncation at "
              f"{run_plan.frac_bits} bits (run failure bound {result.truncation_failure_bound:g}, budget 1e-6): "
              f"{epoch_seconds:.1f} s per epoch on shares ({epoch_seconds / steps_per_epoch:.2f} s per step; "
              f"plaintext twin {twin_epoch:.2f} s per epoch, {epoch_seconds / twin_epoch:.0f}x); step "
              f"{cost_line(result.step_cost.as_dict(), epoch_seconds / steps_per_epoch)}; set-up "
              f"{result.setup_cost.bytes_per_party / 1e6:.3f} MB (the data masked and opened once)")
        print(f"  weights after {epochs} epoch(s): largest |secure - plaintext| {rel:.2e} of the tensor's largest "
              f"({worst}); test MAPE {mape:.3f} % on shares, {twin_mape:.3f} % plaintext twin "
              f"(relative difference {abs(mape - twin_mape) / twin_mape:.2%})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp-epochs", type=int, default=20)
    parser.add_argument("--forecaster-epochs", default="1",
                        help="comma-separated: one run from the same start per entry, e.g. 1,15 (none: 0)")
    parser.add_argument("--forecaster-lr", type=float, default=0.1)
    parser.add_argument("--forecaster-bits", type=int, default=16)
    parser.add_argument("--skip-mlp", action="store_true")
    parser.add_argument("--skip-forecaster", action="store_true")
    args = parser.parse_args()
    with threadpool_limits(limits=1):
        print("threads: " + ", ".join(f"{info['internal_api']} {info['num_threads']}" for info in threadpool_info())
              + f"; numba {os.environ.get('NUMBA_NUM_THREADS', 'default')}")
        with tempfile.TemporaryDirectory() as tmp:
            registry = Registry(os.path.join(tmp, "r.json"))
            if not args.skip_mlp:
                mlp(registry, args.mlp_epochs)
            if not args.skip_forecaster:
                forecaster(registry, [int(v) for v in args.forecaster_epochs.split(",") if int(v)],
                           args.forecaster_lr, args.forecaster_bits)


if __name__ == "__main__":
    main()
