"""Training on shares: one secure SGD step equals nn's plaintext step (MLP, both LSTM cells) within its
error bound, slopes p' from the forward powers, costs at the closed-formula floor, and the fail-closed checks."""

import dataclasses
import warnings

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra.numpy import arrays

import approx
from approx import PolynomialActivation, fit
from tests.strategies import POLY_CELL, POLY_GATE
from mpc.beaver import compute
from mpc.encoder import EncodingError
from mpc.tensor import Session
from mpc.training.activations import activate
from mpc.training.cost import forecaster_step_cost, mlp_step_cost, setup_cost
from mpc.training.models import SecureLSTMForecaster, SecureMLP
from mpc.training.precision import (OutOfRangeWarning, PreactivationRangeError, PublicBounds,
                                    TrainingPrecisionError, check_failure_budget, max_frac_bits)
from mpc.training.rounds import run, scale
from mpc.training.sgd import sgd_update
from nn.forecaster import Forecaster, ForecasterConfig
from nn.network import MLPConfig, Network, one_hot
from nn.training import TrainConfig, train


def plaintext_step(model, x, y, lr, l2):
    """nn's own SGD step on one batch (nn.training.train, one epoch of one batch, no clipping)."""
    train(model, (x, y), (x, y), TrainConfig(epochs=1, batch_size=len(x), lr=lr, l2=l2, clip_norm=None))
    return {k: v.copy() for k, v in model.params.items()}


def secure_step(model_class, plain, x, target, lr, l2, frac_bits=20, gradient_bound=None, masked_data=False,
                **kwargs):
    s = Session.in_process(2, frac_bits, seed=b"t" * 16)
    params = {k: s.share(v) for k, v in plain.params.items()}
    bounds = PublicBounds(allow_out_of_range=True, gradient_bound=gradient_bound)
    model = model_class(params, kwargs.pop("activations"), *kwargs.pop("args", ()), bounds)
    grads = {}
    shared = s.share(x)
    if masked_data:  # as secure_train: the data opened once beforehand, the batch a selection of its rows
        shared = s.share(np.concatenate([x[::-1], x])).open_masked()[len(x):]
        assert shared.mask is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        model.gradients(shared, s.share(target), grads)
    sgd_update(params, grads, lr, len(x), l2, bounds)
    return s, params


@given(st.integers(1, 5), st.integers(2, 6), st.sampled_from([0.0, 0.01]), st.integers(0, 2**31), st.booleans())
def test_one_secure_mlp_step_equals_the_plaintext_step(poly_registry, batch, hidden, l2, seed, masked_data):
    rng = np.random.default_rng(seed)
    config = MLPConfig(6, (hidden,), 3, POLY_GATE, "poly", False, "mse", POLY_GATE, dtype="float64")
    plain = Network(config, registry=poly_registry, seed=seed % 1000)
    x, labels = rng.uniform(0, 1, (batch, 6)), rng.integers(0, 3, batch)
    acts = {"hidden": approx.get(POLY_GATE, registry=poly_registry), "output": approx.get(POLY_GATE,
                                                                                          registry=poly_registry)}
    _, params = secure_step(SecureMLP, plain, x, one_hot(labels, 3), 0.5, l2, activations=acts,
                            masked_data=masked_data)
    expected = plaintext_step(plain, x, labels, 0.5, l2)
    for name, value in expected.items():
        diff = np.abs(params[name].reveal() - value)
        assert np.all(diff <= params[name].error), name
        assert np.max(diff) < 1e-5, name


@pytest.mark.parametrize("cell", ["standard", "linear"])
def test_one_secure_forecaster_step_equals_the_plaintext_step(poly_registry, cell):
    B, T, F, H, D = 3, 4, 5, 4, 3
    config = ForecasterConfig(F, H, D, POLY_GATE, POLY_CELL, cell, "square", "identity", dtype="float64")
    plain = Forecaster(config, registry=poly_registry, seed=1, output_bias=0.5)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (B, T, F)), rng.uniform(0, 1, (B, 1))
    acts = {role: act.activation for role, act in plain.activations().items()}
    before = {k: v.copy() for k, v in plain.params.items()}
    # rigorous gradient bounds grow geometrically through BPTT and would overflow the ring: declare one,
    # as a plaintext run on public data would (the true gradients here are below 1)
    s, params = secure_step(SecureLSTMForecaster, plain, x, y, 0.1, 0.01, gradient_bound=4.0, activations=acts,
                            args=(cell,))
    expected = plaintext_step(plain, x, y, 0.1, 0.01)
    for name, value in expected.items():
        diff = np.abs(params[name].reveal() - value)
        moved = np.abs(value - before[name])
        assert np.all(diff <= params[name].error), name  # rigorous, but loose through the recurrence
        assert np.max(diff) < 1e-5 and np.max(diff) < 1e-2 * np.max(moved), name


