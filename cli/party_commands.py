"""``approx party`` and ``approx dealer``: one role of a secure inference per process, for runs across hosts.

The model owner holds only the model file, the data owner only its load data,
the dealer nothing; the public parts (configuration, activations and their
coefficients, weight and input bounds, window length) travel in the protocol
and are checked on arrival, and the parties agree at set-up on the rest
(fractional bits, truncation, failure budget, session, protocol version).  See
docs/secure-deployment.md for a two-host run.
"""

from __future__ import annotations


import click
import numpy as np

from approx.errors import ApproxError
from cli.app import approx, registry_option
from cli.extras import require
from cli.strict_json import dumps
from cli.secure_commands import (allow_out_of_range_option, safety_options, timeout_option, tls_config, tls_options,
                                 warn_out_of_range)
from cli.train_commands import model_dataset, with_data_options

ROLE_IDS = {"model-owner": 0, "data-owner": 1, "party-0": 0, "party-1": 1}
PROGRAM = "mpc.inference.forecast_program"


class Address(click.ParamType):
    """HOST:PORT (an IPv6 host in brackets: [::1]:7000)."""

    name = "host:port"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        host, sep, port = str(value).rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            self.fail(f"{value!r} is not HOST:PORT with a port from 0 to 65535", param, ctx)
        return host, int(port)


class Peer(click.ParamType):
    """NAME=HOST:PORT, NAME one of dealer, model-owner, data-owner (or party-0, party-1)."""

    name = "name=host:port"

    def convert(self, value, param, ctx):
        from mpc.wire import DEALER

        name, sep, address = str(value).partition("=")
        if not sep or name not in (*ROLE_IDS, "dealer"):
            self.fail(f"{value!r} is not NAME=HOST:PORT with NAME dealer, model-owner or data-owner", param, ctx)
        return DEALER if name == "dealer" else ROLE_IDS[name], Address().convert(address, param, ctx)


def connection_options(fn):
    """--listen, --peer, --session, --insecure, --timeout and the TLS options."""
    fn = tls_options(fn)
    fn = timeout_option(fn)
    fn = click.option("--insecure", is_flag=True,
                      help="Allow plaintext TCP beyond this machine (without --tls-*): anybody on the network can "
                           "then read the shares and play a party.")(fn)
    fn = click.option("--session", "session_id", default="approx", show_default=True,
                      help="Name of this computation; every party and the dealer must give the same.")(fn)
    fn = click.option("--peer", "peers", type=Peer(), multiple=True,
                      help="Where a peer listens, NAME=HOST:PORT (repeat): the dealer, and the parties below this "
                           "one (the data owner dials the model owner).")(fn)
    return click.option("--listen", type=Address(), default=None,
                        help="HOST:PORT to listen on (the dealer, and every party but the last).")(fn)


def _announce_listener(name: str, listener) -> None:
    host, port = listener.getsockname()[:2]
    click.echo(f"approx: {name} listening on {host}:{port}", err=True)


def _write_forecasts(path: str, forecasts: np.ndarray) -> None:
    """The forecasts (MW) as .npy or one value per line, written whole or not at all."""
    from nn.atomic_file import atomic_write

    with atomic_write(path) as fh:
        if path.endswith(".npy"):
            np.save(fh, forecasts)
        else:
            fh.write("".join(f"{v!r}\n" for v in forecasts.tolist()).encode())


@approx.command("party")
@click.option("--role", type=click.Choice(["model-owner", "data-owner"]), required=True,
              help="model-owner (party 0) holds --model; data-owner (party 1) holds --data and learns the forecasts.")
@click.option("--model", "model_file", type=click.Path(exists=True, dir_okay=False),
              help="The model file (model owner only).")
@with_data_options
@click.option("--split", type=click.Choice(["test", "val", "train", "all"]), default="test", show_default=True,
              help="Which windows of --data to forecast (data owner).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N windows (data owner).")
@click.option("--batch-size", type=click.IntRange(1, 1 << 16), default=64, show_default=True,
              help="Windows per batch (data owner).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write the forecasts (MW) here: .npy, or text with one value per line (data owner).")
