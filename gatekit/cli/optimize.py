"""``gatekit optimize`` (one strategy) and ``gatekit compare`` (several, side by side)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

import gatekit

from ..errors import UsageError
from ..plot import plot_comparison, plot_run, require_matplotlib
from .chunked import ChunkOption, ClusterOption, circuit_and_points, on_cluster
from .circuits import POSITIONAL_SETTINGS, CircuitAndValues, FileOption, Words, circuit_and_values
from .completion import complete_strategy
from .markup import literal
from .progress import ProgressBar, wanted
from .session import NAME_COLUMN, Json, console, emit_json, fmt, registry_of, reports_errors, titled

__all__ = ["register", "parse_options"]

Steps = Annotated[int, typer.Option("--steps", help="How many steps each strategy takes.")]
Seed = Annotated[Optional[int], typer.Option("--seed", help="Seed for random strategies (reproducible runs).")]
Minimize = Annotated[bool, typer.Option("--minimize", help="Minimize the output instead of maximizing it.")]
Hold = Annotated[
    Optional[list[str]], typer.Option("--hold", metavar="NAME", help="Keep this input fixed (repeatable).")
]
StepSize = Annotated[
    Optional[float], typer.Option("--step-size", help="The strategy's step_size option.", show_default=False)
]
Options = Annotated[
    Optional[list[str]],
    typer.Option("--option", metavar="KEY=VALUE", help="A strategy option, e.g. h=1e-4 (repeatable).",
                 show_default=False),
]
Plot = Annotated[
    Optional[Path],
    typer.Option("--plot", metavar="FILE.png", help=literal("Also draw the run(s) to this image file (needs gatekit[plot])."),
                 show_default=False),
]
Budget = Annotated[
    Optional[int], typer.Option("--budget", help="Stop before using more forward evaluations than this.")
]


#: Settings of the run itself, which have their own command-line options.
RUN_SETTINGS = {
    "steps": "--steps", "seed": "--seed", "hold": "--hold", "budget": "--budget", "maximize": "--minimize",
    "strategy": "--strategy", "strategies": "--strategy", "start": "NAME=VALUE", "circuit": "EXPR or --file",
    "registry": "--plugin", "progress": None,
}


def parse_options(words: Sequence[str], step_size: float | None) -> dict[str, str]:
    """``--option KEY=VALUE`` words (and ``--step-size``) as strings for the strategy to parse."""
    options: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UsageError(f"--option expects KEY=VALUE (for example h=1e-4), got {word!r}")
        if key in RUN_SETTINGS:
            instead = RUN_SETTINGS[key]
            raise UsageError(f"{key!r} is a setting of the run, not a strategy option"
                             + (f": use {instead}" if instead else ""))
        if key in options:
            raise UsageError(f"option {key!r} is given twice")
        options[key] = value
    if step_size is not None:
        if "step_size" in options:
            raise UsageError("option 'step_size' is given twice (--step-size and --option step_size=...)")
        options["step_size"] = repr(step_size)
    return options


def _print_result(result: Any, names: Sequence[str]) -> None:
    from rich.table import Table

    direction = "maximize" if result.maximize else "minimize"
    rows = (
        ("start", result.start, result.start_output),
        ("final", result.final, result.final_output),
        ("best", result.best, result.best_output),
    )
    cells = {label: [fmt(point[n], 12) for n in names] + [fmt(output, 12)] for label, point, output in rows}
    headers = [*names, "output"]
    out = console()
    table = Table()
    # One column an input while they fit the width (3 characters of border and padding each);
    # else one row an input, so that no name or number is ever cut.
    widths = [max(len(h), *(len(cells[label][k]) for label in cells)) + 3 for k, h in enumerate(headers)]
    if 9 + sum(widths) <= out.width:
        table.add_column("", **NAME_COLUMN)
        for header in headers:
            table.add_column(header, justify="right", **NAME_COLUMN)
        for label, row in cells.items():
            table.add_row(label, *row)
    else:
        table.add_column("", **NAME_COLUMN)
        for label in cells:
            table.add_column(label, justify="right", **NAME_COLUMN)
        for k, header in enumerate(headers):
            table.add_row(header, *(cells[label][k] for label in cells))
    out.print(titled(f"{result.strategy}: {direction}, {result.steps_done} step(s), stopped: {result.stop_reason}",
                     table))
    if result.stop_detail:
        out.print(f"stopped: {result.stop_detail}")
    out.print(
        f"cost: {result.forward_evals} forward and {result.backward_evals} backward evaluations, "
        f"{result.seconds:.3g} s"
    )


def _print_comparison(results: list[Any]) -> None:
    from rich.table import Table

    table = Table()
    for column in ("strategy", "best output", "forward", "backward", "seconds", "stopped"):
        table.add_column(column, justify="left" if column in ("strategy", "stopped") else "right", **NAME_COLUMN)
    for r in results:
        table.add_row(r.strategy, fmt(r.best_output, 10), str(r.forward_evals), str(r.backward_evals),
                      f"{r.seconds:.3g}", r.stop_reason)
    console().print(titled("strategies compared (same circuit, start, steps and seed)", table))


def _one_strategy(given: list[str] | None) -> str:
    """The one ``--strategy`` of ``optimize``: given twice is a mistake, not "the last one"."""
    if not given:
        return "analytic-gradient"
    if len(set(given)) > 1:
        shown = " ".join(f"--strategy {name}" for name in given)
        raise UsageError(f"optimize runs one strategy, got {len(given)} ({', '.join(given)}); "
                         f"to run several side by side: gatekit compare EXPR ... {shown}")
    return given[0]


def register(app: typer.Typer) -> None:
    @app.command("optimize", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def optimize(
        ctx: typer.Context,
        words: Words = None,
        file: FileOption = None,
        strategy: Annotated[
            Optional[list[str]],
            typer.Option("--strategy", help=literal("A registered strategy [default: analytic-gradient]."),
                         autocompletion=complete_strategy, show_default=False),
        ] = None,
        steps: Steps = 100,
        step_size: StepSize = None,
        seed: Seed = None,
        minimize: Minimize = False,
        hold: Hold = None,
        option: Options = None,
        budget: Budget = None,
        points: Annotated[
            Optional[Path],
            typer.Option("--points", metavar="FILE", show_default=False,
                         help=literal("Climb the mean output over every point of a .npy file or Zarr store (a full-batch "
                                      "gradient, in chunks; needs gatekit[dask]); NAME=VALUE inputs are the ones climbed.")),
        ] = None,
        chunk: ChunkOption = None,
        cluster: ClusterOption = None,
        plot: Plot = None,
        json: Json = False,
    ) -> None:
        """Climb (or descend) the circuit's output with one strategy, from the given point."""
        name = _one_strategy(strategy)
        if plot is not None:
            require_matplotlib()  # before the run, not after it
        registry = registry_of(ctx)
        registry.strategy(name)  # an unknown strategy first, before the circuit
        if points is not None:
            from .. import dask as gatekit_dask

            circuit, source, columns, start = circuit_and_points(words, file, points, chunk, registry, "optimize")
            objective = gatekit_dask.objective(circuit, columns, chunks=chunk or "auto")
            n = int(next(iter(columns.values())).size)
            given = CircuitAndValues(objective, f"the mean of {source} over {n} points of {points}", start)
        elif chunk is not None or cluster is not None:
            raise UsageError("--chunk and --cluster go with --points FILE")
        else:
            given = circuit_and_values(words, file, registry, "optimize")
        with ProgressBar([name], wanted(json)) as progress, on_cluster(cluster):
            result = gatekit.optimize(
                given.circuit, given.values, name, steps=steps, maximize=not minimize, hold=hold or (),
                seed=seed, budget=budget, registry=registry, progress=progress,
                **parse_options(option or (), step_size),
            )
        if json:
            emit_json(result.to_dict() if points is None else {**result.to_dict(), "points_file": str(points),
                                                               "output_is": "mean over the points"})
        else:
            _print_result(result, given.circuit.inputs)
            if points is not None:
                console().print(f"output: {given.source}")
        if plot is not None:
            plot_run(result, given.circuit, plot)
            typer.echo(f"wrote {plot}", err=True)

    @app.command("compare", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def compare(
        ctx: typer.Context,
        words: Words = None,
        file: FileOption = None,
        strategy: Annotated[
            Optional[list[str]],
            typer.Option("--strategy", help="Compare only these strategies (repeatable; default: all).",
                         autocompletion=complete_strategy, show_default=False),
        ] = None,
        steps: Steps = 100,
        step_size: StepSize = None,
        seed: Seed = None,
        minimize: Minimize = False,
        hold: Hold = None,
        option: Options = None,
        budget: Budget = None,
        plot: Plot = None,
        json: Json = False,
    ) -> None:
        """Every registered strategy (or those named) on the same circuit, start and budget."""
        if plot is not None:
            require_matplotlib()
        registry = registry_of(ctx)
        for name in strategy or ():
            registry.strategy(name)
        given = circuit_and_values(words, file, registry, "compare")
        names = list(strategy) if strategy else registry.strategy_names()
        with ProgressBar(names, wanted(json)) as progress:
            results = gatekit.compare(
                given.circuit, given.values, names, steps=steps, maximize=not minimize, hold=hold or (),
                seed=seed, budget=budget, registry=registry, progress=progress,
                **parse_options(option or (), step_size),
            )
        if json:
            emit_json([r.to_dict() for r in results])
        else:
            _print_comparison(results)
        if plot is not None:
            plot_comparison(results, plot)
            typer.echo(f"wrote {plot}", err=True)
