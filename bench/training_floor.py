"""W6's floor: the scalar-gate MLP step as straight-line numpy, one call per gate operation.

bench/training.py compiles and times it beside gatekit's step (see its docstring). The
text is made from the network's layer sizes alone (no user text ever reaches it).
"""

from __future__ import annotations


def floor_source(sizes: tuple[int, ...]) -> tuple[str, list[str]]:
    """The floor's step function: one numpy call per gate operation of the scalar-gate MLP.

    Made by the benchmark from the network's shape alone (no user text), then compiled.
    """
    last = len(sizes) - 1
    forward, backward, names = [], ["ds = -y * ((m > 0) + 0.5 * (m == 0)) / m.size"], []
    units = [f"x{k}" for k in range(sizes[0])]
    layers = []
    for l in range(1, last + 1):
        outs = []
        for j in range(1, sizes[l] + 1):
            p = f"l{l}_n{j}"
            names += [f"{p}_w{i + 1}" for i in range(len(units))] + [f"{p}_b"]
            forward.append(f"s_{p} = {p}_b + " + " + ".join(f"{p}_w{i + 1} * {u}" for i, u in enumerate(units)))
            if l < last:
                forward.append(f"h_{p} = np.maximum(s_{p}, 0.0)")
            outs.append(f"h_{p}" if l < last else f"s_{p}")
        layers.append((l, units, outs))
        units = outs
    forward += [f"m = 1.0 - y * {units[0]}", "loss = np.maximum(m, 0.0).mean() + 1e-4 * ("
                + " + ".join(f"{n} * {n}" for n in names) + ")"]
    for l, inputs, outs in reversed(layers):
        for j, out in enumerate(outs, start=1):
            p = f"l{l}_n{j}"
            dz = "ds" if l == last else f"dz_{p}"
            if l < last:
                backward.append(f"{dz} = d_{out} * ((s_{p} > 0) + 0.5 * (s_{p} == 0))")
            backward.append(f"g_{p}_b = float(np.add.reduce({dz})) + 2e-4 * {p}_b")
            for i, u in enumerate(inputs, start=1):
                backward.append(f"g_{p}_w{i} = float(np.dot({dz}, {u})) + 2e-4 * {p}_w{i}")
                if l > 1:  # the data's gradients: nobody reads them
                    backward.append(f"d_{u} = {dz} * {p}_w{i}" if j == 1 else f"d_{u} = d_{u} + {dz} * {p}_w{i}")
    lines = [f"def step(x0, x1, y, {', '.join(names)}):"] + ["    " + line for line in forward + backward]
    lines.append("    return loss, (" + ", ".join(f"g_{n}" for n in names) + ",)")
    return "\n".join(lines), names