@given(st.sampled_from([POLY_GATE, POLY_CELL, "sigmoid-chebyshev-5[-8,8]"]), st.integers(0, 2**31))
def test_polynomial_and_its_slope_from_the_same_powers(name, seed):
    func, method, degree = name.split("[")[0].split("-")
    act = PolynomialActivation(fit(func, int(degree), method=method))
    lo, hi = act.interval
    z = np.random.default_rng(seed).uniform(0.99 * lo, 0.99 * hi, (3, 7))
    s = Session.in_process(2, 16)
    ((y, slope),) = run(activate([(s.share(z, magnitude=0.99 * hi), act, "layer")], PublicBounds()))
    assert np.all(np.abs(y.reveal() - act(z)) <= y.error)
    assert np.all(np.abs(slope.reveal() - act.derivative(z)) <= slope.error)
    # the slope costs no round: the powers p needs (odd p: t^2 for t^3) are those p' needs
    assert s.costs.rounds - 2 == int(np.ceil(np.log2(int(degree))))


@given(arrays(np.float64, (4, 3), elements=st.floats(-3, 3)))
def test_square_and_identity_slopes(z):
    s = Session.in_process(2, 16)
    (sq, d_sq), (ident, d_ident) = run(activate([(s.share(z), approx.get("square"), "a"),
                                                 (s.share(z), approx.get("identity"), "b")], PublicBounds()))
    assert np.all(np.abs(sq.reveal() - z * z) <= sq.error) and d_ident is None
    assert np.all(np.abs(d_sq.reveal() - 2 * z) <= d_sq.error)
    assert np.array_equal(ident.reveal(), s.share(z).reveal())


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31))
def test_transposed_matrix_products_within_their_bounds(n, k, m, seed):
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(-2, 2, (k, n)), rng.uniform(-2, 2, (k, m)), rng.uniform(-2, 2, (n, m))
    s = Session.in_process(2, 16)
    sa, sb, sc = s.share(a), s.share(b), s.share(c)
    tn, nt = compute([("matmul_tn", sa, sb), ("matmul_nt", sc, sb)])
    assert np.all(np.abs(tn.reveal() - a.T @ b) <= tn.error)
    assert np.all(np.abs(nt.reveal() - c @ b.T) <= nt.error)
    assert s.provider.counts["matmul"] == n * m + n * k


@given(st.floats(1e-7, 10.0), arrays(np.float64, 20, elements=st.floats(-4, 4)))
def test_scale_keeps_a_small_constant_precise(c, x):
    s = Session.in_process(2, 20)
    y = scale(s.share(x), c)
    assert np.all(np.abs(y.reveal() - c * x) <= y.error)
    # the input's and the truncations' ulps, and c to 2^-21 relative: not c rounded to 2^-20 absolute
    assert y.error < (c + 4) * s.ulp + 1e-6 * c * np.max(np.abs(x), initial=0)


