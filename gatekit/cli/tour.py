"""``gatekit tour``: the lesson, computed live through the public API.

Every number shown is computed here, by the same calls a user makes
(``gatekit.parse``, ``gatekit.optimize``, ``Trace``, ``gatekit.numerical_gradient``,
``gatekit.check_circuit``); none is typed in. :func:`tour_data` is the data
(``gatekit tour --json``); :func:`print_tour` shows it to people.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

import gatekit

from ..registry import Registry
from .gates import evaluate_gate
from .markup import literal
from .run import gate_call, run_report
from .session import console, emit_json, fmt, registry_of, reports_errors, titled
from .values import is_number

__all__ = ["register", "tour_data", "print_tour", "PRODUCT", "BACKWARD", "NEURON", "SIGMOID_NEURON"]

PRODUCT = "x * y"
PRODUCT_START = {"x": 1.0, "y": -3.0}
BACKWARD = "q = x + y; f = q * z"
BACKWARD_AT = {"x": -2.0, "y": 5.0, "z": -4.0}
#: The neuron as the lesson decomposes it: mul, mul, add, add, neg, exp, add 1, reciprocal.
NEURON = ("mult1 = w0 * x0; mult2 = w1 * x1; add1 = mult1 + mult2; add2 = add1 + w2; "
          "neg = -add2; exp1 = exp(neg); add3 = 1 + exp1; f = reciprocal(add3)")
SIGMOID_NEURON = "f = sigmoid(w0 * x0 + w1 * x1 + w2)"
NEURON_AT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
#: h of the lesson's numerical gradient (forward differences) and of the numerical check.
H = 1e-4

#: The four strategies of the lesson: (strategy, how it is set up, settings for optimize).
LESSON_STRATEGIES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("random-search", "100 draws in [-5, 0)", {"steps": 1, "low": -5.0, "high": 0.0, "candidates": 100}),
    ("local-search", "100 nudges of the start, each up to 0.01",
     {"steps": 1, "candidates": 100, "step_size": 0.01, "anchor": "start"}),
    ("numerical-gradient", "forward differences, h = 1e-4; one step of 0.01",
     {"steps": 1, "h": H, "difference": "forward", "step_size": 0.01}),
    ("analytic-gradient", "backprop; one step of 0.001", {"steps": 1, "step_size": 0.001}),
)


def _strategies(registry: Registry, seed: int) -> dict[str, Any]:
    circuit = gatekit.parse(PRODUCT, registry=registry)
    runs = []
    for name, how, settings in LESSON_STRATEGIES:
        result = gatekit.optimize(circuit, PRODUCT_START, name, seed=seed, registry=registry, **settings)
        runs.append({
            "strategy": name,
            "how": how,
            "settings": settings,
            "best_output": result.best_output,
            "best": result.best,
            "final_output": result.final_output,
            "final": result.final,
            "evaluations": {"forward": result.forward_evals, "backward": result.backward_evals},
        })
    numerical = gatekit.numerical_gradient(lambda v: circuit.forward(v).output, PRODUCT_START, h=H, difference="forward")
    _, analytic = circuit.gradient(PRODUCT_START)
    return {
        "expression": PRODUCT,
        "start": PRODUCT_START,
        "start_output": circuit(PRODUCT_START),
        "seed": seed,
        "runs": runs,
        "numerical_gradient": {k: float(v) for k, v in numerical.items()},
        "analytic_gradient": analytic,
    }


def _staged(registry: Registry, expression: str, at: dict[str, float]) -> dict[str, Any]:
    circuit = gatekit.parse(expression, registry=registry)
    trace = circuit.forward(at, check_finite=True).backward()
    report = run_report(trace)
    for stage, s in zip(report["stages"], trace.stages()):
        stage["computes"] = gate_call(circuit, s.node)
    return {"expression": expression, **report}


def _numerical_check(registry: Registry) -> dict[str, Any]:
    """Backprop against central differences with the lesson's h, input by input."""
    circuit = gatekit.parse(BACKWARD, registry=registry)
    _, analytic = circuit.gradient(BACKWARD_AT)
    numerical = gatekit.numerical_gradient(lambda v: circuit.forward(v).output, BACKWARD_AT, h=H, difference="central")
    rows = {
        name: {"analytic": analytic[name], "numerical": float(numerical[name]),
               "difference": abs(analytic[name] - float(numerical[name]))}
        for name in circuit.inputs
    }
    neuron = gatekit.check_circuit(gatekit.parse(NEURON, registry=registry), NEURON_AT)
    return {
        "expression": BACKWARD,
        "at": BACKWARD_AT,
        "h": H,
        "inputs": rows,
        "max_difference": max(row["difference"] for row in rows.values()),
        "neuron": {"ok": bool(neuron.ok), "max_abs_error": neuron.max_abs_error, "max_rel_error": neuron.max_rel_error},
    }


def tour_data(registry: Registry, seed: int = 0) -> dict[str, Any]:
    """Every number of the tour, computed now."""
    neuron = _staged(registry, NEURON, NEURON_AT)
    sigmoid = gatekit.parse(SIGMOID_NEURON, registry=registry)
    sigmoid_output, sigmoid_grads = sigmoid.gradient(NEURON_AT)
    return {
        "multiply_gate": evaluate_gate(registry, "mul", [PRODUCT_START["x"], PRODUCT_START["y"]]),
        "strategies": _strategies(registry, seed),
        "backward": _staged(registry, BACKWARD, BACKWARD_AT),
        "neuron": neuron,
        "sigmoid_neuron": {
            "expression": SIGMOID_NEURON,
            "output": sigmoid_output,
            "grads": sigmoid_grads,
            "max_difference": max(abs(g - neuron["inputs"][k]["grad"]) for k, g in sigmoid_grads.items()),
        },
        "check": _numerical_check(registry),
    }


