"""Secure gates and polynomial activations on shares: results within their bounds, costs at the floor."""

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra.numpy import arrays

from approx import PolynomialActivation, fit
from mpc.beaver import compute
from mpc.polynomial import evaluate, power_plan
from mpc.provider import ReuseError, TrustedThirdParty
from mpc.encoder import EncodingError
from mpc.tensor import Session

# |x|, |y| <= 10 and f <= 16: products below 2^39 at scale 2^2f, a 2-party truncation fails with
# probability below 2^-24 per element (test_truncation_failure_is_bounded_and_large_products_refused)
vectors = arrays(np.float64, st.integers(1, 50), elements=st.floats(-10, 10))


def within(shared, exact):
    return np.all(np.abs(shared.reveal() - exact) <= shared.error)


@given(vectors, st.integers(2, 4), st.integers(8, 16), st.data())
def test_gates_stay_within_their_error_bounds(x, parties, frac_bits, data):
    y = data.draw(arrays(np.float64, x.shape, elements=st.floats(-10, 10)))
    c = data.draw(st.floats(-10, 10))
    s = Session.in_process(parties, frac_bits)
    sx, sy = s.share(x), s.share(y)
    assert within(sx + sy, x + y)
    assert within(sx - sy, x - y)
    assert within(sx + c, x + c)
    assert within(sx * c, x * c)
    assert within(sx * sy, x * y)
    assert within(sx.square(), x * x)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(2, 3), st.integers(0, 2**31))
def test_matmul_within_bound(n, k, m, parties, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-5, 5, (n, k)), rng.uniform(-5, 5, (k, m))
    s = Session.in_process(parties, 16)
    assert within(s.share(a).matmul(s.share(b)), a @ b)
    assert within(s.share(a) @ s.share(b), a @ b)  # the operator, as numpy and CrypTen spell it


def test_multiplication_and_matmul_bytes_are_at_the_floor():
    s = Session.in_process(2, 16)
    x, y = s.share(np.ones(1000)), s.share(np.ones(1000))
    assert s.stats().bytes_per_party == 0  # inputs are shared without communication
    x * y
    stats = s.stats()
    assert stats.bytes_by_party == (16 * 1000,) * 2 and stats.rounds == 1  # open x - a and y - b: 2 x 8 bytes
    a, b = s.share(np.ones((4, 5))), s.share(np.ones((5, 3)))
    a.matmul(b)
    assert s.stats().bytes_per_party == 16 * 1000 + 8 * (20 + 15)
    x.square()  # x was opened already: no traffic, no round
    stats = s.stats()
    assert stats.bytes_per_party == 16 * 1000 + 8 * (20 + 15) == stats.floor_bytes_per_party
    assert stats.rounds == 2 and stats.floor_rounds == 1
    assert s.provider.counts == {"mask": 2000 + 35, "product": 2000, "matmul": 12, "truncation": 0}
    assert stats.offline_bytes == 8 * (2000 + 12)  # the last party's shares of the products


@pytest.mark.parametrize("parties", [2, 3])
def test_dealer_truncation_is_counted_in_the_floor(parties):
    s = Session.in_process(parties, 16, truncation="dealer")
    x = s.share(np.full(10, 0.5))
    y = (x * x).reveal()
    stats = s.stats()
    assert np.allclose(y, 0.25, atol=4 * s.ulp) and stats.truncation == "dealer"
    # square: 1 round, 10 elements to n - 1 others; truncation: 1 round, 10 elements; reveal: 1 round, 10
    assert stats.rounds == 3 == stats.floor_rounds
    assert stats.bytes_per_party == (parties - 1) * 8 * 30 == stats.floor_bytes_per_party
    assert stats.truncation_failure_bound == 0.0 and stats.triples["truncation"] == 10


def test_the_truncation_mode_defaults_by_parties_and_local_needs_two():
    assert Session.in_process(2).truncation == "local" and Session.in_process(3).truncation == "dealer"
    with pytest.raises(ValueError, match="2-party protocol"):
        Session.in_process(3, truncation="local")
    with pytest.raises(ValueError, match="unknown truncation"):
        Session.in_process(2, truncation="exact")
    s = Session.in_process(2)
    s.set_truncation("dealer")
    s.share(np.ones(2))
    with pytest.raises(RuntimeError, match="before the computation starts"):
        s.set_truncation("local")