@safety_options
@allow_out_of_range_option
@connection_options
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def party(role, model_file, data, time_column, load_column, holiday_calendar, split, limit, batch_size, output,
          frac_bits, truncation, budget, allow_out_of_range, listen, peers, session_id, insecure, timeout, tls_cert, tls_key,
          tls_ca, registry, as_json):
    """Run one party of a secure inference of the forecaster, holding only this party's input."""
    require("party", "nn", "mpc")
    from mpc.inference import forecast_program
    from mpc.handshake import check_addresses
    from mpc.party import failure_text, listen_on, run_party
    from mpc.wire import DEALER

    me = ROLE_IDS[role]
    peer_map = dict(peers)
    if DEALER not in peer_map:
        raise click.UsageError("give the dealer's address: --peer dealer=HOST:PORT")
    if me == 1 and 0 not in peer_map:
        raise click.UsageError("the data owner dials the model owner: give --peer model-owner=HOST:PORT")
    if me == 0 and listen is None:
        raise click.UsageError("the model owner listens for the data owner: give --listen HOST:PORT")
    if (model_file is None) == (me == 0):
        raise click.UsageError("--model is the model owner's input: give it to --role model-owner only")
    if me == 0 and (data or output or limit):
        raise click.UsageError("--data, --limit and --output are the data owner's: the model owner holds only --model")
    tls = tls_config(tls_cert, tls_key, tls_ca)
    model = data_part = dataset = None
    if me == 0:
        from cli.secure_infer_command import model_part
        from nn.persistence import load_model

        model = model_part(*load_model(model_file, registry=registry))
    else:
        dataset = {}

        def windows(features):
            ds = model_dataset({"features": features}, data, time_column, load_column, holiday_calendar)
            x = ds.x if split == "all" else ds.part(split)[0]
            dataset["ds"], dataset["x"] = ds, x[:limit] if limit else x
            return dataset["x"]

        data_part = {"windows": windows, "batch_size": batch_size}
    check_addresses([address[0] for address in (listen, *peer_map.values()) if address], tls, insecure, None)
    listener = listen_on(listen) if listen is not None else None
    if listener is not None:
        _announce_listener(role, listener)
    settings = {"frac_bits": frac_bits, "truncation": truncation, "budget": budget,
                "allow_out_of_range": allow_out_of_range,
                "on_plan": lambda planned, acts: warn_out_of_range(planned.out_of_range, acts)}
    # both parties plan the same fractional bits and truncation from the same announcements; what they were
    # asked for must agree at set-up
    params = {"program": PROGRAM, "frac_bits": "auto" if frac_bits is None else frac_bits, "truncation": truncation,
              "max_failure_probability": budget, "allow_out_of_range": allow_out_of_range}
    try:
        result = run_party(forecast_program, me, 2, peers={k: v for k, v in peer_map.items() if k != DEALER},
                           dealer=peer_map[DEALER], listener=listener, args=(model, data_part, settings),
                           timeout=timeout, tls=tls, session=session_id, params=params, insecure=insecure)
    except ApproxError:
        raise
    except Exception as exc:  # the peers were told; this process says it in one line too
        raise ApproxError(failure_text(exc)) from None
    value = result["value"]
    summary = {"role": role, "frac_bits": value["plan"]["frac_bits"], "truncation": value["plan"]["truncation"],
               "max_failure_probability": budget,
               "truncation_failure_bound": value["stats"]["truncation_failure_bound"],
               "out_of_range": value["plan"]["out_of_range"], "rounds": value["stats"]["rounds"],
               "bytes_sent": result["wire_bytes"], "online_seconds": value["online_seconds"]}
    if me == 1:
        from nn.metrics import scores

        ds, x = dataset["ds"], dataset["x"]
        forecasts = ds.to_mw(value["forecasts"])
        if output:
            _write_forecasts(output, forecasts)
        summary.update({"windows": len(x), "split": split, "output": output})
        if split != "all":
            actual = ds.loads[ds.target_pos[ds.splits[split]]][:len(x)]
            summary["secure"] = scores(forecasts, actual)
    if as_json:
        click.echo(dumps(summary))
        return
    click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))


@approx.command("dealer")
@click.option("--parties", type=click.IntRange(2, 64), default=2, show_default=True,
              help="Number of parties holding shares (the dealer not counted).")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def dealer(parties, listen, peers, session_id, insecure, timeout, tls_cert, tls_key, tls_ca, as_json):
    """Deal the correlated randomness of one secure computation (the trusted third party); holds no input."""
    require("dealer", "mpc")
    from mpc.handshake import check_addresses
    from mpc.party import failure_text, listen_on, run_dealer

    if listen is None:
        raise click.UsageError("the dealer listens for the parties: give --listen HOST:PORT")
    if peers:
        raise click.UsageError("the dealer dials nobody: the parties dial it (no --peer)")
    tls = tls_config(tls_cert, tls_key, tls_ca)
    check_addresses([listen[0]], tls, insecure, None)
    listener = listen_on(listen)
    _announce_listener("dealer", listener)
    try:
        out = run_dealer(parties, listener=listener, timeout=timeout, tls=tls, session=session_id, insecure=insecure)
    except ApproxError:
        raise
    except Exception as exc:  # the parties were told; this process says it in one line too
        raise ApproxError(failure_text(exc)) from None
    if as_json:
        click.echo(dumps(out))
        return
    click.echo(f"dealt for {parties} parties: {out['offline_bytes']} bytes of derived shares, "
               + ", ".join(f"{k} {v}" for k, v in out["counts"].items()))
