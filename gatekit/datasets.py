"""Datasets for training: generated ones (seeded) and tables read from CSV or .npy files.

Every dataset is points ``X`` of shape ``(n, features)`` and labels ``y`` of shape
``(n,)`` in {-1, +1}, the labels a hinge loss wants. The generators need numpy only:

- :func:`moons`: two interleaving half-circles (the classic two-moons picture). The
  upper moon is the unit half-circle (label -1), the lower one is shifted by (1, -0.5)
  and turned over (label +1); points are evenly spaced along each moon, shuffled,
  then moved by Gaussian noise of standard deviation ``noise``.
- :func:`circles`: a ring of radius 1 (label -1) around a ring of radius ``factor``
  (label +1), with the same noise.
- :func:`blobs`: two Gaussian clouds of standard deviation ``spread``, centred at
  (-2, -2) (label -1) and (2, 2) (label +1).
- :func:`six_points`: the lesson's six points for a linear SVM.

:func:`load_table` reads a file: by default the last column is the label and the
others are features; a header row (any non-number in the first row) names columns.
Labels may be {-1, +1} or {0, 1} (0 becomes -1). A file that cannot be used raises
one :class:`~gatekit.DataFileError` naming the file and the row or column.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import DataFileError, UnknownNameError

__all__ = ["Dataset", "moons", "circles", "blobs", "six_points", "load_table", "dataset", "GENERATED"]


@dataclass(frozen=True)
class Dataset:
    """Points ``X`` (n, features), labels ``y`` (n,) in {-1, +1}, and where they came from."""

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.y)

    def batch(self, rows: np.ndarray) -> Dataset:
        return Dataset(self.name, self.X[rows], self.y[rows], self.feature_names)


def _made(name: str, X: np.ndarray, labels01: np.ndarray) -> Dataset:
    return Dataset(name, X, np.where(labels01 > 0, 1.0, -1.0), tuple(f"x{k}" for k in range(X.shape[1])))


def _shuffled(rng: np.random.Generator, X: np.ndarray, labels: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(labels))
    X, labels = X[order], labels[order]
    return X + rng.normal(scale=noise, size=X.shape), labels


def moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half-moons, ``n`` points, labels -1 (upper) and +1 (lower)."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]),
    ])
    labels = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _made("moons", *_shuffled(rng, X, labels, noise))


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """A ring of radius 1 (label -1) around a ring of radius ``factor`` (label +1)."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([np.column_stack([np.cos(t_out), np.sin(t_out)]),
                   factor * np.column_stack([np.cos(t_in), np.sin(t_in)])])
    labels = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _made("circles", *_shuffled(rng, X, labels, noise))


def blobs(n: int = 100, spread: float = 1.0, seed: int = 0) -> Dataset:
    """Two Gaussian clouds around (-2, -2) (label -1) and (2, 2) (label +1)."""
    rng = np.random.default_rng(seed)
    n_a = n // 2
    labels = np.concatenate([np.zeros(n_a), np.ones(n - n_a)])
    centres = np.where(labels[:, None] > 0, 2.0, -2.0) * np.ones((n, 2))
    return _made("blobs", *_shuffled(rng, centres, labels, spread))


#: The lesson's six points for a linear SVM (reference-numbers.md section 7).
SIX_POINTS = (((1.2, 0.7), 1), ((-0.3, -0.5), -1), ((3.0, 0.1), 1), ((-0.1, -1.0), -1), ((-1.0, 1.1), -1),
              ((2.1, -3.0), 1))


def six_points() -> Dataset:
    """The lesson's six points: (1.2, 0.7) +1, (-0.3, -0.5) -1, ... (2.1, -3) +1."""
    X = np.array([p for p, _ in SIX_POINTS])
    return Dataset("six-points", X, np.array([float(label) for _, label in SIX_POINTS]), ("x", "y"))


#: The generated datasets by name, as the CLI's ``--data`` spells them.
GENERATED: dict[str, Callable[..., Dataset]] = {"moons": moons, "circles": circles, "blobs": blobs}


def dataset(name: str, n: int = 100, seed: int = 0) -> Dataset:
    """A generated dataset by name (``moons``, ``circles``, ``blobs``, ``six-points``) or a file path."""
    if name == "six-points":
        return six_points()
    if name in GENERATED:
        return GENERATED[name](n=n, seed=seed)
    if os.path.exists(name) or name.endswith((".csv", ".npy")):
        return load_table(name)
    raise UnknownNameError("dataset", name, [*GENERATED, "six-points"], "(nor a CSV or .npy file that exists)")


# -- files ------------------------------------------------------------------------------------


def _fail(path: str, message: str) -> DataFileError:
    return DataFileError(f"{path}: {message}")