def test_correlations_and_masks_are_used_once():
    dealer = TrustedThirdParty(2)
    a, b = dealer.mask((3,)), dealer.mask((3,))
    product = dealer.products([("mul", a.id, b.id)])
    product.consume()
    with pytest.raises(ReuseError):
        product.consume()
    x, y = np.zeros(3), np.ones(3)
    a.bind(x)
    a.bind(x)
    with pytest.raises(ReuseError):
        a.bind(y)  # x - a and y - a would reveal x - y
    assert np.array_equal(product.shares[0].sum(axis=0, dtype=np.uint64),
                          a.shares.sum(axis=0, dtype=np.uint64) * b.shares.sum(axis=0, dtype=np.uint64))


@given(st.integers(2, 12), st.integers(1, 5), st.integers(1, 4), st.integers(2, 3), st.integers(0, 2**31))
def test_rows_of_a_matrix_opened_once_reuse_its_opening(n, k, m, parties, seed):
    rng = np.random.default_rng(seed)
    data, w, d = rng.uniform(-2, 2, (n, k)), rng.uniform(-2, 2, (k, m)), rng.uniform(-2, 2, (3, m))
    s = Session.in_process(parties, 16)
    x = s.share(data).open_masked()  # the set-up: x - a opened once
    setup = s.stats()
    assert setup.rounds == 1 and setup.bytes_per_party == 8 * (parties - 1) * n * k
    assert setup.floor_rounds == 0  # opened ahead of time: it can share the first product's round
    rows = rng.integers(0, n, 3)  # a batch, with repeats
    sw, sd = s.share(w), s.share(d)
    batch = x[rows]
    assert batch.mask.id == x.mask.id and np.array_equal(batch.opened, x.opened[rows])
    forward, gradient = compute([("matmul", batch, sw), ("matmul_tn", batch, sd)])
    later = x[1:][::-1]  # rows of rows keep the stored mask's rows
    assert later.mask.id == x.mask.id and list(later.mask.rows) == list(range(n - 1, 0, -1))
    square = later * later
    # only w and d were opened: the batch reused the opening of x (3 parties open each truncated element too)
    stats = s.stats()
    assert stats.floor_bytes_per_party - setup.bytes_per_party == 8 * (parties - 1) * (
        k * m + 3 * m + stats.triples["truncation"])
    assert within(forward, data[rows] @ w) and within(gradient, data[rows].T @ d)
    assert within(square, data[1:][::-1] ** 2)
    # a slice that is not a row selection is a new secret: masked afresh
    column = x[:, 0]
    assert column.mask is None
    with pytest.raises(ReuseError):
        batch.mask.bind(column)


def test_the_dealer_serves_rows_of_a_stored_mask_and_refuses_rows_outside_it():
    dealer = TrustedThirdParty(2)
    a, b = dealer.mask((5, 3)), dealer.mask((2, 4))
    rows = a.take([4, 0])
    product = dealer.products([("matmul_tn", rows.handle, b.handle)]).consume()[0]
    value = lambda shares: shares.sum(axis=0, dtype=np.uint64)  # noqa: E731
    assert np.array_equal(value(product), np.matmul(value(a.shares)[[4, 0]].T, value(b.shares)))
    assert np.array_equal(value(a.take([4, 0]).take([1]).shares), value(a.shares)[[0]])
    assert dealer.counts["matmul"] == 12 and dealer.offline_bytes == 8 * 12
    for bad, message in [([a.id, [5]], "outside mask"), ([a.id, [-1]], "outside mask"), ([99, [0]], "not live"),
                         ([a.id, [[0]]], "mask id or"), ([a.id, [0.5]], "mask id or"), (True, "mask id or")]:
        with pytest.raises(ValueError, match=message):
            dealer.products([("matmul_tn", bad, b.handle)])