@pytest.mark.parametrize("truncation,masked_data", [("local", True), ("local", False), ("dealer", True)])
@pytest.mark.parametrize("sizes,batch", [((6, 5, 3), 4), ((8, 6, 5, 2), 2)])
def test_mlp_step_costs_match_the_formula_at_the_floor(poly_registry, sizes, batch, truncation, masked_data):
    s = Session.in_process(2, 16, truncation=truncation)
    act = approx.get(POLY_GATE, registry=poly_registry)
    rng = np.random.default_rng(0)
    params = {}
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        params[f"layer{k}.weight"] = s.share(rng.uniform(-0.3, 0.3, (n_in, n_out)))
        params[f"layer{k}.bias"] = s.share(rng.uniform(-0.3, 0.3, n_out))
    model = SecureMLP(params, {"hidden": act, "output": act}, PublicBounds())
    x = s.share(rng.uniform(0, 1, (3 * batch, sizes[0])))
    if masked_data:  # the set-up: every sample masked and opened once, the batch is a selection of its rows
        x.open_masked()
        assert s.stats().bytes_per_party == setup_cost(x.shape)["bytes_per_party"] == 8 * x.shares[0].size
    before = s.stats()
    model.gradients(x[rng.permutation(3 * batch)[:batch]], s.share(np.full((batch, sizes[-1]), 0.5)), {})
    stats = s.stats()
    cost = mlp_step_cost(sizes, batch, truncation, masked_data=masked_data)
    assert stats.rounds - before.rounds == cost["rounds"] == stats.floor_rounds == cost["floor_rounds"]
    sent = [after - start for after, start in zip(stats.bytes_by_party, before.bytes_by_party)]
    assert sent == [cost["bytes_per_party"]] * 2 == [stats.floor_bytes_per_party - before.floor_bytes_per_party] * 2
    assert stats.triples["truncation"] == cost["truncated"]  # each opened once in dealer mode, none locally
    # the data's opening saves its bytes, the weights' are still opened every step
    assert mlp_step_cost(sizes, batch, masked_data=False)["bytes_per_party"] - mlp_step_cost(sizes, batch)["bytes_per_party"] \
        == 8 * batch * sizes[0]


@pytest.fixture(scope="module")
def narrow_registry(tmp_path_factory):
    """The test polynomials and a tanh on [-1, 1], whose scale 1 needs no truncation."""
    from approx import Registry

    reg = Registry(tmp_path_factory.mktemp("narrow") / "r.json")
    for approximation in (fit("sigmoid", 3), fit("tanh", 3), fit("tanh", 3, interval=(-1.0, 1.0))):
        reg.add(approximation)
    return reg


@pytest.mark.parametrize("truncation,cell_activation,masked_data", [
    ("local", POLY_CELL, True), ("local", POLY_CELL, False), ("dealer", POLY_CELL, True),
    ("dealer", "tanh-chebyshev-3[-1,1]", True)])
@pytest.mark.parametrize("cell", ["standard", "linear"])
@pytest.mark.parametrize("B,T,F,H,D", [(1, 2, 1, 1, 1), (3, 4, 5, 4, 3), (2, 3, 2, 5, 2)])
def test_forecaster_step_costs_match_the_formula(narrow_registry, cell, B, T, F, H, D, truncation, cell_activation,
                                                 masked_data):
    s = Session.in_process(2, 16, truncation=truncation)
    plain = Forecaster(ForecasterConfig(F, H, D, POLY_GATE, cell_activation, cell, "square", "identity",
                                        dtype="float64"), registry=narrow_registry, seed=1)
    acts = {role: act.activation for role, act in plain.activations().items()}
    model = SecureLSTMForecaster({k: s.share(v) for k, v in plain.params.items()}, acts, cell, PublicBounds(True))
    x = s.share(np.zeros((B, T, F)))
    if masked_data:  # the set-up: sliding windows' rows (B + T - 1 of them) masked and opened once
        rows = s.share(np.zeros((B + T - 1, F))).open_masked()
        assert s.stats().bytes_per_party == setup_cost(rows.shape)["bytes_per_party"]
        x = [rows[np.arange(B) + t] for t in range(T)]
    before = s.stats()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        model.gradients(x, s.share(np.zeros((B, 1))), {})
    stats = s.stats()
    cost = forecaster_step_cost(B, T, F, H, D, cell, truncation, () if cell_activation == POLY_CELL else ("cell",),
                                masked_data=masked_data)
    sent = [after - start for after, start in zip(stats.bytes_by_party, before.bytes_by_party)]
    assert sent == [cost["bytes_per_party"]] * 2 == [stats.floor_bytes_per_party - before.floor_bytes_per_party] * 2
    assert stats.rounds - before.rounds == cost["rounds"] and stats.floor_rounds == cost["floor_rounds"]
    assert stats.triples["truncation"] - before.triples["truncation"] == cost["truncated"]
    if truncation == "local":
        assert stats.rounds - before.rounds == stats.floor_rounds + 1  # one drain round off the critical path


def test_out_of_range_preactivations_are_refused_or_warned(poly_registry):
    act = approx.get(POLY_GATE, registry=poly_registry)  # interval [-8, 8]
    s = Session.in_process(2, 16)
    z = s.share(np.zeros((2, 2)), magnitude=9.0)
    with pytest.raises(PreactivationRangeError, match="layer1: the public bound .* exceeds the interval"):
        run(activate([(z, act, "layer1")], PublicBounds()))
    bounds = PublicBounds(allow_out_of_range=True)
    with pytest.warns(OutOfRangeWarning, match="layer1"):
        run(activate([(z, act, "layer1")], bounds))
    assert bounds.conditional and bounds.ratios["layer1"] > 1.0


