"""Plan a run before it starts: its truncation-failure bound at given fractional bits, and the largest safe setting.

The 2-party local truncation fails with probability at most |x| 2^2f / 2^63
per truncated element (:mod:`mpc.truncation`), where |x| is the public bound
the circuit carries; over a run these add up.  The bound depends only on
public things -- the circuit, the shapes and the magnitude bounds -- so every
party computes the same number before any secret is shared, by running the
program once in process on a small public probe (e.g. one input, or one
window) with zeros in place of the secrets, and scaling by the number of
probes the run holds.  A run whose bound exceeds the budget (default
``FAILURE_BUDGET`` = 2^-20) is refused, naming the largest fractional bits
that fit; the same probe also finds products that can reach 2^62 and inputs
whose public bounds reach outside their polynomial's interval
(:class:`~mpc.encoder.EncodingError`).
"""

from __future__ import annotations

import dataclasses
import math

from mpc.encoder import EncodingError
from mpc.truncation import FAILURE_BUDGET, RingOverflowError

__all__ = ["Plan", "plan", "FAILURE_BUDGET", "DEFAULT_FRAC_BITS"]

DEFAULT_FRAC_BITS = 16


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run was planned with.

    Attributes
    ----------
    frac_bits : int
        The fractional bits the run uses.
    failure_bound : float
        Bound on the probability that any truncation of the run fails (0 for n > 2 parties).
    budget : float
        The largest bound accepted.
    out_of_range : dict of str -> float
        Activations whose inputs the public bounds let leave their interval, with the bound
        (only when allowed).
    """

    frac_bits: int
    failure_bound: float
    budget: float
    out_of_range: dict

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def plan(probe, count: float, frac_bits: int | None, budget: float = FAILURE_BUDGET) -> Plan:
    """Check a run, or choose its fractional bits, against the truncation-failure budget.

    Parameters
    ----------
    probe : callable (frac_bits) -> mpc.tensor.Session
        Runs the program on one probe (public shapes and bounds, zeros for the secrets) in process at
        these fractional bits and returns its session (``truncation_failure_bound``, ``out_of_range``).
    count : float
        How many probes the run holds (its bound is ``count`` times the probe's).
    frac_bits : int or None
        The setting asked for; None: the largest safe one up to ``DEFAULT_FRAC_BITS``.
    budget : float

    Returns
    -------
    Plan

    Raises
    ------
    EncodingError
        If ``frac_bits`` is unsafe -- a product can reach 2^62, or the bound exceeds the budget -- naming
        the largest safe setting; if no setting from 1 bit is safe; or if the probe refuses otherwise
        (a pre-activation out of range).
    """
    if frac_bits is None:
        found = _largest_safe(probe, count, DEFAULT_FRAC_BITS, budget)
        if found is None:
            raise EncodingError(f"no fractional bits from 1 to {DEFAULT_FRAC_BITS} keep this run's truncation-failure "
                                f"bound under {budget:.2g} and its products under 2^62; split the run into smaller "
                                "ones or scale the inputs down")
        return found
    try:
        session = probe(frac_bits)
        bound = count * session.truncation_failure_bound
        if bound <= budget:
            return Plan(frac_bits, bound, budget, dict(session.out_of_range))
        problem = (f"at {frac_bits} fractional bits the 2-party truncations of this run fail with probability up to "
                   f"{bound:.2g}, above the budget {budget:.2g}")
    except RingOverflowError as exc:
        problem = str(exc)
    found = _largest_safe(probe, count, frac_bits - 1, budget)
    raise EncodingError(f"{problem}; " + (f"the largest safe setting is --frac-bits {found.frac_bits} (or fewer "
                                          "inputs per run, or a larger --max-failure-probability)"
                                          if found else "no setting is safe: split the run or scale the inputs down"))


def _largest_safe(probe, count: float, start: int, budget: float) -> Plan | None:
    """The plan with the largest fractional bits up to ``start`` that is safe, or None."""
    f, estimate = start, None
    while f >= 1:
        try:
            session = probe(f)
        except RingOverflowError:
            f -= 1
            continue
        bound = count * session.truncation_failure_bound
        if bound <= budget:
            return Plan(f, bound, budget, dict(session.out_of_range))
        # the bound scales as 4^f (magnitudes hardly depend on f): jump there once, then step down
        estimate = f - max(1, math.ceil(math.log(bound / budget, 4))) if estimate is None else f - 1
        f = estimate
    return None