def test_the_dealer_forgets_masks_whose_tensors_are_gone():
    s = Session.in_process(2, 16)
    w = s.share(np.ones((4, 4)))
    x = s.share(np.ones((1, 4)))
    for _ in range(50):  # like the steps of a recurrence: w is reused, each step's x is new
        x = x.matmul(w)
        x = x.mul_public(0.25)
    assert s.provider.counts["mask"] == 16 + 50 * 4  # w masked once, each step's x once
    assert s.provider.live_masks == 1  # only w's is remembered: the steps' x are gone
    np.testing.assert_allclose(x.reveal(), np.ones((1, 4)), atol=1e-3)


def test_power_tree_depths():
    assert len(power_plan({3})) == 2 and len(power_plan({3, 5, 7})) == 3
    for k in range(2, 32):
        levels = power_plan({k})
        assert len(levels) == int(np.ceil(np.log2(k)))
        made = {1} | {p for level in levels for p, _, _ in level}
        assert all(i in made and j in made for level in levels for _, i, j in level)


@pytest.mark.parametrize("func,degree,rounds", [("sigmoid", 3, 2), ("tanh", 3, 2), ("tanh", 7, 3), ("sigmoid", 7, 3)])
def test_odd_polynomials_use_the_least_rounds(func, degree, rounds):
    act = PolynomialActivation(fit(func, degree, method="minimax"))
    s = Session.in_process(2, 16)
    x = s.share(np.linspace(*act.interval, 101), magnitude=max(map(abs, act.interval)))
    evaluate(x, act)
    assert s.costs.rounds == rounds


@given(st.sampled_from(["sigmoid", "tanh", "swish"]), st.integers(1, 9), st.sampled_from(["chebyshev", "minimax"]),
       st.integers(2, 3), st.integers(10, 16), st.integers(0, 2**31))
def test_secure_polynomial_within_its_bound_and_end_to_end(func, degree, method, parties, frac_bits, seed):
    # frac_bits <= 16 keeps the chance of a 2-party truncation failure below 2^-31 per element (see the next test)
    approx_ = fit(func, degree, method=method)
    act = PolynomialActivation(approx_)
    lo, hi = act.interval
    xv = np.random.default_rng(seed).uniform(lo, hi, 200)
    s = Session.in_process(parties, frac_bits)
    y = evaluate(s.share(xv, magnitude=max(abs(lo), abs(hi))), act)
    out = y.reveal()
    assert np.all(np.abs(out - act(xv)) <= y.error)
    from approx.targets import get_target

    exact = get_target(func).np(xv)
    assert np.all(np.abs(out - exact) <= y.error + approx_.errors.error_bound)


def test_truncation_failure_is_bounded_and_large_products_refused():
    s = Session.in_process(2, 24)
    x = s.share(np.full(1000, 0.9), magnitude=1.0)
    x * x
    # SecureML: |x| 2^2f / 2^63 per element, 1000 elements of |x| <= 1 + ulp
    assert s.stats().truncation_failure_bound == pytest.approx(1000 * 2.0**48 / 2.0**63, rel=1e-3)
    budgeted = Session.in_process(2, 24, failure_budget=2.0**-20)  # 2^-20 is passed by the same product: refused before it runs
    x = budgeted.share(np.full(1000, 0.9), magnitude=1.0)
    with pytest.raises(EncodingError, match="truncation-failure bound of this run would reach"):
        x * x
    assert budgeted.stats().truncation_failure_bound == 0.0 and budgeted.costs.rounds == 1
    for parties in (2, 3):  # 1e5 * 1e5 at 16 bits is 2^65.2 in the ring: refused, not decoded as 1.41e9
        s = Session.in_process(parties, 16)
        with pytest.raises(EncodingError, match="lower the fractional bits"):
            s.share(np.full(3, 1e5)) * s.share(np.full(3, 1e5))


@given(st.integers(2, 3), st.integers(1, 40), st.floats(-1, 1), st.integers(1, 8), st.booleans())
def test_a_sum_is_exact_within_its_bound_or_refused_never_wrapped(parties, frac_bits, unit, count, public):
    # a value just encodable at f bits, added count times: 4 * 2^45 at 16 bits used to decode as -1.4e14
    s = Session.in_process(parties, frac_bits)
    value = unit * 2.0 ** (61 - frac_bits)
    x = s.share(np.array([value]), magnitude=abs(value))
    try:
        total = x
        for _ in range(count - 1):
            total = total + (value if public else x)
    except EncodingError:
        assert count * abs(value) * 2.0**frac_bits >= 2.0**61  # refused only near the ring's end
        return
    assert abs(total.reveal()[0] - count * value) <= total.error


