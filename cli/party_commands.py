"""``approx party`` and ``approx dealer``: one role of a secure inference per process, for runs across hosts (the
dealer deals for a training too: ``approx party-train``).

The model owner holds only the model file, the data owner only its load data,
the dealer nothing; the public parts (configuration, activations and their
coefficients, weight and input bounds, window length) travel in the protocol
and are checked on arrival, and the parties agree at set-up on the rest
(fractional bits, truncation, failure budget, session, protocol version).  See
docs/secure-deployment.md for a two-host run.
"""

from __future__ import annotations


import click

from approx.errors import ApproxError
from approx.strict_json import dumps
from cli.app import approx, registry_option
from cli.extras import require
from cli.secure_commands import (allow_out_of_range_option, safety_options, timeout_option, tls_config, tls_options,
                                 warn_out_of_range)
from cli.train_commands import with_data_options

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


def announce_listener(name: str, listener) -> None:
    host, port = listener.getsockname()[:2]
    click.echo(f"approx: {name} listening on {host}:{port}", err=True)


def party_peers(role: str, peers, listen) -> tuple[int, dict]:
    """(this party's id, peer id -> address), refused unless the addresses this role needs are given.

    Raises
    ------
    click.UsageError
        Without the dealer's address; for the data owner without the model owner's; for the model owner
        without --listen.
    """
    from mpc.wire import DEALER

    me, peer_map = ROLE_IDS[role], dict(peers)
    if DEALER not in peer_map:
        raise click.UsageError("give the dealer's address: --peer dealer=HOST:PORT")
    if me == 1 and 0 not in peer_map:
        raise click.UsageError("the data owner dials the model owner: give --peer model-owner=HOST:PORT")
    if me == 0 and listen is None:
        raise click.UsageError("the model owner listens for the data owner: give --listen HOST:PORT")
    return me, peer_map


def run_role(program, me: int, peer_map: dict, listener, args: tuple, *, timeout: float, tls, session: str,
             params: dict, insecure: bool) -> dict:
    """:func:`mpc.party.run_party` as party ``me`` of 2; any failure becomes one line (ApproxError), the peers
    having been told."""
    from mpc.party import failure_text, run_party
    from mpc.wire import DEALER

    try:
        return run_party(program, me, 2, peers={k: v for k, v in peer_map.items() if k != DEALER},
                         dealer=peer_map[DEALER], listener=listener, args=args, timeout=timeout, tls=tls,
                         session=session, params=params, insecure=insecure)
    except ApproxError:
        raise
    except Exception as exc:  # the peers were told; this process says it in one line too
        raise ApproxError(failure_text(exc)) from None


def party_listener(role: str, listen, peer_map: dict, tls, insecure: bool):
    """Refuse plaintext beyond loopback (unless ``insecure``), then listen on ``listen`` (if given) and say where.

    Returns
    -------
    socket.socket or None
    """
    from mpc.handshake import check_addresses
    from mpc.party import listen_on

    check_addresses([address[0] for address in (listen, *peer_map.values()) if address], tls, insecure, None)
    listener = listen_on(listen) if listen is not None else None
    if listener is not None:
        announce_listener(role, listener)
    return listener


@approx.command("party")
@click.option("--role", type=click.Choice(["model-owner", "data-owner"]), required=True,
              help="model-owner (party 0) holds --model; data-owner (party 1) holds --data and learns the forecasts.")
