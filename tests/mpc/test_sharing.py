"""Fixed-point encoding, the CSPRNG and additive sharing in Z_2^64."""

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from hypothesis.extra.numpy import array_shapes, arrays

from mpc.csprng import CSPRNG
from mpc.encoder import EncodingError, FixedPointEncoder
from mpc.sharing import reconstruct, share
from mpc.tensor import Session

values = arrays(np.float64, array_shapes(max_dims=3, max_side=5), elements=st.floats(-1e4, 1e4))


@given(values, st.integers(0, 30))
def test_encode_decode_within_half_an_ulp_of_the_grid(x, frac_bits):
    enc = FixedPointEncoder(frac_bits)
    assert np.all(np.abs(enc.decode(enc.encode(x)) - x) <= 2.0 ** -(frac_bits + 1) * (1 + 1e-12))


@given(st.integers(-(2**40), 2**40), st.integers(0, 16))
def test_negative_values_decode_exactly(k, frac_bits):
    enc = FixedPointEncoder(frac_bits)
    x = np.array([k * 2.0**-frac_bits])
    assert enc.decode(enc.encode(x))[0] == x[0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 2.0**46, -(2.0**46)])
def test_out_of_range_is_refused(bad):
    with pytest.raises(EncodingError):
        FixedPointEncoder(16).encode(np.array([1.0, bad]))


@given(values, st.integers(2, 5))
def test_share_reconstruct_round_trip(x, parties):
    enc = FixedPointEncoder(16)
    shares = share(enc.encode(x), parties)
    assert shares.shape == (parties, *x.shape)
    assert np.array_equal(reconstruct(shares), enc.encode(x))


def test_csprng_is_deterministic_per_seed_and_seeds_differ():
    a, b = CSPRNG(b"k" * 16), CSPRNG(b"k" * 16)
    assert np.array_equal(a.ring((100,)), b.ring((100,)))
    assert not np.array_equal(CSPRNG().ring((100,)), CSPRNG().ring((100,)))


@given(values, st.integers(2, 5), st.integers(0, 4))
def test_zero_sharing_shares_any_owners_input(x, parties, owner):
    s = Session.in_process(parties, 16)
    shared = s.share(x, owner=owner % parties)
    assert shared.shares.shape == (parties, *x.shape)
    assert np.array_equal(reconstruct(shared.shares), s.encoder.encode(x))


@pytest.mark.parametrize("parties", [2, 3])
@pytest.mark.parametrize("how", ["share", "zero sharing"])
def test_any_n_minus_1_shares_look_uniform(parties, how):
    # chi-square test on the top 4 bits of each of the first n - 1 shares of one fixed secret
    secret = np.full(20000, FixedPointEncoder(16).encode(np.array([0.5]))[0], dtype=np.uint64)
    if how == "share":
        shares = share(secret, parties)
    else:  # the last party owns the input, so the first n - 1 shares are pure zero sharing
        shares = Session.in_process(parties, 16).share(np.full(20000, 0.5), owner=parties - 1).shares
    for k in range(parties - 1):
        top = (shares[k] >> np.uint64(60)).astype(np.int64)
        counts = np.bincount(top, minlength=16)
        expected = secret.size / 16
        chi2 = np.sum((counts - expected) ** 2 / expected)
        assert chi2 < 37.7  # 15 degrees of freedom, p = 0.001
    # and the last share alone is uniform too (it is the secret minus uniform values)
    top = (shares[-1] >> np.uint64(60)).astype(np.int64)
    assert np.sum((np.bincount(top, minlength=16) - secret.size / 16) ** 2 / (secret.size / 16)) < 37.7
