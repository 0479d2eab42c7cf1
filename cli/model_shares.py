"""Share files: one party's additive shares of a model kept shared (``--keep-shared``), written and read back.

A share file is an ``.npz`` holding ``metadata`` (JSON) and one uint64 array per weight, named as in the model
file: this party's additive share in Z_2^64 of round(w 2^f) (two's complement); adding the two parties' arrays
modulo 2^64, reading the sum as int64 and dividing by 2^f gives the weights.  The metadata holds

* ``format`` (``approx-model-shares/1``), ``model`` (mlp or forecaster), ``party`` (0 or 1), ``parties`` (2),
  ``frac_bits`` f and ``ring_bits`` (64);
* ``public``: the part both parties' files share exactly (:func:`mpc.training.protocol.share_record`): the
  sharing id of the run that wrote them, f, and the model's public description (configuration, activations with
  their coefficients, a public bound on |w| of each tensor, input features) -- what secure inference announces
  and checks;
* ``model_metadata``: what this party knows beside (its view of the model file's metadata: data record,
  features, summary), which may differ between the two files.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from approx.errors import ApproxError

__all__ = ["SHARE_FORMAT", "share_paths", "write_shares", "read_shares", "is_share_file", "check_pair",
           "check_share_output"]

SHARE_FORMAT = "approx-model-shares/1"


def share_paths(output: str) -> list:
    """Where --keep-shared writes the parties' share files: OUTPUT with .party0, .party1 before the suffix."""
    stem, dot, suffix = output.rpartition(".")
    return [f"{stem}.party{k}.{suffix}" if dot and "/" not in suffix else f"{output}.party{k}" for k in range(2)]


def check_share_output(path: str, force: bool) -> None:
    """Refuse, before any work, a share file path that cannot be written or exists (unless ``force``)."""
    from approx.atomic_file import check_writable

    problem = check_writable(path)
    if problem:
        raise ApproxError(f"cannot write {path}: {problem}; choose another -o")
    if os.path.exists(path) and not force:
        raise ApproxError(f"{path} exists; give another -o, or --force to replace it")


def write_shares(path: str, party: int, shares: dict, public: dict, meta: dict) -> None:
    """One party's shares of the trained weights, as a self-describing .npz (atomic write).

    Parameters
    ----------
    path : str
    party : int
    shares : dict of str -> ndarray of uint64
        This party's share of each weight.
    public : dict
        The public part both files hold (:func:`mpc.training.protocol.share_record`).
    meta : dict
        This party's model metadata.
    """
    from approx.atomic_file import atomic_write

    header = {"format": SHARE_FORMAT, "model": public["model"], "party": party, "parties": 2,
              "frac_bits": public["frac_bits"], "ring_bits": 64, "public": public, "model_metadata": meta}
    with atomic_write(path) as fh:
        np.savez(fh, metadata=np.array(json.dumps(header, allow_nan=False)),
                 **{name: np.asarray(value, dtype=np.uint64) for name, value in shares.items()})


def _header(path: str):
    """The metadata dict of an .npz with a JSON ``metadata`` entry, or None."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["metadata"]))
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    return header if isinstance(header, dict) else None


def is_share_file(path: str) -> bool:
    """Whether ``path`` is a share file (its metadata names the share format)."""
    header = _header(path)
    return header is not None and header.get("format") == SHARE_FORMAT


def read_shares(path: str) -> tuple[dict, dict]:
    """A share file's metadata and arrays, checked.

    Raises
    ------
    ApproxError
        If the file is missing, not a share file, or its metadata or arrays are malformed.
    """
    if not os.path.isfile(path):
        raise ApproxError(f"no share file {path}; approx secure train --keep-shared -o MODEL writes "
                          "MODEL.party0.npz and MODEL.party1.npz")
    header = _header(path)
    if header is None or header.get("format") != SHARE_FORMAT:
        raise ApproxError(f"{path} is not a share file written by approx secure train --keep-shared")
    public = header.get("public")
    ok = (header.get("party") in (0, 1) and header.get("parties") == 2 and header.get("ring_bits") == 64
          and isinstance(public, dict) and {"model", "sharing", "frac_bits", "announcement"} <= set(public)
          and header.get("model") == public["model"] and header.get("frac_bits") == public["frac_bits"]
          and type(public["frac_bits"]) is int and 1 <= public["frac_bits"] <= 30
          and isinstance(public["announcement"], dict) and isinstance(public["announcement"].get("bounds"), dict)
          and isinstance(header.get("model_metadata", {}), dict))
    if not ok:
        raise ApproxError(f"{path}: its metadata is not that of a share file of 2 parties in Z_2^64 with a public "
                          "part (party, frac_bits, sharing id, model description)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files if name != "metadata"}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ApproxError(f"cannot read the shares in {path} ({exc})") from None
    bounds = public["announcement"]["bounds"]
    if set(arrays) != set(bounds) or any(a.dtype != np.uint64 for a in arrays.values()):
        raise ApproxError(f"{path}: its arrays are not one uint64 share per weight its metadata bounds")
    return header, arrays


def check_pair(paths: list) -> list:
    """The two share files of one model, read and checked to be its two halves (the same public part, parties
    0 and 1), ordered by party.

    Raises
    ------
    ApproxError
        Naming what differs.
    """
    from mpc.inference import differing

    read = [read_shares(p) for p in paths]
    parties = sorted(header["party"] for header, _ in read)
    if parties != [0, 1]:
        raise ApproxError(f"{paths[0]} and {paths[1]} are both party {parties[0]}'s share file; give "
                          "MODEL.party0.npz and MODEL.party1.npz")
    read.sort(key=lambda item: item[0]["party"])
    (first, a), (second, b) = read
    if json.dumps(first["public"], sort_keys=True) != json.dumps(second["public"], sort_keys=True):
        raise ApproxError(f"the two share files are not halves of one model: their public metadata differ in "
                          f"{differing(first['public'], second['public'])}; give both files written by one "
                          "--keep-shared run")
    if any(a[name].shape != b[name].shape for name in a):
        raise ApproxError("the two share files hold arrays of different shapes")
    return read