@click.option("--model", "model_file", type=click.Path(exists=True, dir_okay=False),
              help="The model owner's model file; or, for a model trained with --keep-shared, this party's own "
                   "share file (MODEL.party0.npz at the model owner, MODEL.party1.npz at the data owner).")
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
    from cli.model_shares import is_share_file, read_shares
    from cli.secure_infer_command import shares_part, write_forecasts
    from mpc.inference import forecast_program
    from nn.provenance import model_dataset

    me, peer_map = party_peers(role, peers, listen)
    if me == 0 and model_file is None:
        raise click.UsageError("--model is the model owner's input: give it to --role model-owner")
    if me == 0 and (data or output or limit):
        raise click.UsageError("--data, --limit and --output are the data owner's: the model owner holds only --model")
    tls = tls_config(tls_cert, tls_key, tls_ca)
    shared = None
    if model_file is not None and is_share_file(model_file):
        header, arrays = read_shares(model_file)
        if header["party"] != me:
            raise ApproxError(f"{model_file} is party {header['party']}'s share file; the {role} (party {me}) "
                              f"inputs its own, MODEL.party{me}.npz")
        shared = (header, arrays)
    elif me == 1 and model_file is not None:
        raise click.UsageError("the data owner holds no model: --model at the data owner is its share file of a "
                               "model kept shared (MODEL.party1.npz)")
    model = data_part = dataset = None
    if me == 0 and shared is not None:
        model = shares_part([shared])
    elif me == 0:
        from mpc.forecaster import check_activations
        from nn.secure_inputs import read_forecaster_inputs

        model = read_forecaster_inputs(model_file, registry=registry)[0]
        check_activations(model["activations"])
    else:
        dataset = {}
        recorded = (shared[0].get("model_metadata") or {}) if shared else {}

        def windows(features):
            meta = {**recorded, "features": {"window": features["window"], "lags": features["lags"]}}
            if features["scaling"] is not None:  # the model's min-max scaling, announced by the model owner
                meta["scaling"] = dict(zip(("load_min", "load_max"), features["scaling"]))
            ds = model_dataset(meta, data, time_column, load_column, holiday_calendar)
            x = ds.x if split == "all" else ds.part(split)[0]
            dataset["ds"], dataset["x"] = ds, x[:limit] if limit else x
            return dataset["x"]

        data_part = {"windows": windows, "batch_size": batch_size}
        if shared is not None:
            data_part.update({"public": shared[0]["public"], "shares": {1: shared[1]}})
    listener = party_listener(role, listen, peer_map, tls, insecure)
    settings = {"frac_bits": frac_bits, "truncation": truncation, "budget": budget,
                "allow_out_of_range": allow_out_of_range,
                "on_plan": lambda planned, acts: warn_out_of_range(planned.out_of_range, acts)}
    # both parties plan the same fractional bits and truncation from the same announcements; what they were
    # asked for must agree at set-up
    params = {"program": PROGRAM, "frac_bits": "auto" if frac_bits is None else frac_bits, "truncation": truncation,
              "max_failure_probability": budget, "allow_out_of_range": allow_out_of_range,
              "weights": "shares" if shared is not None else "model owner"}
    result = run_role(forecast_program, me, peer_map, listener, (model, data_part, settings), timeout=timeout,
                      tls=tls, session=session_id, params=params, insecure=insecure)
    value = result["value"]
    summary = {"role": role, "frac_bits": value["plan"]["frac_bits"], "truncation": value["plan"]["truncation"],
               "max_failure_probability": budget,
               "truncation_failure_bound": value["stats"].truncation_failure_bound,
               "out_of_range": value["plan"]["out_of_range"], "rounds": value["stats"].rounds,
               "bytes_sent": result["wire_bytes"], "online_seconds": value["online_seconds"]}
    if me == 1:
        from nn.metrics import scores

        ds, x = dataset["ds"], dataset["x"]
        forecasts = ds.to_mw(value["forecasts"])
        if output:
            write_forecasts(output, forecasts)
        summary.update({"windows": len(x), "split": split, "output": output})
        if split != "all":
            actual = ds.loads[ds.target_pos[ds.splits[split]]][:len(x)]
            summary["secure"] = scores(forecasts, actual).as_dict()
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
    """Deal the correlated randomness of one secure computation -- an inference (approx party) or a training
    (approx party-train) -- as the trusted third party; holds no input."""
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
    announce_listener("dealer", listener)
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
