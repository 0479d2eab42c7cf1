"""Fixed point for training: truncation-failure budget, fractional bits, and pre-activation range checks.

Truncation.  With local truncation (SecureML, Mohassel & Zhang 2017, Theorem
1) every product is truncated without communication: exact up to one unit of
2^-f -- and since the shares are uniform the rounding is unbiased, i.e.
stochastic rounding, which is what lets fixed-point SGD apply updates smaller
than 2^-f on average (Gupta et al., *Deep Learning with Limited Numerical
Precision*, ICML 2015) -- except with probability at most |x| 2^(2f) / 2^63
per element, when the result is off by about 2^(64 - 2f) and the training is
ruined.  The session adds these probabilities up over every truncated element
(``Session.truncation_failure_bound``); a training step's sum S(f) scales as
4^f, so over a run of N steps the failure bound is N S(f), and

    f_max = f + floor(log4(budget / (N S(f))))

is the most fractional bits a run can use within ``budget`` (1e-6 by
default).  :func:`check_failure_budget` refuses a setting above the budget.
The dealer's truncation (``Session.in_process(..., truncation="dealer")``, Escudero et al.
2020) rounds without bias too and never fails, at one opening per truncated
element; :func:`mpc.training.loop.plan_run` chooses between them, local from
``MIN_FRAC_BITS`` bits up (:func:`mpc.planning.choose`).

Range.  A polynomial is only close to its target on its interval [a, b], and
nothing on shares can see a pre-activation outside it without a comparison
gate.  The public bounds the tensors carry (from the bounds the parties
publish for their inputs and weights, propagated gate by gate) give, per
layer, a bound B on |z|; :class:`RangeCheck` refuses a layer whose B exceeds
its interval, or -- when allowed -- warns once per layer and records it, and
the run's failure bound is then conditional on the pre-activations staying
inside the intervals (as the plaintext twin's domain monitor can confirm).

Declared bounds.  Bounds propagated gate by gate are rigorous but, through a
recurrence, grow geometrically with the time steps (each step multiplies them
by about 4 H max|W_hh| max|slope|), and through SGD with the number of
steps: over a training run they say nothing.  As secure inference does for
its fixed-point error (``mpc.polynomial.ASSUMED_ERROR``), the parties may
instead declare a bound on |w| and one on the back-propagated gradients
dL/dh, dL/da (chosen from a plaintext run on public or synthetic data); the
tensors' magnitudes are capped at them, and the failure bound holds if they
do.  The model owner can check the weight bound on the revealed model.
"""

from __future__ import annotations

import math
import warnings

from approx.errors import ApproxError
from mpc.polynomial import ASSUMED_ERROR

__all__ = ["TrainingPrecisionError", "PreactivationRangeError", "OutOfRangeWarning", "PublicBounds",
           "check_failure_budget", "max_frac_bits", "FAILURE_BUDGET", "MIN_FRAC_BITS"]

FAILURE_BUDGET = 1e-6
MIN_FRAC_BITS = 8


class TrainingPrecisionError(ApproxError):
    """A fixed-point setting whose truncation-failure bound over the run exceeds the budget, or that can overflow."""


class PreactivationRangeError(ApproxError):
    """A layer whose public pre-activation bound exceeds its polynomial's interval."""


class OutOfRangeWarning(UserWarning):
    """A pre-activation bound above its polynomial's interval, let through by ``allow_out_of_range``."""