def _read_csv(path: str) -> tuple[list[str] | None, np.ndarray, list[int]]:
    """(header or None, the numbers, the file line of each data row)."""
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.reader(handle)]
    except OSError as exc:
        raise _fail(path, f"cannot read the file ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _fail(path, f"is not a readable CSV file ({exc})") from None
    lines = [(k + 1, row) for k, row in enumerate(rows) if any(cell.strip() for cell in row)]
    if not lines:
        raise _fail(path, "the file holds no rows")
    header = None
    first = lines[0][1]
    if not all(_is_number(cell) for cell in first):
        header = [cell.strip() for cell in first]
        lines = lines[1:]
        if not lines:
            raise _fail(path, "the file has a header row but no data rows")
    width = len(header) if header is not None else len(lines[0][1])
    data = np.empty((len(lines), width))
    for r, (line, row) in enumerate(lines):
        if len(row) != width:
            raise _fail(path, f"row {line} has {len(row)} column(s), expected {width} like the "
                              f"{'header' if header is not None else 'first row'}")
        for c, cell in enumerate(row):
            if not _is_number(cell):
                name = f" ({header[c]!r})" if header is not None else ""
                raise _fail(path, f"row {line}, column {c + 1}{name}: {cell.strip()!r} is not a number")
            data[r, c] = float(cell)
    return header, data, [line for line, _ in lines]


def _is_number(cell: str) -> bool:
    try:
        value = float(cell)
    except ValueError:
        return False
    return bool(np.isfinite(value))


def _read_npy(path: str) -> np.ndarray:
    try:
        data = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise _fail(path, f"cannot read the file ({exc})") from None
    except ValueError as exc:
        raise _fail(path, f"is not a plain .npy array ({exc})") from None
    if data.ndim != 2 or data.dtype.kind not in "iuf":
        raise _fail(path, f"a .npy dataset is a 2-D array of numbers (rows of features and a label), "
                          f"got shape {data.shape} of {data.dtype}")
    data = data.astype(np.float64)
    bad = np.argwhere(~np.isfinite(data))
    if bad.size:
        r, c = bad[0]
        raise _fail(path, f"row {r + 1}, column {c + 1}: {float(data[r, c])!r} is not a finite number")
    return data


def column_index(path: str, key: int | str, header: list[str] | None, width: int) -> int:
    """A 1-based column number (-1 the last) or a header name, as an index; an error naming the file else."""
    if isinstance(key, str) and not key.lstrip("-").isdigit():
        if header is None:
            raise _fail(path, f"column {key!r}: the file has no header row, so columns are numbers 1..{width}")
        if key not in header:
            raise UnknownNameError("column", key, header, f"in {path}")
        return header.index(key)
    k = int(key)
    index = k - 1 if k > 0 else width + k  # 1-based like the messages; negative counts from the end
    if not (k != 0 and 0 <= index < width):
        raise _fail(path, f"column {k} does not exist (the file has {width} column(s): 1..{width}, or -1 for the last)")
    return index


def load_table(path: str | os.PathLike[str], label: int | str = -1,
               features: Sequence[int | str] | None = None) -> Dataset:
    """A dataset from a CSV or .npy file: ``label`` and ``features`` are 1-based columns or header names."""
    path = os.fspath(path)
    if path.endswith(".npy"):
        header, data = None, _read_npy(path)
        rows = list(range(1, len(data) + 1))
    else:
        header, data, rows = _read_csv(path)
    width = data.shape[1]
    if width < 2:
        raise _fail(path, f"needs at least two columns (features and a label), got {width}")
    label_col = column_index(path, label, header, width)
    if features is None:
        feature_cols = [c for c in range(width) if c != label_col]
    else:
        feature_cols = [column_index(path, f, header, width) for f in features]
        if label_col in feature_cols:
            raise _fail(path, f"column {label_col + 1} cannot be both the label and a feature")
    y = _labels(path, data[:, label_col], rows, label_col)
    names = tuple(header[c] if header else f"x{k}" for k, c in enumerate(feature_cols))
    return Dataset(os.path.basename(path), data[:, feature_cols], y, names)


def _labels(path: str, raw: np.ndarray, rows: list[int], column: int) -> np.ndarray:
    """Labels as -1/+1; {0, 1} is mapped, anything else is an error naming its row."""
    outside = np.flatnonzero(~np.isin(raw, (-1.0, 0.0, 1.0)))
    where = f"column {column + 1}"
    if outside.size:
        r = int(outside[0])
        raise _fail(path, f"row {rows[r]}, {where}: label {raw[r]:g} is not in {{-1, +1}} or {{0, 1}}")
    zeros, minus = np.flatnonzero(raw == 0.0), np.flatnonzero(raw == -1.0)
    if zeros.size and minus.size:
        r, earlier = int(max(zeros[0], minus[0])), int(min(zeros[0], minus[0]))
        raise _fail(path, f"row {rows[r]}, {where}: label {raw[r]:g} mixes {{-1, +1}} and {{0, 1}} labels "
                          f"(row {rows[earlier]} has {raw[earlier]:g})")
    return np.where(raw > 0, 1.0, -1.0)
