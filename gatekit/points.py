"""Points from files, as chunked dask arrays that are read only as the chunks are computed.

:func:`store_points` writes results back, chunk by chunk, in the same two formats.
Two formats, both read lazily (a file larger than memory is fine):

- ``.npy``: memory-mapped. A structured array gives one input per field (``x0``,
  ``x1``, ...); a 2-D float array gives one input per column, named by ``names``
  in order; a 1-D array is the one input named by ``names``.
- Zarr (a directory, usually ``*.zarr``; needs the ``zarr`` package): a group gives one
  input per array in it; a single array is read as a ``.npy`` array would be.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MissingExtraError, UsageError

try:
    import dask.array as da
except ImportError:  # pragma: no cover - the extra is part of `make test`
    raise MissingExtraError("reading points in chunks", "dask", "dask") from None

__all__ = ["read_points", "store_points"]


def read_points(path: str | Path, names: Sequence[str] = (), chunks: Any = "auto") -> dict[str, Any]:
    """``{input name: dask array}`` from a ``.npy`` file or a Zarr store, nothing read yet.

    ``names`` names the columns of an unnamed array (a 2-D array's columns, in order,
    or a 1-D array's one input); a structured array or a Zarr group names its own.
    ``chunks`` is the number of points a chunk (or "auto").
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"points file {str(path)!r} does not exist (give a .npy file or a Zarr store)")
    if path.is_dir() or path.suffix == ".zarr":
        return _from_zarr(path, names, chunks)
    if path.suffix != ".npy":
        raise UsageError(f"points file {str(path)!r}: expected a .npy file or a Zarr store (a directory)")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UsageError(f"points file {str(path)!r} is not a readable .npy array: {exc}") from None
    return _columns(array, names, chunks, str(path))


def _from_zarr(path: Path, names: Sequence[str], chunks: Any) -> dict[str, Any]:
    try:
        import zarr
    except ImportError:
        raise UsageError(f"points file {str(path)!r} is a Zarr store; reading it needs zarr: pip install zarr") from None
    try:
        store: Any = zarr.open(str(path), mode="r")
    except Exception as exc:  # zarr raises several kinds for a directory that is no store
        raise UsageError(f"points file {str(path)!r} is not a readable Zarr store: {exc}") from None
    if hasattr(store, "array_keys"):  # a group: one array per input
        found = {str(name): da.from_zarr(store[name], chunks=chunks) for name in store.array_keys()}
        if not found:
            raise UsageError(f"points file {str(path)!r}: the Zarr group holds no arrays")
        for name, array in found.items():
            _check_dtype(array.dtype, f"{path}:{name}")
        return found
    return _columns(store, names, chunks, str(path))


def _check_dtype(dtype: np.dtype, where: str) -> None:
    if dtype.kind not in "iuf":
        raise UsageError(f"points file {where!r} holds {dtype} values; points must be real numbers (ints or floats)")


def _columns(array: Any, names: Sequence[str], chunks: Any, where: str) -> dict[str, Any]:
    fields = getattr(array.dtype, "names", None)
    if fields:
        for field in fields:
            _check_dtype(array.dtype[field], f"{where}:{field}")
        return {field: da.from_array(array[field], chunks=chunks) for field in fields}
    _check_dtype(array.dtype, where)
    names = list(names)
    if array.ndim == 1:
        if len(names) != 1:
            raise UsageError(
                f"points file {where!r} holds one column of points, but {len(names)} inputs need values "
                f"({', '.join(names) or 'none'}); give the others as NAME=VALUE"
            )
        return {names[0]: da.from_array(array, chunks=chunks)}
    if array.ndim != 2:
        raise UsageError(f"points file {where!r} holds a {array.ndim}-d array; expected one point a row (2-d)")
    if array.shape[1] != len(names):
        raise UsageError(
            f"points file {where!r} has {array.shape[1]} column(s), one a point input, but {len(names)} "
            f"input(s) need values ({', '.join(names) or 'none'}): give the rest as NAME=VALUE, or store "
            "a structured array (one named field per input)"
        )
    table = da.from_array(array, chunks=(chunks, -1) if chunks != "auto" else ("auto", -1))
    return {name: table[:, k] for k, name in enumerate(names)}


def store_points(path: str | Path, arrays: dict[str, Any]) -> Any:
    """A lazy write of ``{name: dask array}`` (one shape) to a ``.npy`` or Zarr file; compute it to write.

    A ``.npy`` file gets a structured array, one field a name, memory-mapped, so it is
    written chunk by chunk from this process (not from a cluster's workers). A Zarr
    store (``*.zarr``) gets a group of one array a name, written by whoever computes.
    """
    path = Path(path)
    shapes = {tuple(a.shape) for a in arrays.values()}
    if len(shapes) != 1:
        raise UsageError(f"results to store must share one shape, got {sorted(shapes)}")
    (shape,) = shapes
    if path.suffix == ".npy":
        dtype = np.dtype([(name, a.dtype) for name, a in arrays.items()])
        target = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
        return da.store(list(arrays.values()), [target[name] for name in arrays], compute=False, lock=False)
    if path.suffix != ".zarr":
        raise UsageError(f"results file {str(path)!r}: give a .npy file or a .zarr store")
    try:
        import zarr
    except ImportError:
        raise UsageError(f"writing the Zarr store {str(path)!r} needs zarr: pip install zarr") from None
    group: Any = zarr.open_group(str(path), mode="w")
    targets = []
    for name, a in arrays.items():
        chunks = tuple(c[0] if c else 1 for c in a.chunks)
        make = getattr(group, "create_array", None) or group.create_dataset
        targets.append(make(name, shape=shape, dtype=a.dtype, chunks=chunks))
    # The store's chunks are dask's (regular but for the last), so no two writes share one; else lock.
    regular = all(len(set(c[:-1])) <= 1 for a in arrays.values() for c in a.chunks)
    return da.store(list(arrays.values()), targets, compute=False, lock=not regular)