# -- for people --------------------------------------------------------------------------------


def _table(title: str, columns: list[str], rows: list[list[str]]) -> Any:
    from rich.table import Table

    table = Table()
    for k, column in enumerate(columns):
        numbers = all(is_number(row[k]) for row in rows)
        table.add_column(column, justify="right" if numbers else "left")
    for row in rows:
        table.add_row(*row)
    return titled(title, table)


def _staged_tables(out: Any, part: dict[str, Any]) -> None:
    out.print(_table("inputs", ["input", "value", "gradient"],
                     [[n, fmt(r["value"]), fmt(r["grad"])] for n, r in part["inputs"].items()]))
    out.print(_table("stages, in order: forward value, then the output's gradient", ["stage", "computes", "value", "gradient"],
                     [[s["name"] or "", s["computes"], fmt(s["value"]), fmt(s["grad"])] for s in part["stages"]]))


def print_tour(data: dict[str, Any]) -> None:
    out = console()
    from rich.rule import Rule

    m = data["multiply_gate"]
    out.print(Rule("1. One gate"))
    out.print(f"A gate computes forward and knows its local gradient: mul({fmt(m['inputs'][0])}, "
              f"{fmt(m['inputs'][1])}) = {fmt(m['output'])}; d/dx = {fmt(m['grads'][0])} (that is y), "
              f"d/dy = {fmt(m['grads'][1])} (that is x).")

    s = data["strategies"]
    start = ", ".join(f"{k} = {fmt(v)}" for k, v in s["start"].items())
    out.print(Rule("2. Four ways to make x * y bigger"))
    out.print(f"From {start} the output is {fmt(s['start_output'])}. Each strategy tries to raise it (seed {s['seed']}):")
    out.print(_table("what each found, and what it cost (evaluations forward / backward)",
                     ["strategy", "how", "found", "fwd", "bwd"], [
        [r["strategy"], r["how"], fmt(r["best_output"], 8), str(r["evaluations"]["forward"]),
         str(r["evaluations"]["backward"])]
        for r in s["runs"]
    ]))
    num, ana = s["numerical_gradient"], s["analytic_gradient"]
    out.print("The numerical gradient nudges one input at a time: "
              + ", ".join(f"d/d{k} ~ {fmt(num[k])}" for k in num)
              + "; backprop gives it exactly, in one backward pass: "
              + ", ".join(f"d/d{k} = {fmt(ana[k])}" for k in ana) + ".")

    b = data["backward"]
    out.print(Rule("3. The chain rule: (x + y) * z"))
    out.print(f"{b['expression']}: forward, then backward from the output (gradient 1).")
    _staged_tables(out, b)

    n = data["neuron"]
    out.print(Rule("4. A sigmoid neuron, gate by gate"))
    out.print(n["expression"])
    _staged_tables(out, n)
    sg = data["sigmoid_neuron"]
    out.print(f"As one sigmoid gate ({sg['expression']}): output {fmt(sg['output'])}; its input gradients "
              f"differ from the gate-by-gate ones by at most {fmt(sg['max_difference'], 2)} (rounding).")

    c = data["check"]
    out.print(Rule("5. Trust, but check"))
    out.print(_table(f"{c['expression']}: backprop against central differences (h = {fmt(c['h'])})",
                     ["input", "backprop", "numerical", "difference"],
                     [[k, fmt(r["analytic"]), fmt(r["numerical"]), fmt(r["difference"], 3)] for k, r in c["inputs"].items()]))
    verdict = "agrees" if c["neuron"]["ok"] else "DISAGREES"
    out.print(f"The neuron's backprop {verdict} with central differences "
              f"(largest relative error {fmt(c['neuron']['max_rel_error'], 3)}). Try: gatekit check")


#: Steps of the comparison plot: enough for each strategy's line to show its shape.
PICTURE_STEPS = 20


def write_pictures(registry: Registry, directory: Path, seed: int = 0) -> list[Path]:
    """The neuron drawn (SVG and PNG) and the four strategies compared (PNG), in ``directory``."""
    from ..draw import draw
    from ..plot import plot_comparison, require_matplotlib

    require_matplotlib()
    directory.mkdir(parents=True, exist_ok=True)
    neuron = draw(gatekit.parse(NEURON, registry=registry), NEURON_AT,
                  title="the sigmoid neuron, gate by gate: values forward, gradients backward")
    written = [neuron.save(directory / "neuron.svg"), neuron.save(directory / "neuron.png")]
    results = gatekit.compare(gatekit.parse(PRODUCT, registry=registry), PRODUCT_START,
                              [name for name, _, _ in LESSON_STRATEGIES], steps=PICTURE_STEPS, seed=seed,
                              registry=registry)
    plot_comparison(results, directory / "strategies.png")
    written.append(directory / "strategies.png")
    return written


def register(app: typer.Typer) -> None:
    @app.command("tour")
    @reports_errors
    def tour(
        ctx: typer.Context,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the two random searches.")] = 0,
        pictures: Annotated[
            Optional[Path],
            typer.Option("--pictures", metavar="DIR", show_default=False,
                         help=literal("Also draw the neuron and plot the four strategies into DIR (needs gatekit[plot]).")),
        ] = None,
        json: Annotated[bool, typer.Option("--json", help="Print the tour's numbers as JSON.")] = False,
    ) -> None:
        """The lesson, computed live: one gate, four strategies, the chain rule, a neuron, a check."""
        registry = registry_of(ctx)
        data = tour_data(registry, seed)
        if json:
            emit_json(data)
        else:
            print_tour(data)
        if pictures is not None:
            written = write_pictures(registry, pictures, seed)
            typer.echo("pictures: " + ", ".join(str(p) for p in written), err=json)
