"""A trained model: its score circuit and its parameters, saved as one JSON file.

::

    {
      "format": "gatekit-model",
      "version": 1,
      "network": {"sizes": [2, 16, 16, 1], "layers": false, "activation": "relu"},
      "loss": "hinge",
      "features": ["x0", "x1"],
      "circuit": { ...a gatekit circuit file: data and parameters in, the score out... },
      "parameters": {"l1_n1_w1": 0.41, ..., "W1": [[...], ...]}
    }

The circuit is the source of truth: :func:`load_model` rebuilds it from the file
(so it needs the gates it names) and checks that the parameters are exactly its
inputs other than the data, each with the shape the network gives it. Floats are
written with ``repr``, so save -> load -> predict gives bit-identical scores.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .circuit_file import circuit_from_dict, circuit_to_dict
from .errors import CircuitFileError, ModelFileError, UsageError
from .nn import LOSSES, Network

if TYPE_CHECKING:
    from .circuit import Circuit
    from .registry import Registry

__all__ = ["Model", "save_model", "load_model", "FORMAT", "VERSION"]

FORMAT = "gatekit-model"
VERSION = 1


@dataclass
class Model:
    """A network with trained parameters: predict labels (-1/+1) or scores for new points."""

    network: Network
    parameters: dict[str, Any]
    feature_names: tuple[str, ...]
    loss_name: str = "hinge"
    circuit: Circuit | None = None  # built on first use, or the one a file held

    def score_circuit(self) -> Circuit:
        if self.circuit is None:
            self.circuit = self.network.circuit()
        return self.circuit

    def scores(self, X: Any) -> np.ndarray:
        """The score of each point (one forward pass of the score circuit over all of them)."""
        values = {**self.network.data(X), **self.parameters}
        return np.asarray(self.score_circuit()(values), dtype=np.float64).reshape(-1)

    def predict(self, X: Any) -> np.ndarray:
        """+1 where the score is positive, -1 elsewhere."""
        return np.where(self.scores(X) > 0, 1.0, -1.0)

    def to_dict(self) -> dict[str, Any]:
        net = self.network
        return {
            "format": FORMAT,
            "version": VERSION,
            "network": {"sizes": list(net.sizes), "layers": net.layers, "activation": net.activation},
            "loss": self.loss_name,
            "features": list(self.feature_names),
            "circuit": circuit_to_dict(self.score_circuit()),
            "parameters": {k: (v.tolist() if isinstance(v, np.ndarray) else float(v)) for k, v in self.parameters.items()},
        }


def save_model(model: Model, path: str | os.PathLike[str]) -> None:
    """Write ``model`` as a JSON model file (the circuit file inside, plus the parameters)."""
    text = json.dumps(model.to_dict(), indent=1, allow_nan=False)
    with open(path, "w") as handle:
        handle.write(text + "\n")


def _fail(source: str, key: str, message: str) -> ModelFileError:
    return ModelFileError(f"{source}: {key}: {message}" if key else f"{source}: {message}")


def load_model(path: str | os.PathLike[str], registry: Registry | None = None) -> Model:
    """A model saved by :func:`save_model`; one :class:`~gatekit.ModelFileError` naming the key at fault."""
    source = os.fspath(path)
    try:
        with open(source) as handle:
            data = json.load(handle)
    except OSError as exc:
        raise _fail(source, "", f"cannot read the file ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(source, "", f"is not JSON ({exc})") from None
    return model_from_dict(data, source, registry)


def model_from_dict(data: Any, source: str = "model", registry: Registry | None = None) -> Model:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _fail(source, "format", f"not a gatekit model file (expected \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise _fail(source, "version", f"version {data.get('version')!r} is not one this gatekit reads ({VERSION})")
    for key in ("network", "circuit", "parameters", "features"):
        if key not in data:
            raise _fail(source, key, "missing")
    spec = data["network"]
    try:
        network = Network(tuple(spec["sizes"]), bool(spec["layers"]), str(spec.get("activation", "relu")))
    except (KeyError, TypeError) as exc:
        raise _fail(source, "network", f"needs sizes and layers ({exc})") from None
    except UsageError as exc:
        raise _fail(source, "network", str(exc)) from None
    try:
        circuit = circuit_from_dict(data["circuit"], registry, source=f"{source}: circuit")
    except CircuitFileError as exc:
        raise ModelFileError(str(exc)) from None
    expected = {name: np.shape(v) for name, v in network.initial_parameters().items()}
    params = _parameters(data["parameters"], expected, source)
    wanted = set(network.data_names()) | set(expected)
    if set(circuit.inputs) != wanted:
        raise _fail(source, "circuit", f"its inputs ({', '.join(circuit.inputs)}) are not the network's data and "
                                       f"parameters")
    features = data["features"]
    if not (isinstance(features, list) and len(features) == network.n_inputs and all(isinstance(f, str) for f in features)):
        raise _fail(source, "features", f"must list the {network.n_inputs} feature name(s)")
    loss = data.get("loss", "hinge")
    if loss not in LOSSES:
        raise _fail(source, "loss", f"{loss!r} is not one of {', '.join(LOSSES)}")
    return Model(network, params, tuple(features), loss, circuit)


def _parameters(raw: Any, expected: Mapping[str, tuple[int, ...]], source: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _fail(source, "parameters", "must be an object of name: value")
    missing = [name for name in expected if name not in raw]
    extra = [name for name in raw if name not in expected]
    if missing or extra:
        what = f"missing {', '.join(missing[:5])}" if missing else f"unknown {', '.join(extra[:5])}"
        raise _fail(source, "parameters", f"{what} (the network has {len(expected)} parameters)")
    params: dict[str, Any] = {}
    for name, shape in expected.items():
        value = raw[name]
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        if array is None or array.shape != shape or not np.all(np.isfinite(array)) or isinstance(value, bool):
            raise _fail(source, f"parameters.{name}", f"must be finite number(s) of shape {shape}, got {value!r:.60}")
        params[name] = array if shape else float(array)
    return params
