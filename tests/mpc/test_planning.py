"""The planning policy: local truncation where its failure bound fits, the dealer's where it does not, refusals
naming the fix, and overflow refused in every mode."""

import math

import hypothesis.strategies as st
import pytest
from hypothesis import given

from mpc.encoder import EncodingError
from mpc.planning import DEFAULT_FRAC_BITS, choose
from mpc.tensor import Session
from mpc.truncation import RingOverflowError

BUDGET = 1e-6


def run_of(per_unit: float, overflow_from: int):
    """A run whose local failure bound is per_unit 4^f and whose products reach 2^62 from ``overflow_from`` bits."""
    def evaluate(f):
        if f >= overflow_from:
            raise RingOverflowError(f"a product can reach 2^62 at {f} fractional bits")
        return per_unit * 4.0**f, {}
    return evaluate


def fits(per_unit, overflow_from, most=DEFAULT_FRAC_BITS):
    """The largest f up to ``most`` with a local bound within the budget and no overflow, or None."""
    return max((f for f in range(1, most + 1) if f < overflow_from and per_unit * 4.0**f <= BUDGET), default=None)


units = st.floats(-40.0, 0.0).map(lambda e: 10.0**e)


@given(units, st.integers(1, 40), st.integers(1, 16))
def test_auto_is_local_where_it_fits_from_the_minimum_else_the_dealer(per_unit, overflow_from, minimum):
    local = fits(per_unit, overflow_from)
    safe = min(DEFAULT_FRAC_BITS, overflow_from - 1)  # the most bits without overflow
    try:
        plan = choose(run_of(per_unit, overflow_from), None, BUDGET, "auto", minimum)
    except EncodingError as exc:  # only when no safe setting reaches the minimum
        assert (local is None or local < minimum) and safe < minimum and "2^62" in str(exc)
        return
    if local is not None and local >= minimum:
        assert (plan.truncation, plan.frac_bits) == ("local", local) and plan.failure_bound <= BUDGET
    else:
        assert (plan.truncation, plan.frac_bits, plan.failure_bound) == ("dealer", safe, 0.0)


@given(units, st.integers(2, 40), st.integers(1, 30))
def test_explicit_bits_keep_them_local_if_they_fit_else_with_the_dealer(per_unit, overflow_from, frac_bits):
    evaluate = run_of(per_unit, overflow_from)
    if frac_bits >= overflow_from:  # every mode refuses, naming a setting below
        for mode in ("auto", "local", "dealer"):
            with pytest.raises(EncodingError, match="can reach 2\\^62"):
                choose(evaluate, frac_bits, BUDGET, mode)
        return
    auto, dealer = choose(evaluate, frac_bits, BUDGET, "auto"), choose(evaluate, frac_bits, BUDGET, "dealer")
    assert auto.frac_bits == dealer.frac_bits == frac_bits and dealer.truncation == "dealer"
    if per_unit * 4.0**frac_bits <= BUDGET:
        assert auto.truncation == "local" == choose(evaluate, frac_bits, BUDGET, "local").truncation
        return
    assert auto.truncation == "dealer" and auto.failure_bound == 0.0
    with pytest.raises(EncodingError) as info:  # local over the budget: refused, the dealer named as the fix
        choose(evaluate, frac_bits, BUDGET, "local")
    assert "--truncation dealer" in str(info.value) and "\n" not in str(info.value)
    lower = fits(per_unit, overflow_from, frac_bits - 1)
    if lower is not None:
        assert f"the largest safe setting is --frac-bits {lower}" in str(info.value)


def test_local_without_bits_is_refused_below_the_minimum_naming_both_fixes():
    evaluate = run_of(1e-6 / 4.0**6, 40)  # fits at 6 bits and fewer
    with pytest.raises(EncodingError) as info:
        choose(evaluate, None, BUDGET, "local", minimum=8)
    assert "ask for it with --frac-bits 6" in str(info.value) and "--truncation dealer" in str(info.value)
    assert choose(evaluate, None, BUDGET, "local", minimum=6).frac_bits == 6


def test_more_than_two_parties_use_the_dealer_and_refuse_local():
    evaluate = run_of(1e-30, 40)
    assert choose(evaluate, None, BUDGET, "auto", parties=3).truncation == "dealer"
    with pytest.raises(EncodingError, match="2-party protocol"):
        choose(evaluate, None, BUDGET, "local", parties=3)


def test_vacuous_bounds_fall_back_to_the_dealer():
    def evaluate(f):
        return math.inf, {}
    plan = choose(evaluate, None, BUDGET, "auto", minimum=8)
    assert (plan.truncation, plan.frac_bits) == ("dealer", 16)


def test_each_setting_is_probed_once():
    calls = []

    def evaluate(f):
        calls.append(f)
        return 1e-3 * 4.0**f, {}
    choose(evaluate, None, BUDGET, "auto", minimum=8)
    assert len(calls) == len(set(calls))


def test_parties_whose_plans_differ_stop_before_anything_is_shared():
    from mpc.communicator import InProcessCommunicator
    from mpc.planning import Plan, agree
    from mpc.wire import ProtocolError

    class OneParty(InProcessCommunicator):
        """Party 1's view: party 0 announced a plan of 12 local bits."""

        def __init__(self):
            super().__init__(2)
            self.local_parties = (1,)

        def _announce(self, owner, payload):
            return b'{"frac_bits": 12, "truncation": "local"}'

    session = Session.in_process(2, 16)
    agree(session, Plan(16, "dealer", 0.0, 1.0, {}))  # in process every party plans once: they agree
    session.comm = OneParty()
    agree(session, Plan(12, "local", 1e-9, 1e-6, {}))
    with pytest.raises(ProtocolError, match="party 0 planned .* but this party planned .*same version"):
        agree(session, Plan(16, "dealer", 0.0, 1e-6, {}))