@given(arrays(np.float64, 5, elements=st.floats(-4, 4)), st.floats(0, 4))
def test_an_input_above_its_public_bound_is_refused_in_the_owners_process(x, bound):
    s = Session.in_process(2, 16)
    if np.max(np.abs(x)) <= bound:
        assert s.share(x, magnitude=bound).magnitude >= np.max(np.abs(x))
        return
    with pytest.raises(EncodingError, match="exceeds the public bound") as info:
        s.share(x, magnitude=bound)
    assert not any(repr(v) in str(info.value) for v in x if abs(v) > bound)  # the secret is not in the message


@given(st.integers(2, 30), st.floats(-1, 1), st.integers(0, 2**31))
def test_three_party_truncation_is_exact_up_to_one_unit_up_to_the_ring_limit(frac_bits, value, seed):
    # |x| 2^2f up to 2^60 (the 40-bit statistical mask of the old protocol refused all of this above 2^22)
    s = Session.in_process(3, frac_bits, seed=seed.to_bytes(16, "little"))
    x = s.share(np.full(4, value), magnitude=1.0)
    y = s.share(np.full(4, 0.5), magnitude=1.0)
    out = (x * y).reveal()
    assert np.all(np.abs(out - value * 0.5) <= 3 * s.ulp)


RING_LIMIT = 2**62 - 512  # |x| 2^2f below 2^62: the largest product whose float bound the check lets through


@given(st.integers(2, 3), st.integers(1, 30),
       st.one_of(st.integers(-RING_LIMIT, RING_LIMIT), st.sampled_from([RING_LIMIT, -RING_LIMIT, RING_LIMIT - 1, 0])),
       st.integers(0, 2**31))