class PublicBounds:
    """The public check of pre-activation bounds against polynomial intervals, and the declared bounds.

    Parameters
    ----------
    allow_out_of_range : bool
        Warn (once per layer, :class:`OutOfRangeWarning`) instead of refusing.
    weight_bound : float, optional
        Declared bound on |w| of every parameter during the run.
    gradient_bound : float, optional
        Declared bound on |dL/dh| and |dL/da| during the run, in the units the
        backward pass works in: gradients of the batch's summed loss with
        respect to a layer's output, times the loss scale.

    Attributes
    ----------
    ratios : dict of str -> float
        Per layer label, the largest bound / interval half-width seen so far
        (above 1: the bound exceeded the interval).
    """

    def __init__(self, allow_out_of_range: bool = False, weight_bound: float | None = None,
                 gradient_bound: float | None = None):
        self.allow_out_of_range = allow_out_of_range
        self.weight_bound, self.gradient_bound = weight_bound, gradient_bound
        self.ratios: dict = {}

    @property
    def conditional(self) -> bool:
        """True if the failure bound rests on an assumption: a declared bound, or an interval exceeded."""
        return (self.weight_bound is not None or self.gradient_bound is not None
                or any(r > 1.0 for r in self.ratios.values()))

    def cap_gradient(self, x):
        """``x`` (a SharedTensor gradient) with its magnitude capped at the declared gradient bound."""
        if self.gradient_bound is not None:
            x.magnitude = min(x.magnitude, self.gradient_bound)
        return x

    def cap_weight(self, x):
        """``x`` (a SharedTensor parameter) with its magnitude capped at the declared weight bound."""
        if self.weight_bound is not None:
            x.magnitude = min(x.magnitude, self.weight_bound)
        return x

    def check_range(self, label: str, z, activation) -> None:
        """Check the public bound of ``z`` (a SharedTensor) against ``activation``'s interval.

        The bound is ``z.magnitude`` plus its fixed-point error, taken at most
        ``ASSUMED_ERROR`` as in secure inference (the worst-case error through
        a recurrence is vacuous).

        Raises
        ------
        PreactivationRangeError
            If it exceeds the interval and out-of-range is not allowed.
        """
        lo, hi = activation.interval
        bound = z.magnitude + min(z.error, ASSUMED_ERROR)
        ratio = max(bound / hi if hi > 0 else math.inf, bound / -lo if lo < 0 else math.inf)
        first = ratio > 1.0 and self.ratios.get(label, 0.0) <= 1.0
        self.ratios[label] = max(self.ratios.get(label, 0.0), ratio)
        if ratio <= 1.0:
            return
        message = (f"{label}: the public bound |z| <= {bound:.4g} exceeds the interval [{lo:g}, {hi:g}] of "
                   f"{activation.name}")
        if not self.allow_out_of_range:
            raise PreactivationRangeError(message + "; fit the polynomial on a wider interval, publish tighter "
                                                    "input or weight bounds, or allow out-of-range pre-activations")
        if first:
            warnings.warn(message + "; continuing as allowed: the polynomial is only accurate, and the failure "
                                    "bound only holds, if the actual values stay inside", OutOfRangeWarning,
                          stacklevel=2)


def max_frac_bits(step_bound: float, frac_bits: int, steps: int, budget: float = FAILURE_BUDGET) -> int:
    """The most fractional bits with a run failure bound within ``budget``.

    Parameters
    ----------
    step_bound : float
        The truncation-failure bound of one training step at ``frac_bits``.
    frac_bits : int
    steps : int
        Training steps in the run.
    budget : float

    Returns
    -------
    int
        f + floor(log4(budget / (steps step_bound))) (the bound scales as 4^f).
    """
    if step_bound <= 0:
        return 52
    return frac_bits + math.floor(math.log(budget / (steps * step_bound), 4))


def check_failure_budget(step_bound: float, frac_bits: int, steps: int, budget: float = FAILURE_BUDGET,
                         min_frac_bits: int = MIN_FRAC_BITS) -> float:
    """Refuse a run whose truncation-failure bound exceeds ``budget``; return the run's bound.

    Raises
    ------
    TrainingPrecisionError
        Naming the bound, and the fractional bits that would fit (or that none
        from ``min_frac_bits`` up does: then the 64-bit ring cannot hold this
        run, and fewer steps or smaller values are the way out).
    """
    run_bound = steps * step_bound
    if run_bound <= budget:
        return run_bound
    fit = max_frac_bits(step_bound, frac_bits, steps, budget)
    advice = (f"use at most {fit} fractional bits" if fit >= min_frac_bits else
              f"no setting with {min_frac_bits} or more fractional bits fits in Z_2^64 (it would need {fit}); "
              "train fewer steps, on smaller batches, or with tighter published bounds")
    raise TrainingPrecisionError(f"the truncation-failure bound of this run is {run_bound:.3g} ({steps} steps of "
                                 f"{step_bound:.3g} at {frac_bits} fractional bits), above {budget:g}: {advice}")
