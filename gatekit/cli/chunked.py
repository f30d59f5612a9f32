"""``gatekit run EXPR NAME=VALUE ... --points FILE``: the circuit over every point of a file, in chunks.

The points are read chunk by chunk (a memory-mapped ``.npy`` or a Zarr store, see
:mod:`gatekit.points`) and each chunk goes forward and backward through the engine, on
dask's own scheduler, a local cluster (``--cluster local``) or a ``dask.distributed``
scheduler (``--cluster tcp://HOST:PORT``). What comes back is a summary: the output and
each point input's gradient as sum, mean, min and max, and each shared input's (given as
NAME=VALUE) gradient summed over every point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..registry import Registry
from .circuits import load_circuit, split_words
from .markup import literal
from .session import NAME_COLUMN, console, emit_json, fmt, titled
from .values import parse_assignments

__all__ = ["PointsOption", "ChunkOption", "ClusterOption", "OutOption", "run_points", "points_report", "circuit_and_points",
           "on_cluster"]

PointsOption = Annotated[
    Optional[Path],
    typer.Option("--points", metavar="FILE", show_default=False,
                 help=literal("Evaluate at every point of a .npy file or Zarr store, in chunks (needs gatekit[dask]); "
                              "NAME=VALUE inputs are shared by every point.")),
]
ChunkOption = Annotated[
    Optional[int], typer.Option("--chunk", min=1, show_default=False, help="Points a chunk with --points (default: auto).")
]
OutOption = Annotated[
    Optional[Path],
    typer.Option("--out", metavar="FILE", show_default=False,
                 help="With --points: write the output and each point input's gradient at every point to a .npy "
                      "file (fields output, grad_NAME) or a Zarr store (FILE.zarr)."),
]
ClusterOption = Annotated[
    Optional[str],
    typer.Option("--cluster", metavar="ADDRESS", show_default=False,
                 help="With --points: 'local' starts a local dask cluster; an address (tcp://...) uses that scheduler."),
]


def on_cluster(cluster: str | None) -> Any:
    """A context in which dask computes on ``--cluster``'s cluster (or on dask's own scheduler)."""
    import contextlib

    if cluster is None:
        return contextlib.nullcontext()
    from .. import dask as gatekit_dask

    return gatekit_dask.client(None if cluster == "local" else cluster)


def _summary(stats: list[Any], n: int) -> dict[str, float]:
    """sum, mean, min and max, from ``[sum, min, max]`` over ``n`` points."""
    sum_, min_, max_ = (float(v) for v in stats)
    return {"sum": sum_, "mean": sum_ / n, "min": min_, "max": max_}


def points_report(circuit: Any, values: dict[str, Any], chunks: Any, cluster: str | None,
                  out_file: Path | None = None) -> dict[str, Any]:
    """The ``--json`` object: computed here, in one dask pass over the points (writing ``out_file`` too)."""
    import dask

    from .. import dask as gatekit_dask
    from ..errors import UsageError
    from ..points import store_points

    out, grads = gatekit_dask.gradient(circuit, values, chunks=chunks)
    per_point = [name for name in circuit.inputs if grads[name].ndim]
    wanted: list[Any] = [out.sum(), out.min(), out.max()]
    for name in circuit.inputs:
        g = grads[name]
        wanted += [g.sum(), g.min(), g.max()] if g.ndim else [g]
    if out_file is not None:
        if cluster is not None and out_file.suffix == ".npy":
            raise UsageError("--out FILE.npy is written from this process; with --cluster, write a Zarr store "
                             "(--out FILE.zarr)")
        results_by_point = {"output": out, **{f"grad_{name}": grads[name] for name in per_point}}
        if any(g.shape != out.shape for g in results_by_point.values()):
            raise UsageError("--out needs every point input in the shape of the output (no broadcast inputs)")
        wanted.append(store_points(out_file, results_by_point))
    with on_cluster(cluster):
        results = list(dask.compute(*wanted))
    n = int(out.size)
    report: dict[str, Any] = {"points": n, "chunks": int(out.npartitions), "output": _summary(results[:3], n),
                              "inputs": {}}
    k = 3
    for name in circuit.inputs:
        if name in per_point:
            report["inputs"][name] = {"from": "points", "value": None, "grad": _summary(results[k:k + 3], n)}
            k += 3
        else:
            report["inputs"][name] = {"from": "value", "value": values.get(name, circuit.defaults.get(name)),
                                      "grad": float(results[k])}
            k += 1
    if out_file is not None:
        report["out"] = str(out_file)
    return report


def circuit_and_points(words: list[str] | None, file: Path | None, points: Path, chunk: int | None,
                       registry: Registry, command: str) -> tuple[Any, str, dict[str, Any], dict[str, Any]]:
    """(circuit, its source, the points file's inputs as dask arrays, the NAME=VALUE inputs)."""
    from ..errors import UsageError
    from ..points import read_points

    expression, assignments = split_words(words or (), file, command)
    given = parse_assignments(assignments, command)
    circuit = load_circuit(expression, file, registry)
    unnamed = [name for name in circuit.inputs if name not in given]
    columns = read_points(points, unnamed, chunks=chunk or "auto")
    both = sorted(set(columns) & set(given))
    if both:
        raise UsageError(f"input {both[0]!r} is given twice: in the points file and as {both[0]}=VALUE")
    return circuit, expression if expression is not None else str(file), columns, given


def run_points(words: list[str] | None, file: Path | None, points: Path, chunk: int | None, cluster: str | None,
               registry: Registry, json: bool, out_file: Path | None = None) -> None:
    circuit, source, columns, given = circuit_and_points(words, file, points, chunk, registry, "run")
    report = points_report(circuit, {**columns, **given}, chunk or "auto", cluster, out_file)
    if json:
        emit_json(report)
        return
    from rich.table import Table

    table = Table()
    table.add_column("", **NAME_COLUMN)
    for column in ("sum", "mean", "min", "max"):
        table.add_column(column, justify="right")
    stats = ("sum", "mean", "min", "max")
    table.add_row("output", *(fmt(report["output"][s], 8) for s in stats))
    shared = []
    for name, row in report["inputs"].items():
        if row["from"] == "points":
            table.add_row(f"d out / d {name}", *(fmt(row["grad"][s], 8) for s in stats))
        else:
            shared.append(f"{name} = {fmt(row['value'])}: d (sum of out) / d {name} = {fmt(row['grad'], 12)}")
    out = console()
    out.print(titled(f"{source} at {report['points']} points ({report['chunks']} chunks)", table))
    for line in shared:
        out.print(line)
    if out_file is not None:
        out.print(f"every point's output and gradients: {out_file}")
