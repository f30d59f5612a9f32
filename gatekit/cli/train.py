"""``gatekit train`` (fit a model to data, with any strategy) and ``gatekit predict`` (use a saved one)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

from .. import datasets
from ..errors import UsageError
from ..model_file import load_model, save_model
from ..nn import LOSSES
from ..train import Training, decay, train
from .chunked import on_cluster
from .circuits import POSITIONAL_SETTINGS
from .completion import complete_strategy
from .optimize import Options, parse_options
from .progress import ProgressBar, wanted
from .session import Json, console, emit_json, fmt, registry_of, reports_errors, titled

__all__ = ["register"]

Label = Annotated[
    Optional[str], typer.Option("--label", help="The label column of a data file: a 1-based number or a header "
                                                "name (default: the last).", show_default=False)
]
Features = Annotated[
    Optional[str], typer.Option("--features", help="The feature columns of a data file, comma-separated "
                                                   "(default: every column but the label).", show_default=False)
]


def _columns(text: str | None) -> list[int | str] | None:
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise UsageError(f"--features expects columns separated by commas, got {text!r}")
    return [int(p) if p.lstrip("-").isdigit() else p for p in parts]


def _data(name: str, points: int, seed: int, label: str | None, features: str | None) -> datasets.Dataset:
    generated = name in datasets.GENERATED or name == "six-points"
    if generated and (label is not None or features is not None):
        raise UsageError("--label and --features choose the columns of a data file, not of a generated dataset")
    if generated:
        return datasets.dataset(name, n=points, seed=seed)
    if not Path(name).exists():
        return datasets.dataset(name)  # the unknown-name error, with suggestions
    column = int(label) if label is not None and label.lstrip("-").isdigit() else label
    return datasets.load_table(name, -1 if column is None else column, _columns(features))


def _history_rows(run: Training) -> list[int]:
    """About ten evenly spaced steps, always the first and the last."""
    last = run.steps_done
    stride = max(1, last // 10)
    return sorted(set(range(0, last + 1, stride)) | {last})


def _print_training(run: Training, data: Any) -> None:
    """The run's history as a table; ``data`` is a Dataset, or the chunked data's (name, points)."""
    from rich.table import Table

    table = Table()
    for column in ("step", "loss on the batch" if run.batch else "loss", "accuracy"):
        table.add_column(column, justify="right")
    for k in _history_rows(run):
        table.add_row(str(k), fmt(run.loss[k], 6), f"{run.accuracy[k]:.1%}")
    out = console()
    batch = f"batches of {run.batch}" if run.batch else "full batch"
    name, n = data if isinstance(data, tuple) else (data.name, len(data))
    out.print(titled(f"{run.network.describe()} on {name} ({n} points), {run.loss_name} loss"
                     f"{f' + {run.l2:g} L2' if run.l2 else ''}; {run.strategy}, {batch}, "
                     f"stopped: {run.stop_reason}", table))
    if run.stop_detail:
        out.print(f"stopped: {run.stop_detail}")
    out.print(f"cost: {run.forward_evals} forward and {run.backward_evals} backward evaluations by the optimiser, "
              f"{run.accuracy_forwards} forward for accuracy, {run.seconds:.3g} s")


#: The defaults, and why they are not the lesson's recipe (tests/test_cli_train.py checks each figure).
TRAIN_HELP = (
    "Train a model made of gates on a dataset, with any strategy as the optimiser.\n\n"
    "The defaults are safe rather than the lesson's: a constant step of 0.01, with which the moons MLP "
    "ends at 89%. The lesson's recipe, --step-size 1 --schedule decay, reaches 100% on moons and circles "
    "(hinge or logistic loss) but is not the default: on the blobs MLP and with the squared loss it "
    "diverges (the loss grows without bound, every relu of the second layer dies) and ends at 50%."
)


def register(app: typer.Typer) -> None:
    @app.command("train", help=TRAIN_HELP)
    @reports_errors
    def train_command(
        ctx: typer.Context,
        data: Annotated[str, typer.Option("--data", help="moons, circles, blobs, six-points, or a CSV/.npy file.")]
        = "moons",
        model: Annotated[str, typer.Option("--model", help="linear, or mlp:H1,H2,... (hidden layer sizes).")]
        = "mlp:16,16",
        loss: Annotated[str, typer.Option("--loss", help=f"The per-point loss: {', '.join(LOSSES)}.")] = "hinge",
        steps: Annotated[int, typer.Option("--steps", help="How many steps the optimiser takes.")] = 100,
        strategy: Annotated[str, typer.Option("--strategy", help="Any registered strategy (the optimiser).",
                                              autocompletion=complete_strategy)] = "analytic-gradient",
        step_size: Annotated[Optional[float], typer.Option(
            "--step-size", help="The strategy's step_size (the learning rate; default: the strategy's own, "
                                "0.01 for analytic-gradient).", show_default=False)] = None,
        schedule: Annotated[str, typer.Option(
            "--schedule", help="constant, or decay: step_size * (1 - 0.9 k / steps) at step k.")] = "constant",
        batch: Annotated[Optional[int], typer.Option(
            "--batch", help="Points per step (minibatches; default: all of them).", show_default=False)] = None,
        l2: Annotated[float, typer.Option("--l2", help="L2 regularisation: this times the sum of squared "
                                                       "parameters is added to the loss.")] = 1e-4,
        gates: Annotated[str, typer.Option("--gates", help="layer (one linear gate per layer, fast) or scalar "
                                                           "(a gate per multiply, every neuron visible).")]
        = "layer",
        points: Annotated[int, typer.Option("--points", help="How many points a generated dataset has.")] = 100,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the generated data, the starting weights, the "
                                                        "minibatches and random strategies.")] = 0,
        label: Label = None,
        features: Features = None,
        option: Options = None,
        plot: Annotated[Optional[Path], typer.Option(
            "--plot", help="Save the decision boundary as a PNG (needs matplotlib: the plot extra).",
            show_default=False)] = None,
        save: Annotated[Optional[Path], typer.Option(
            "--save", help="Save the trained model (circuit and parameters) as JSON.", show_default=False)] = None,
        chunk: Annotated[Optional[int], typer.Option(
            "--chunk", min=1, show_default=False,
            help="Train on a .npy file in chunks of this many rows, memory-mapped (needs the dask extra): "
                 "each step's gradient is the full batch's, summed over the chunks.")] = None,
        cluster: Annotated[Optional[str], typer.Option(
            "--cluster", metavar="ADDRESS", show_default=False,
            help="Train in chunks on a dask cluster: 'local' starts one here, an address (tcp://...) uses that "
                 "scheduler.")] = None,
        json: Json = False,
    ) -> None:
        """Train a model made of gates on a dataset, with any strategy as the optimiser (help: TRAIN_HELP)."""
        registry = registry_of(ctx)
        if gates not in ("layer", "scalar"):
            raise UsageError(f"--gates must be layer or scalar, got {gates!r}")
        if schedule not in ("constant", "decay"):
            raise UsageError(f"--schedule must be constant or decay, got {schedule!r}")
        options: dict[str, Any] = parse_options(option or (), step_size)
        rate = None
        if schedule == "decay":
            given = options.pop("step_size", None)
            rate = decay(float(given) if given is not None else _default_step(registry, strategy), steps)
        if plot is not None:
            from ..plot import require_matplotlib

            require_matplotlib()  # a missing extra is an error before the training, not after it
        if chunk is not None or cluster is not None:
            _train_chunked(ctx, data, chunk, cluster, label, features, plot, model, loss, l2, strategy, steps, batch,
                           seed, rate, gates, save, json, options)
            return
        dataset = _data(data, points, seed, label, features)
        if plot is not None and dataset.X.shape[1] != 2:
            raise UsageError(f"--plot draws a decision boundary over two features; {dataset.name} has "
                             f"{dataset.X.shape[1]}")
        with ProgressBar([f"training {model}"], wanted(json)) as progress:
            run = train(dataset, model, loss, l2=l2, strategy=strategy, steps=steps, batch=batch, seed=seed,
                        schedule=rate, layers=gates == "layer", registry=registry, progress=progress, **options)
        if save is not None:
            save_model(run.model, save)
        if plot is not None:
            from ..boundary import plot_boundary

            plot_boundary(run.model, dataset, plot)
        if json:
            emit_json({**run.to_dict(), "data": dataset.name, "points": len(dataset),
                       "saved": str(save) if save else None, "plot": str(plot) if plot else None})
            return
        _print_training(run, dataset)
        for what, path in (("model", save), ("decision boundary", plot)):
            if path is not None:
                console().print(f"{what} saved to {path}")

    def _train_chunked(ctx: typer.Context, data: str, chunk: int | None, cluster: str | None, label: str | None,
                       features: str | None, plot: Path | None, model: str, loss: str, l2: float, strategy: str,
                       steps: int, batch: int | None, seed: int, rate: Any, gates: str, save: Path | None, json: bool,
                       options: dict[str, Any]) -> None:
        """``--chunk``/``--cluster``: the data file read in chunks, the gradient summed over them in dask."""
        from ..dask_train import read_table

        if plot is not None:
            raise UsageError("--plot draws from data in memory; leave out --chunk and --cluster to plot")
        column = int(label) if label is not None and label.lstrip("-").isdigit() else label
        X, y = read_table(data, -1 if column is None else column, _columns(features), chunk)
        shown = (Path(data).name, int(X.shape[0]))
        with on_cluster(cluster), ProgressBar([f"training {model}"], wanted(json)) as progress:
            run = train((X, y), model, loss, l2=l2, strategy=strategy, steps=steps, batch=batch, seed=seed,
                        schedule=rate, layers=gates == "layer", registry=registry_of(ctx), progress=progress,
                        **options)
        if save is not None:
            save_model(run.model, save)
        if json:
            emit_json({**run.to_dict(), "data": shown[0], "points": shown[1], "chunks": int(X.numblocks[0]),
                       "saved": str(save) if save else None, "plot": None})
            return
        _print_training(run, shown)
        if save is not None:
            console().print(f"model saved to {save}")

    @app.command("predict", context_settings=POSITIONAL_SETTINGS)
    @reports_errors
    def predict_command(
        model: Annotated[Path, typer.Argument(help="A model saved by gatekit train --save.", show_default=False)],
        points: Annotated[Optional[list[str]], typer.Argument(
            metavar="POINT...", help="Points as comma-separated features, e.g. 0.5,-0.2 (or --data).",
            show_default=False)] = None,
        data: Annotated[Optional[Path], typer.Option(
            "--data", help="A CSV/.npy file of points with labels: predictions and accuracy.", show_default=False)]
        = None,
        label: Label = None,
        features: Features = None,
        json: Json = False,
    ) -> None:
        """Predict labels (+1/-1) and scores with a saved model, for points or a labelled data file."""
        trained = load_model(model)
        n = trained.network.n_inputs
        truth = None
        if data is not None:
            if points:
                raise UsageError("give points or --data, not both")
            table = _data(str(data), 0, 0, label, features)
            X, truth = table.X, table.y
        elif points:
            X = np.array([_point(word, n) for word in points])
        else:
            raise UsageError(f"no points: give POINT... ({n} comma-separated features each) or --data FILE")
        scores = trained.scores(X)
        labels = np.where(scores > 0, 1, -1)
        accuracy = None if truth is None else float(np.mean(labels == truth))
        if json:
            emit_json({"features": list(trained.feature_names), "accuracy": accuracy,
                       "predictions": [{"point": list(x), "score": s, "label": int(l)}
                                       for x, s, l in zip(X, scores, labels)]})
            return
        from rich.table import Table

        out = Table()
        for column in (*trained.feature_names, "score", "label"):
            out.add_column(column, justify="right")
        for x, s, l in zip(X, scores, labels):
            out.add_row(*[fmt(v, 6) for v in x], fmt(s, 6), f"{l:+d}")
        console().print(titled(f"{trained.network.describe()}: {len(X)} point(s)", out))
        if accuracy is not None:
            console().print(f"accuracy: {accuracy:.1%} of {len(X)} labelled points")


def _default_step(registry: Any, strategy: str) -> float:
    for option in registry.strategy(strategy).options:
        if option.name == "step_size":
            return float(option.default)
    raise UsageError(f"--schedule decay needs a strategy with a step_size; {strategy!r} has none")


def _point(word: str, n: int) -> list[float]:
    parts = [p.strip() for p in word.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise UsageError(f"point {word!r}: expected {n} comma-separated numbers") from None
    if len(values) != n or not all(np.isfinite(values)):
        raise UsageError(f"point {word!r}: expected {n} comma-separated finite numbers, got {len(values)}")
    return values
