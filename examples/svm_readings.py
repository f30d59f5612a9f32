"""The six-point SVM's figure put to the test: which reading of the lesson's rule gives "0.33 to 1.0"?

reference-numbers.md section 7 says the pull rule takes the training accuracy "from
0.33 to 1.0", starting at a=1, b=-2, c=-1. This script runs the rule, and a few other
readings of it, many times at once (one run per column of numpy arrays, each with its
own random picks) and prints, for each reading, the accuracy at the start, where the
400 picks end, and how often 1.0 shows at one of the lesson's prints (every 25 picks,
after the update, as the reference demo prints them). docs/six-point-svm.md records
its output; tests/test_train.py checks the literal rule one run at a time.

Run it: ``python examples/svm_readings.py`` (a few seconds).
"""

from __future__ import annotations

import numpy as np

POINTS = np.array([(1.2, 0.7), (-0.3, -0.5), (3.0, 0.1), (-0.1, -1.0), (-1.0, 1.1), (2.1, -3.0)])
LABELS = np.array([1.0, -1.0, 1.0, -1.0, -1.0, 1.0])
START = (1.0, -2.0, -1.0)

#: reading -> (how picks are ordered, which parameters the regularisation pulls, reset grads each pick)
READINGS = {
    "the rule as stated (random picks, pull -a and -b)": ("random", "ab", True),
    "regularisation pulls c too": ("random", "abc", True),
    "no regularisation": ("random", "", True),
    "regularisation only on picks that pull": ("random", "ab-if-pulled", True),
    "gradients never reset (they pile up)": ("random", "ab", False),
    "the points in turn (0, 1, ..., 5, 0, ...)": ("cyclic", "ab", True),
    "a fresh permutation every six picks": ("epochs", "ab", True),
}


def accuracy(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Each run's fraction of the six points with sign(score) equal to the label."""
    scores = np.multiply.outer(a, POINTS[:, 0]) + np.multiply.outer(b, POINTS[:, 1]) + c[:, None]
    return (np.where(scores > 0, 1.0, -1.0) == LABELS).mean(axis=1)


def run(order: str, regularise: str, reset: bool, runs: int = 20_000, seed: int = 0, picks: int = 400,
        step: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start accuracy, final accuracy, accuracy at each print) of ``runs`` runs of one reading."""
    rng = np.random.default_rng(seed)
    a, b, c = (np.full(runs, v) for v in START)
    start = accuracy(a, b, c)
    ga, gb, gc = np.zeros(runs), np.zeros(runs), np.zeros(runs)
    prints, order_of = [], None
    for k in range(picks):
        if order == "random":
            i = rng.integers(0, 6, runs)
        elif order == "cyclic":
            i = np.full(runs, k % 6)
        else:
            if k % 6 == 0:
                order_of = rng.permuted(np.tile(np.arange(6), (runs, 1)), axis=1)
            i = order_of[:, k % 6]  # type: ignore[index]
        x, y, label = POINTS[i, 0], POINTS[i, 1], LABELS[i]
        score = a * x + b * y + c
        pull = np.where((label == 1) & (score < 1), 1.0, np.where((label == -1) & (score > -1), -1.0, 0.0))
        if reset:
            ga, gb, gc = np.zeros(runs), np.zeros(runs), np.zeros(runs)
        ga, gb, gc = ga + pull * x, gb + pull * y, gc + pull
        if regularise in ("ab", "abc"):
            ga, gb = ga - a, gb - b
        if regularise == "abc":
            gc = gc - c
        if regularise == "ab-if-pulled":
            ga, gb = ga - np.where(pull != 0, a, 0.0), gb - np.where(pull != 0, b, 0.0)
        a, b, c = a + step * ga, b + step * gb, c + step * gc
        if k % 25 == 0:
            prints.append(accuracy(a, b, c))
    return start, accuracy(a, b, c), np.array(prints)


def table(runs: int = 20_000) -> list[tuple[str, float, dict[int, float], float]]:
    """Per reading: the start accuracy, the share of runs ending at each k of 6, and of runs printing 1.0."""
    rows = []
    for name, settings in READINGS.items():
        start, final, prints = run(*settings, runs=runs)
        ends = np.rint(final * 6).astype(int)
        shares = {int(k): float(np.mean(ends == k)) for k in np.unique(ends)}
        rows.append((name, float(start[0]), shares, float(np.mean((prints == 1.0).any(axis=0)))))
    return rows


def starts_at_one_third() -> list[str]:
    """The misreadings of the start (a sign of a, b or c flipped; x and y swapped) that classify 2 of 6."""
    found = []
    for signs in np.ndindex(2, 2, 2):
        a, b, c = (v * (-1.0 if flip else 1.0) for v, flip in zip(START, signs))
        for swap in (False, True):
            points = POINTS[:, ::-1] if swap else POINTS
            scores = a * points[:, 0] + b * points[:, 1] + c
            if np.sum(np.where(scores > 0, 1.0, -1.0) == LABELS) == 2:
                found.append(f"a={a:g}, b={b:g}, c={c:g}" + (", x and y swapped" if swap else ""))
    return found


if __name__ == "__main__":
    print("starts that classify 2 of 6 (0.33):", "; ".join(starts_at_one_third()), "\n")
    print("| reading | start | after 400 picks (share of 20,000 runs) | 1.0 at one of the 16 prints |")
    print("|---|---|---|---|")
    for name, start, shares, printed in table():
        ends = ", ".join(f"{k}/6: {share:.1%}" for k, share in sorted(shares.items(), reverse=True))
        print(f"| {name} | {start * 6:.0f}/6 | {ends} | {printed:.1%} |")