def test_dealer_truncation_is_exact_to_one_unit_up_to_the_overflow_limit(parties, frac_bits, value, seed):
    # a product's ring value x 2^2f anywhere below 2^62 (the limit included), for 2 parties as for 3
    from mpc.truncation import truncate

    s = Session.in_process(parties, frac_bits, seed=seed.to_bytes(16, "little"), truncation="dealer")
    rng = np.random.default_rng(seed)
    values = np.array([value, -value, value // 3, 1], dtype=np.int64)
    shares = rng.integers(0, 2**64, (parties, 4), dtype=np.uint64)
    shares[0] += values.astype(np.uint64) - shares.sum(axis=0, dtype=np.uint64)  # they add up to the values
    magnitude = abs(value) / 2.0 ** (2 * frac_bits) if value else 1.0 / 2.0 ** (2 * frac_bits)
    (out,) = truncate(s, [shares], [magnitude])
    (opened,) = s.comm.open(out)
    exact = values >> frac_bits  # floor(x 2^2f / 2^f)
    assert np.all(np.abs(opened.view(np.int64) - exact) <= 1)
    assert s.truncation_failure_bound == 0.0 and s.stats().triples["truncation"] == 4


@given(st.integers(1, 30))
def test_both_truncations_refuse_a_product_at_the_overflow_limit(frac_bits):
    from mpc.truncation import RingOverflowError, truncate

    for mode in ("local", "dealer"):
        s = Session.in_process(2, frac_bits, truncation=mode)
        shares = np.zeros((2, 1), dtype=np.uint64)
        with pytest.raises(RingOverflowError, match="can reach 2\\^62"):
            truncate(s, [shares], [2.0 ** (62 - 2 * frac_bits)])
        assert s.costs.rounds == 0  # refused before anything is opened


@given(vectors, st.integers(8, 16), st.data())
def test_two_party_dealer_gates_stay_within_their_error_bounds(x, frac_bits, data):
    y = data.draw(arrays(np.float64, x.shape, elements=st.floats(-10, 10)))
    s = Session.in_process(2, frac_bits, truncation="dealer")
    sx, sy = s.share(x), s.share(y)
    assert within(sx * sy, x * y) and within(sx.square(), x * x) and within(sx * 0.3, x * 0.3)
    assert within(sx * 3, x * 3)  # a public integer: exact, no truncation
    assert s.truncation_failure_bound == 0.0


def test_three_party_truncation_opens_a_uniform_value():
    # c = x + 2^62 + r with r uniform on Z_2^64: the opened c's top bits look the same for x = 0 and x = max
    from mpc.communicator import InProcessCommunicator

    seen = {}
    for value in (0.0, 1.0):
        s = Session.in_process(3, 30)
        opened = []
        original = InProcessCommunicator._exchange

        def spy(self, shares, to, opened=opened):
            out = original(self, shares, to)
            opened.append(out[0])
            return out

        s.comm._exchange = spy.__get__(s.comm)
        x = s.share(np.full(20000, value), magnitude=1.0)
        x.square()
        seen[value] = opened[-1] >> np.uint64(60)  # the truncation's opening, top 4 bits
    for value, top in seen.items():
        counts = np.bincount(top.astype(np.int64), minlength=16)
        assert counts.min() > 20000 / 16 * 0.85, (value, counts)  # about uniform: no offset shows through


def test_non_polynomial_is_refused():
    import approx

    s = Session.in_process(2, 16)
    with pytest.raises(approx.ApproxError, match="not a polynomial"):
        evaluate(s.share(np.zeros(3)), approx.get("sigmoid"))


def test_several_polynomials_share_their_power_rounds():
    from mpc.polynomial import evaluate_many

    gate = PolynomialActivation(fit("sigmoid", 3, method="chebyshev", interval=(-2.0, 2.0)))
    cell = PolynomialActivation(fit("tanh", 3, method="minimax", interval=(-1.0, 1.0)))
    rng = np.random.default_rng(0)
    xg, xc = rng.uniform(-2, 2, (4, 6)), rng.uniform(-1, 1, (4, 2))
    s = Session.in_process(2, 16)
    yg, yc = evaluate_many([(s.share(xg, magnitude=2.0), gate), (s.share(xc, magnitude=1.0), cell)])
    assert s.stats().rounds == 2 and yg.shape == (4, 6) and yc.shape == (4, 2)  # as one degree-3 polynomial
    assert np.all(np.abs(yg.reveal() - gate(xg)) <= yg.error)
    assert np.all(np.abs(yc.reveal() - cell(xc)) <= yc.error)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_product_with_a_non_finite_bound_is_refused_not_truncated(bad):
    from mpc.truncation import RingOverflowError, truncate

    s = Session.in_process(2, 16)
    x = s.share(np.ones(3))
    with pytest.raises(RingOverflowError):
        truncate(s, [x.shares], [1.0, bad])


@given(arrays(np.float64, st.integers(1, 9), elements=st.floats(-4, 4)))
def test_power_range_encloses_the_polynomial_on_the_interval_and_beats_the_coefficient_sum(coef):
    from mpc.polynomial import power_range

    t = np.linspace(-1.0, 1.0, 4001)
    values = np.abs(np.polynomial.polynomial.polyval(t, coef))
    bound = power_range(coef)
    assert bound >= np.max(values)  # rigorous: never below a value the polynomial takes
    assert bound <= np.sum(np.abs(coef)) * (1 + 1e-12) + 1e-300  # and never looser than the sum of |coefficients|


def test_registry_polynomials_are_bounded_by_their_range_not_their_coefficients():
    gate = PolynomialActivation(fit("sigmoid", 3, method="chebyshev", interval=(-2.0, 2.0)))
    s = Session.in_process(2, 16)
    from mpc.polynomial import evaluate_many

    (y,) = evaluate_many([(s.share(np.linspace(-1.9, 1.9, 9), magnitude=1.9), gate)], inside=True)
    # max |sigmoid| on [-2, 2] plus the certified error, and a fixed-point error of a few units
    assert y.magnitude <= 1 / (1 + np.exp(-2.0)) + gate.approximation.errors.error_bound + 2.0**-10
    assert y.magnitude < np.sum(np.abs(gate.approximation.coef))  # what bounded it before
