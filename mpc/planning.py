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
from mpc.truncation import FAILURE_BUDGET

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
        If the bound at ``frac_bits`` exceeds the budget (naming the largest safe setting), if no
        setting from 1 bit is safe, or if the probe itself refuses (overflow, out of range).
    """
    start = DEFAULT_FRAC_BITS if frac_bits is None else frac_bits
    session = probe(start)
    bound = count * session.truncation_failure_bound
    if bound <= budget:
        return Plan(start, bound, budget, dict(session.out_of_range))
    # the bound scales as 4^f (magnitudes hardly depend on f): jump there, then step down while over
    f = min(start - 1, start - math.ceil(math.log(bound / budget, 4)))
    while f >= 1:
        session = probe(f)
        lower = count * session.truncation_failure_bound
        if lower <= budget:
            break
        f -= 1
    if f < 1:
        raise EncodingError(f"the truncation-failure bound of this run is {bound:.2g} at {start} fractional bits and "
                            f"above the budget {budget:.2g} even at 1; split the run into smaller ones")
    if frac_bits is None:
        return Plan(f, lower, budget, dict(session.out_of_range))
    raise EncodingError(f"at {frac_bits} fractional bits the 2-party truncations of this run fail with probability "
                        f"up to {bound:.2g}, above the budget {budget:.2g}; the largest safe setting is "
                        f"--frac-bits {f} (or fewer inputs per run, or a larger --max-failure-probability)")
