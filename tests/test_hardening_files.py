"""Saves never lose a file; whatever can be built can be saved and loaded back; reads are bounded."""

from __future__ import annotations

import errno
import os
import stat
import threading

import numpy as np
import pytest

import gatekit
from gatekit import CircuitError, CircuitFileError, Composer, UsageError
from gatekit.circuit import GATE, INPUT, Circuit, Node
from gatekit.circuit_file import circuit_from_dict, circuit_to_dict
from cli_helpers import assert_error, invoke

REGISTRY = gatekit.load_registry(env={}, entry_points=())


def _good_file(tmp_path):
    path = tmp_path / "c.json"
    gatekit.save(gatekit.parse("q = x * y; f = q + 1", registry=REGISTRY), path)
    return path, path.read_bytes()


# -- item 2: atomic saves --------------------------------------------------------------------


def test_a_save_that_cannot_be_written_leaves_the_old_file_whole(tmp_path):
    path, before = _good_file(tmp_path)
    bad = Circuit([Node(INPUT, "x"), Node(GATE, "neg", (0,))], 1, REGISTRY, defaults={"x": np.ones(2)})
    with pytest.raises(CircuitFileError, match="only single numbers can be saved"):
        gatekit.save(bad, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]  # no temporary file left


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_full_disk_leaves_the_old_file_whole(tmp_path, monkeypatch, failing):
    path, before = _good_file(tmp_path)
    other = gatekit.parse("x - y", registry=REGISTRY)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if failing == "write":  # half the bytes reach the disk, then it is full
        real_fdopen = os.fdopen

        class HalfWritten:
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                self.handle.flush()
                full()

        monkeypatch.setattr(os, "fdopen", lambda fd, mode: HalfWritten(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(os, failing, full)
    with pytest.raises(CircuitFileError, match="No space left on device"):
        gatekit.save(other, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_a_save_interrupted_by_ctrl_c_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path, before = _good_file(tmp_path)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gatekit.save(gatekit.parse("x - y", registry=REGISTRY), path)
    monkeypatch.undo()
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_a_save_replaces_the_file_keeps_its_mode_and_follows_a_link(tmp_path):
    path, _ = _good_file(tmp_path)
    os.chmod(path, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(path)
    gatekit.save(gatekit.parse("x - y", registry=REGISTRY), link)
    assert link.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o640
    assert gatekit.load(path, registry=REGISTRY)(x=1.0, y=3.0) == -2.0


def test_saves_from_threads_never_leave_a_torn_file(tmp_path):
    path = tmp_path / "c.json"
    circuits = [gatekit.parse(" + ".join(["x"] * k), registry=REGISTRY) for k in (2, 50)]

    def write(c):
        for _ in range(20):
            gatekit.save(c, path)

    threads = [threading.Thread(target=write, args=(c,)) for c in circuits]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert gatekit.load(path, registry=REGISTRY)(x=1.0) in (2.0, 50.0)


# -- item 3: what can be built can be saved and loaded back ----------------------------------


@pytest.mark.parametrize("label", ["", " ", "\u2028", "\t\n", "bad\ud800"])
def test_a_label_a_file_could_not_hold_is_refused_when_built(label):
    c = Composer(REGISTRY)
    x = c.input("x")
    with pytest.raises(CircuitError, match="stage label"):
        (x * 2).named(label)
    with pytest.raises(CircuitError, match="stage label"):
        Circuit([Node(INPUT, "x"), Node(GATE, "neg", (0,), label=label)], 1, REGISTRY)


@pytest.mark.parametrize("name", ["", " ", "a b", "bad\ud800", "1x"])
def test_an_input_name_a_file_could_not_hold_is_refused_when_built(name):
    with pytest.raises(CircuitError, match="identifier"):
        Circuit([Node(INPUT, name)], 0, REGISTRY)


@pytest.mark.parametrize("label", ["#3", "x", "a#2", "ñ", " padded ", "\u00a0a", "q'"])
def test_odd_but_valid_labels_round_trip(tmp_path, label):
    c = Composer(REGISTRY)
    x = c.input("x")
    (x * 2).named("a")
    circuit = c.build(((x * 3).named("a") + x).named(label))
    path = tmp_path / "c.json"
    gatekit.save(circuit, path)
    back = gatekit.load(path, registry=REGISTRY)
    assert back.nodes == circuit.nodes and back.output == circuit.output


@pytest.mark.parametrize("field, value", [("id", "\ud800"), ("id", "\u2028"), ("label", " "), ("label", "")])
def test_a_file_with_such_a_label_is_refused_at_its_path(field, value):
    data = circuit_to_dict(gatekit.parse("q = x * 2", registry=REGISTRY))
    data["nodes"][0][field] = value
    with pytest.raises(CircuitFileError, match=rf"nodes\[0\]\.{field}"):
        circuit_from_dict(data, REGISTRY)


# -- item 6: bounded reads; item 9: what a path can be ----------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(CircuitFileError, match="not a regular file"):
        gatekit.load(fifo, registry=REGISTRY)
    assert_error(invoke("run", "--file", str(fifo)), 2, "not a regular file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_without_reading():
    with pytest.raises(CircuitFileError, match="not a regular file"):
        gatekit.load("/dev/zero", registry=REGISTRY)
    assert_error(invoke("run", "--file", "/dev/zero"), 2, "/dev/zero", "not a regular file")


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    import gatekit.bounded_files as bounded

    path, _ = _good_file(tmp_path)
    monkeypatch.setattr(bounded, "MAX_FILE_BYTES", 10)
    monkeypatch.setattr(bounded.read_limited, "__defaults__", (10,))
    with pytest.raises(CircuitFileError, match="more than the 10 gatekit reads"):
        gatekit.load(path, registry=REGISTRY)


@pytest.mark.parametrize("given", [None, 3, 0, True, 2.5, ["c.json"], {"path": "c.json"}])
def test_load_and_save_take_a_path_or_a_file_only(given, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    circuit = gatekit.parse("x * 2", registry=REGISTRY)
    with pytest.raises(UsageError, match=r"takes a file path \(str or pathlib.Path\) or an open file"):
        gatekit.load(given, registry=REGISTRY)
    with pytest.raises(UsageError, match=r"save\(\) takes a file path"):
        gatekit.save(circuit, given)
    os.fstat(0)  # stdin was not taken for a descriptor and closed


def test_a_path_with_a_nul_is_one_clear_error():
    with pytest.raises(CircuitFileError, match="NUL"):
        gatekit.load("a\x00b", registry=REGISTRY)
    with pytest.raises(CircuitFileError, match="NUL"):
        gatekit.save(gatekit.parse("x * 2", registry=REGISTRY), "a\x00b")
    with pytest.raises(CircuitFileError, match="NUL"):
        gatekit.load(b"a\x00b", registry=REGISTRY)


def test_a_bytes_path_still_works(tmp_path):
    path = bytes(tmp_path / "c.json")
    gatekit.save(gatekit.parse("x * 2", registry=REGISTRY), path)
    assert gatekit.load(path, registry=REGISTRY)(x=2.0) == 4.0
