"""Cryptographically secure random ring elements: AES-128 in counter mode.

numpy's generators are not cryptographic.  Shares and masks come from the
AES-128-CTR keystream of the ``cryptography`` package (a PRG under the usual
assumption that AES is a pseudorandom permutation; NIST SP 800-90A's
CTR_DRBG is built the same way), keyed from ``os.urandom``.  A party and the
dealer that hold the same 16-byte seed draw the same stream, which lets the
dealer send a party only corrections (as CrypTen's trusted third party does).
"""

from __future__ import annotations

import os

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["CSPRNG"]


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
