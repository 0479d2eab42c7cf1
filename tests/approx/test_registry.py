"""The JSON registry: round trips, atomic locked writes, and refusal of bad files."""

import json
import multiprocessing
import os

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from approx import Approximation, ErrorFigures, Registry, RegistryError, UnknownNameError, fit
from approx.registry import ENV_VAR
from tests.strategies import FUNCS, METHODS, cached_fit, intervals


def small(name: str, value: float = 0.5) -> Approximation:
    return Approximation(name=name, func="sigmoid", method="chebyshev", degree=1, domain=(-1.0, 1.0),
                         kind="chebyshev", coef=np.array([value, 0.25]), errors=ErrorFigures(0.1, 0.1, 0.05))


def test_round_trip_keeps_everything(tmp_path):
    reg = Registry(tmp_path / "r.json")
    a = fit("tanh", 5, method="minimax", frac_bits=16)
    reg.add(a)
    b = reg.get(a.name)
    assert b.to_dict() == a.to_dict()
    assert np.array_equal(b.coef, a.coef)
    assert b.fixed_point == a.fixed_point
    assert reg.names() == [a.name]


def test_add_replaces_and_remove_deletes(tmp_path):
    reg = Registry(tmp_path / "r.json")
    reg.add(small("x", 0.5))
    reg.add(small("x", 0.75))
    assert reg.get("x").coef[0] == 0.75
    reg.remove("x")
    assert reg.names() == []
    with pytest.raises(UnknownNameError):
        reg.remove("x")


def test_missing_file_is_an_empty_registry(tmp_path):
    assert Registry(tmp_path / "none.json").names() == []


@pytest.mark.parametrize("content", ["{not json", json.dumps({"foo": 1}), json.dumps([1, 2]),
                                     json.dumps({"schema": "approx-registry", "schema_version": 99,
                                                 "activations": {}})])
def test_corrupt_foreign_or_newer_file_is_refused_and_left_alone(tmp_path, content):
    path = tmp_path / "r.json"
    path.write_text(content)
    reg = Registry(path)
    with pytest.raises(RegistryError):
        reg.names()
    with pytest.raises(RegistryError):
        reg.add(small("x"))
    assert path.read_text() == content


def test_environment_variable_names_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.json"))
    Registry().add(small("x"))
    assert json.loads((tmp_path / "env.json").read_text())["activations"]["x"]["name"] == "x"


def _writer(path: str, prefix: str, count: int) -> None:
    reg = Registry(path)
    for i in range(count):
        reg.add(small(f"{prefix}{i}", float(i)))


def test_two_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "r.json")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, p, 25)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    names = Registry(path).names()
    assert len(names) == 50
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


@given(st.sampled_from(FUNCS), st.integers(0, 9), st.sampled_from(METHODS), intervals(),
       st.one_of(st.none(), st.integers(8, 30)))
def test_any_fit_survives_a_json_round_trip(tmp_path_factory, func, degree, method, interval, frac_bits):
    a = cached_fit(func, degree, method, interval)
    if frac_bits is not None:
        a = fit(func, degree, method=method, interval=interval, frac_bits=frac_bits)
    reg = Registry(tmp_path_factory.mktemp("reg") / "r.json")
    reg.add(a)
    b = reg.get(a.name)
    assert b.to_dict() == a.to_dict()
    x = np.linspace(*interval, 7)
    assert np.array_equal(b(x), a(x))


def test_writes_go_through_the_shared_atomic_helper_with_fsync_and_keep_the_mode(tmp_path, monkeypatch):
    import stat

    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real(fd))
    path = tmp_path / "r.json"
    reg = Registry(path)
    reg.add(cached_fit("sigmoid", 3, "chebyshev", (-8.0, 8.0)))
    path.chmod(0o640)
    reg.add(cached_fit("tanh", 3, "chebyshev", (-4.0, 4.0)))
    assert len(synced) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.json.lock"]