def test_failure_budget_refuses_and_names_the_bits_that_fit():
    assert check_failure_budget(1e-10, 16, 1000) == pytest.approx(1e-7)
    with pytest.raises(TrainingPrecisionError, match=r"use at most 14 fractional bits"):
        check_failure_budget(1e-9, 16, 10_000)  # 1e-5 > 1e-6: 4^-2 brings it to 6.25e-7
    with pytest.raises(TrainingPrecisionError, match="no setting with 8 or more fractional bits"):
        check_failure_budget(1e-3, 16, 10_000)


def test_failure_bound_of_a_step_scales_as_four_to_the_bits(poly_registry):
    act = approx.get(POLY_GATE, registry=poly_registry)
    bounds = {}
    for f in (12, 16):
        s = Session.in_process(2, f, seed=b"f" * 16)
        params = {"layer0.weight": s.share(np.full((4, 3), 0.1)), "layer0.bias": s.share(np.zeros(3))}
        SecureMLP(params, {"hidden": act, "output": act}, PublicBounds()).gradients(
            s.share(np.ones((2, 4))), s.share(np.ones((2, 3))), {})
        bounds[f] = s.stats().truncation_failure_bound
    # 4^f, a little less: the magnitudes carry ulp-sized terms, larger at fewer bits
    assert 0.99 * 4.0**4 <= bounds[16] / bounds[12] <= 4.0**4
    assert max_frac_bits(bounds[16], 16, 10) == 16 + int(np.floor(np.log(1e-6 / (10 * bounds[16])) / np.log(4)))


