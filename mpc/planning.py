"""Plan a run before it starts: its fractional bits and truncation protocol, refused where it could go wrong.

Two truncation protocols (:mod:`mpc.truncation`): the 2-party local one, free
but failing with probability at most |x| 2^2f / 2^63 per truncated element
(|x| the public bound the circuit carries; over a run these add up), and the
dealer's, which never fails and costs one opening of every truncated element
and one round per product level.  The failure bound depends only on public
things -- the circuit, the shapes and the magnitude bounds -- so every party
computes the same number before any secret is shared, by running the program
once in process on a small public probe (e.g. one input, or one window) with
zeros in place of the secrets, and scaling by the number of probes the run
holds (:func:`plan`; training scales a step by the steps of the run).  The
same probe finds products that can reach 2^62 (refused in both protocols) and
inputs whose public bounds reach outside their polynomial's interval
(:class:`~mpc.encoder.EncodingError`).

The policy (:func:`choose`), for ``truncation``:

* ``"auto"`` (the commands' default): local truncation at the largest f up to
  ``DEFAULT_FRAC_BITS`` (16) whose run bound fits the budget, if that f is at
  least ``minimum`` (``MIN_LOCAL_BITS`` = 12 for inference, where fewer bits
  cost accuracy; 8 for training, whose stochastic rounding trains well there);
  otherwise dealer truncation at 16 bits.  With ``frac_bits`` F given: local at
  F if its bound fits, else dealer at F.
* ``"local"``: the same local choice, refused (naming ``--truncation dealer``)
  where auto would fall back to the dealer.
* ``"dealer"``: dealer truncation at F (default 16); failure bound 0.

In every case the products must stay below 2^62 at the chosen f: the dealer
fallback without F takes the largest f up to 16 where they do (refused below
``minimum``), and an F where they can reach it is refused naming the largest
setting that is safe.  With more than 2 parties only the dealer's truncation
exists.
"""

from __future__ import annotations

import dataclasses
import math

from mpc.encoder import EncodingError
from mpc.truncation import FAILURE_BUDGET, RingOverflowError

__all__ = ["Plan", "plan", "choose", "agree", "FAILURE_BUDGET", "DEFAULT_FRAC_BITS", "MIN_LOCAL_BITS", "TRUNCATIONS"]

