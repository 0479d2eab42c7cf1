"""Cryptographically secure random ring elements: AES-128 in counter mode.

numpy's generators are not cryptographic.  Shares and masks come from the
AES-128-CTR keystream of the ``cryptography`` package (a PRG under the usual
assumption that AES is a pseudorandom permutation; NIST SP 800-90A's
CTR_DRBG is built the same way), keyed from ``os.urandom``.  A party and the
dealer that hold the same 16-byte seed draw the same stream, which lets the
dealer send a party only corrections (as CrypTen's trusted third party does).
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["CSPRNG", "derive_seed", "protocol_seed"]


def derive_seed(master: bytes, label: str) -> bytes:
    """A 16-byte seed for ``label`` from a master seed (BLAKE2b keyed hash, RFC 7693).

    Used to make a whole protocol run reproducible from one seed (tests, the
    in-process vs TCP comparison); without a master seed every seed comes from
    ``os.urandom``.
    """
    return hashlib.blake2b(label.encode(), key=master, digest_size=16).digest()


def protocol_seed(master: bytes | None, label: str) -> bytes:
    """The seed named ``label`` of a protocol run: derived from ``master``, or fresh from os.urandom if None.

    Labels: ``dealer-party-K`` (dealer and party K), ``dealer`` (the dealer's own),
    ``zero-K`` (parties K and K + 1, zero sharing).  In-process and TCP runs use
    the same labels, so with one master seed they compute the same shares.
    """
    return os.urandom(16) if master is None else derive_seed(master, label)


class CSPRNG:
    """A stream of uniform uint64 values from AES-128-CTR.

    Parameters
    ----------
    seed : bytes, optional
        16 bytes; default 16 bytes from ``os.urandom``.

    Raises
    ------
    ValueError
        If the seed is not 16 bytes.
    """

    def __init__(self, seed: bytes | None = None):
        seed = os.urandom(16) if seed is None else seed
        if len(seed) != 16:
            raise ValueError("a CSPRNG seed is 16 bytes")
        self.seed = seed
        self._encryptor = Cipher(algorithms.AES(seed), modes.CTR(b"\0" * 16)).encryptor()

    def ring(self, shape) -> np.ndarray:
        """Uniform elements of Z_2^64 as a uint64 array of ``shape``."""
        count = int(np.prod(shape, dtype=np.int64))
        stream = self._encryptor.update(bytes(8 * count))
        return np.frombuffer(stream, dtype=np.uint64).reshape(shape).copy()