def train_program(session, registry, x, y, weights):
    """secure_train of a small MLP for one epoch, as every party runs it."""
    from mpc.training.loop import Samples, TrainSettings, secure_train

    act = approx.get(POLY_GATE, registry=registry)
    mine = session.comm.position(1) is not None
    samples = Samples(x if mine else None, y if mine else None, x.shape, y.shape, 1.0, 1.0)
    settings = TrainSettings(epochs=1, batch_size=4, lr=1.0, failure_budget=1e-3, allow_out_of_range=True,
                             weight_bound=2.0, gradient_bound=4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        result = secure_train(session, "mlp", {"sizes": (6, 5, 3)}, {"hidden": act, "output": act}, samples,
                              settings, weights if session.comm.position(0) is not None else None,
                              {k: 0.5 for k in weights})
    return result.weights, result.step_cost


def test_secure_train_in_process_and_over_tcp_give_the_same_model(poly_registry):
    from mpc.launch import run

    rng = np.random.default_rng(7)
    x, labels = rng.uniform(0, 1, (10, 6)), rng.integers(0, 3, 10)
    plain = Network(MLPConfig(6, (5,), 3, POLY_GATE, "poly", False, "mse", POLY_GATE, dtype="float64"), registry=poly_registry,
                    seed=3)
    weights = {k: np.clip(v, -0.5, 0.5) for k, v in plain.params.items()}
    args = (str(poly_registry.path), x, one_hot(labels, 3), weights)
    local = run(train_program, 2, args=args, frac_bits=16, seed=b"r" * 16)[0]["value"]
    remote = run(train_program, 2, transport="tcp", args=args, frac_bits=16, seed=b"r" * 16, timeout=30.0)
    assert remote[1]["value"][0] is None  # the weights are opened to the model owner only
    for name, value in local[0].items():
        assert np.array_equal(remote[0]["value"][0][name], value), name
    untimed = [dataclasses.replace(cost, offline_seconds=0.0) for cost in (remote[0]["value"][1], local[1])]
    assert untimed[0] == untimed[1]  # the same costs, the dealer's time aside
    for name, value in weights.items():
        plain.params[name][...] = value
    train(plain, (x, labels), (x, labels), TrainConfig(epochs=1, batch_size=4, lr=1.0, clip_norm=None))
    for name, value in plain.params.items():  # three steps, 16 fractional bits
        assert np.max(np.abs(local[0][name] - value)) < 1e-3, name


def small_run(poly_registry, session, keep_shared=False, **settings):
    from mpc.training.loop import Samples, TrainSettings, secure_train

    rng = np.random.default_rng(8)
    x, labels = rng.uniform(0, 1, (10, 6)), rng.integers(0, 3, 10)
    plain = Network(MLPConfig(6, (5,), 3, POLY_GATE, "poly", False, "mse", POLY_GATE, dtype="float64"), registry=poly_registry,
                    seed=4)
    act = approx.get(POLY_GATE, registry=poly_registry)
    samples = Samples.public(x, one_hot(labels, 3))
    options = {"epochs": 2, "batch_size": 4, "lr": 1.0, "allow_out_of_range": True, "weight_bound": 2.0,
               "gradient_bound": 4.0, **settings}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        return secure_train(session, "mlp", {"sizes": (6, 5, 3)}, {"hidden": act, "output": act}, samples,
                            TrainSettings(**options), plain.params, {k: 0.6 for k in plain.params},
                            validation=samples, keep_shared=keep_shared)


def test_secure_train_opens_the_data_once_and_a_step_costs_the_formula(poly_registry):
    result = small_run(poly_registry, Session.in_process(2, 12), failure_budget=1.0)
    # the set-up: training and validation samples (10 x 6 each) masked and opened in one round
    assert result.setup_cost.rounds == setup_cost((10, 6), (10, 6))["rounds"] == 1
    assert result.setup_cost.bytes_per_party == setup_cost((10, 6), (10, 6))["bytes_per_party"] == 8 * 120
    cost = mlp_step_cost((6, 5, 3), 4)
    assert result.step_cost.rounds == result.step_cost.floor_rounds == cost["rounds"]
    assert result.step_cost.bytes_per_party == result.step_cost.floor_bytes_per_party == cost["bytes_per_party"]
    assert result.step_cost.triples["mask"] == cost["bytes_per_party"] // 8  # no mask for the batch


def test_the_plan_bounds_the_run_and_a_run_over_budget_is_refused_before_it_starts(poly_registry):
    result = small_run(poly_registry, Session.in_process(2, 12), failure_budget=1.0)
    assert 0 < result.truncation_failure_bound <= result.planned_failure_bound
    assert result.conditional and len(result.validation_loss) == 2 and result.weights is not None
    session = Session.in_process(2, 16)
    with pytest.raises(TrainingPrecisionError, match="use at most 1[0-5] fractional bits"):
        small_run(poly_registry, session, failure_budget=result.planned_failure_bound)
    assert session.stats().rounds == 0  # refused before anything was shared or opened
    with pytest.raises(PreactivationRangeError, match="layer0: the public bound"):
        small_run(poly_registry, session, failure_budget=1.0, allow_out_of_range=False, weight_bound=20.0)
    assert session.stats().rounds == 0


def test_a_violated_declared_weight_bound_is_refused_and_shares_can_be_kept(poly_registry):
    from mpc.sharing import reconstruct

    with pytest.raises(TrainingPrecisionError, match="above the declared bound 0.61"):
        small_run(poly_registry, Session.in_process(2, 12, seed=b"w" * 16), failure_budget=1.0, weight_bound=0.61, lr=8.0)
    # kept shared, the weights are opened to nobody: the same model, as shares
    kept = small_run(poly_registry, Session.in_process(2, 12, seed=b"w" * 16), True, failure_budget=1.0, weight_bound=0.61,
                     lr=8.0)
    opened = small_run(poly_registry, Session.in_process(2, 12, seed=b"w" * 16), failure_budget=1.0, lr=8.0)
    assert kept.weights is None and set(kept.shares) == set(opened.weights)
    for name, shares in kept.shares.items():
        assert shares.shape[0] == 2
        np.testing.assert_array_equal(reconstruct(shares).view(np.int64) / 2.0**12, opened.weights[name])


@pytest.mark.parametrize("cell", ["standard", "linear"])
def test_prediction_on_shares_prepares_nothing_for_a_backward_pass(poly_registry, cell):
    B, T, F, H, D = 2, 3, 4, 3, 2
    plain = Forecaster(ForecasterConfig(F, H, D, POLY_GATE, POLY_CELL, cell, "square", "identity", dtype="float64"),
                       registry=poly_registry, seed=2)
    acts = {role: act.activation for role, act in plain.activations().items()}
    x = np.random.default_rng(1).uniform(0, 1, (B, T, F))
    s = Session.in_process(2, 16)
    model = SecureLSTMForecaster({k: s.share(v) for k, v in plain.params.items()}, acts, cell, PublicBounds(True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        y = model.predict(s.share(x))
    assert np.max(np.abs(y.reveal() - plain.forward(x))) < 1e-4
    # forward openings only (per layer and step, in units of B H: h, t and t^2 of four gates, i, g, f, o, s
    # or the cell output, and for the standard cell s' and t, t^2 of the cell state), and the reveal
    per_layer = 14 * T - 1 if cell == "linear" else 17 * T - 2
    weights = 4 * H * (F + H) + 4 * H * 2 * H + H * D + D
    assert s.stats().bytes_per_party == 8 * (2 * per_layer * B * H + weights + T * B * F + 2 * B * D + B)


@pytest.mark.parametrize("cell", ["standard", "linear"])
def test_secure_train_of_the_forecaster_follows_its_plaintext_twin(poly_registry, cell):
    from mpc.training.loop import Samples, TrainSettings, secure_train

    B, T, F, H, D = 2, 3, 4, 3, 2
    twin = Forecaster(ForecasterConfig(F, H, D, POLY_GATE, POLY_CELL, cell, "square", "identity", dtype="float64"),
                      registry=poly_registry, seed=5, output_bias=0.5)
    acts = {role: act.activation for role, act in twin.activations().items()}
    rng = np.random.default_rng(2)
    series = rng.uniform(0, 1, (5 + T - 1, F))  # windows sliding over one sequence of rows, as make_dataset's
    x, y = np.stack([series[i:i + T] for i in range(5)]), rng.uniform(0, 1, (5, 1))
    init = {k: v.copy() for k, v in twin.params.items()}
    settings = TrainSettings(epochs=2, batch_size=B, lr=0.1, l2=0.01, loss_scale=64, failure_budget=float("inf"),
                             allow_out_of_range=True, weight_bound=4.0, gradient_bound=4.0 * 64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        result = secure_train(Session.in_process(2, 17, seed=b"z" * 16), "forecaster",  # 18+ bits could overflow the ring
                              {"input_size": F, "hidden_size": H, "dense_size": D, "cell": cell}, acts,
                              Samples.public(x, y, sliding=True), settings, init, {k: 1.0 for k in init},
                              validation=Samples.public(x, y), test=Samples.public(x, y))
    train(twin, (x, y), (x, y), TrainConfig(epochs=2, batch_size=B, lr=0.1, l2=0.01, clip_norm=None, patience=3))
    # after the last epoch: the validation loss (one number) and the test predictions, both computed on shares
    assert len(result.validation_loss) == 2 and result.test_predictions.shape == (5, 1)
    plain = twin.forward(x)
    assert np.max(np.abs(result.test_predictions - plain)) < 1e-3
    assert result.validation_loss[-1] == pytest.approx(0.5 * np.mean(np.sum((plain - y) ** 2, axis=1)), abs=1e-3)
    # the set-up opens each row of the sliding windows once, and the validation and test windows' T F each
    assert result.setup_cost.bytes_per_party == setup_cost((5 + T - 1, F), (5 * T, F), (5 * T, F))["bytes_per_party"]
    assert result.step_cost.bytes_per_party == forecaster_step_cost(B, T, F, H, D, cell)["bytes_per_party"]
    with pytest.raises(ValueError, match="not windows sliding"):
        Samples.public(x[::-1], y, sliding=True)
    for name, value in twin.params.items():  # 6 steps (the last batch of each epoch holds one window)
        assert np.max(np.abs(result.weights[name] - value)) < 16 * 2.0**-17, name  # a few units in the last place


def test_a_run_whose_bounds_grow_past_the_plan_is_refused_before_its_budget_is_passed(poly_registry):
    # without a declared weight bound the public bounds grow with every step, past what the plan saw
    free = {"weight_bound": None, "lr": 4.0}
    allowed = small_run(poly_registry, Session.in_process(2, 12), failure_budget=1.0, **free)
    assert allowed.truncation_failure_bound > allowed.planned_failure_bound
    budget = (allowed.planned_failure_bound + allowed.truncation_failure_bound) / 2
    session = Session.in_process(2, 12)
    with pytest.raises((TrainingPrecisionError, EncodingError), match="budget|above"):
        small_run(poly_registry, session, failure_budget=budget, **free)
    assert session.truncation_failure_bound <= budget  # no gate ran past the budget