DEFAULT_FRAC_BITS = 16
MIN_LOCAL_BITS = 12  # inference: the fewest fractional bits auto accepts for local truncation (docs/secure-inference.md)
TRUNCATIONS = ("auto", "local", "dealer")
_DEALER_FIX = "--truncation dealer (which cannot fail)"


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run was planned with.

    Attributes
    ----------
    frac_bits : int
        The fractional bits the run uses.
    truncation : {"local", "dealer"}
        The truncation protocol the run uses.
    failure_bound : float
        Bound on the probability that any truncation of the run fails (0 with the dealer's truncation).
    budget : float
        The largest bound accepted.
    out_of_range : dict of str -> float
        Activations whose inputs the public bounds let leave their interval, with the bound
        (only when allowed).
    """

    frac_bits: int
    truncation: str
    failure_bound: float
    budget: float
    out_of_range: dict

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def plan(probe, count: float, frac_bits: int | None, budget: float = FAILURE_BUDGET, truncation: str = "auto",
         minimum: int = MIN_LOCAL_BITS, parties: int = 2) -> Plan:
    """Choose a run's fractional bits and truncation (:func:`choose`) from one probe scaled by ``count``.

    Parameters
    ----------
    probe : callable (frac_bits) -> mpc.tensor.Session
        Runs the program on one probe (public shapes and bounds, zeros for the secrets) in process at
        these fractional bits with local truncation and returns its session (``truncation_failure_bound``,
        ``out_of_range``).
    count : float
        How many probes the run holds (its local bound is ``count`` times the probe's).
    frac_bits : int or None
        The setting asked for; None: chosen by the policy.
    budget : float
    truncation : {"auto", "local", "dealer"}
    minimum : int
        The fewest fractional bits chosen without ``frac_bits``.
    parties : int

    Returns
    -------
    Plan

    Raises
    ------
    EncodingError
        As :func:`choose`, or if the probe refuses otherwise (a pre-activation out of range).
    """
    def evaluate(f):
        session = probe(f)
        return count * session.truncation_failure_bound, dict(session.out_of_range)

    return choose(evaluate, frac_bits, budget, truncation, minimum, parties)


def choose(evaluate, frac_bits: int | None, budget: float, truncation: str = "auto", minimum: int = MIN_LOCAL_BITS,
           parties: int = 2) -> Plan:
    """The fractional bits and truncation protocol of a run, by the policy above.

    Parameters
    ----------
    evaluate : callable (frac_bits) -> (float, dict)
        The run's local-truncation failure bound at these fractional bits and the activations out of
        range; raises :class:`~mpc.truncation.RingOverflowError` if a product can reach 2^62 there.
    frac_bits, budget, truncation, minimum, parties
        As :func:`plan`.

    Returns a :class:`Plan`.

    Raises
    ------
    EncodingError
        If the run cannot be made safe as asked: local truncation above the budget (naming the largest
        safe setting and ``--truncation dealer``), products that can reach 2^62 (naming the largest
        setting where they cannot), or no setting from ``minimum`` bits up.
    ValueError
        For an unknown ``truncation``.
    """
    if truncation not in TRUNCATIONS:
        raise ValueError(f"unknown truncation {truncation!r}: choose {', '.join(TRUNCATIONS)}")
    evaluate = _memoised(evaluate)
    if parties != 2:
        if truncation == "local":
            raise EncodingError(f"local truncation is a 2-party protocol; {parties} parties truncate with the dealer: "
                                "use --truncation dealer (or auto)")
        truncation = "dealer"
    if frac_bits is not None:
        return _at(evaluate, frac_bits, budget, truncation, minimum)
    if truncation != "dealer":
        found = _largest_local(evaluate, DEFAULT_FRAC_BITS, budget)
        if found is not None and found.frac_bits >= minimum:
            return found
        if truncation == "local":
            fits = (f"the most that fits is {found.frac_bits}: ask for it with --frac-bits {found.frac_bits}, or use"
                    if found else "none fits: use")
            raise EncodingError(f"no setting from {minimum} to {DEFAULT_FRAC_BITS} fractional bits keeps this run's "
                                f"local truncation-failure bound under {budget:.2g} ({fits} {_DEALER_FIX})")
    return _dealer(evaluate, budget, minimum)


def _memoised(evaluate):
    """``evaluate`` computed once per fractional bits (a probe can take seconds), its overflow refusals too."""
    seen: dict = {}

    def once(f):
        if f not in seen:
            try:
                seen[f] = (True, evaluate(f))
            except RingOverflowError as exc:
                seen[f] = (False, exc)
        ok, value = seen[f]
        if not ok:
            raise value
        return value

    return once


def _at(evaluate, f: int, budget: float, truncation: str, minimum: int) -> Plan:
    """The plan at fractional bits ``f`` asked for."""
    try:
        bound, out_of_range = evaluate(f)
    except RingOverflowError as exc:
        if truncation == "local":
            found = _largest_local(evaluate, f - 1, budget)
            lower = found.frac_bits if found else None
        else:
            lower = (_largest_unbounded(evaluate, f - 1) or (None,))[0]
        raise EncodingError(f"{exc}; " + (f"the largest safe setting is --frac-bits {lower}" if lower else
                                          "no setting is safe: split the run or scale the inputs down")) from None
    if truncation == "dealer":
        return Plan(f, "dealer", 0.0, budget, out_of_range)
    if bound <= budget:
        return Plan(f, "local", bound, budget, out_of_range)
    if truncation == "auto":
        return Plan(f, "dealer", 0.0, budget, out_of_range)
    found = _largest_local(evaluate, f - 1, budget)
    raise EncodingError(f"at {f} fractional bits the local truncations of this run fail with probability up to "
                        f"{bound:.2g}, above the budget {budget:.2g}; " +
                        (f"the largest safe setting is --frac-bits {found.frac_bits} (or fewer inputs per run, a "
                         f"larger --max-failure-probability, or {_DEALER_FIX})" if found else
                         f"no setting is safe with local truncation: use {_DEALER_FIX}"))


def _dealer(evaluate, budget: float, minimum: int) -> Plan:
    """Dealer truncation at the largest f up to ``DEFAULT_FRAC_BITS`` whose products stay below 2^62."""
    f, out_of_range = _largest_unbounded(evaluate, DEFAULT_FRAC_BITS) or (None, None)
    if f is None or f < minimum:
        raise EncodingError(f"products of this run can reach 2^62 at {minimum} fractional bits and more"
                            + (f" (the most that keeps them below is {f}: ask for it with --frac-bits {f})" if f
                               else "") + "; scale the inputs down or publish tighter bounds")
    return Plan(f, "dealer", 0.0, budget, out_of_range)


def _largest_unbounded(evaluate, start: int) -> tuple | None:
    """(f, out_of_range) with the largest f up to ``start`` at which no product can reach 2^62, or None."""
    for f in range(start, 0, -1):
        try:
            return f, evaluate(f)[1]
        except RingOverflowError:
            continue
    return None


def _largest_local(evaluate, start: int, budget: float) -> Plan | None:
    """The local plan with the largest fractional bits up to ``start`` whose bound fits ``budget``, or None."""
    f, estimate = start, None
    while f >= 1:
        try:
            bound, out_of_range = evaluate(f)
        except RingOverflowError:
            f -= 1
            continue
        if bound <= budget:
            return Plan(f, "local", bound, budget, out_of_range)
        if not math.isfinite(bound):  # vacuous bounds: no f makes them finite
            return None
        # the bound scales as 4^f (magnitudes hardly depend on f): jump there once, then step down
        estimate = f - max(1, math.ceil(math.log(bound / budget, 4))) if estimate is None else f - 1
        f = estimate
    return None


def agree(session, planned: Plan) -> None:
    """Check that every party planned the same run: party 0 announces its fractional bits and truncation, and a
    party whose own plan differs stops before anything is shared.

    Every party plans from the same public announcements, so the plans agree when the parties run the same
    planner; parties on hosts with different versions could otherwise run different protocols.

    Raises
    ------
    mpc.wire.ProtocolError
        In a party whose plan differs from party 0's.
    """
    from mpc.wire import ProtocolError

    mine = {"frac_bits": planned.frac_bits, "truncation": planned.truncation}
    announced = session.comm.announce(0, mine if session.comm.position(0) is not None else None)
    if announced != mine:
        raise ProtocolError(f"party 0 planned {announced} but this party planned {mine}: run the same version of "
                            "approx on every host")
