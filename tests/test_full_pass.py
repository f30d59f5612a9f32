"""gatekit.full_pass: a batch of candidates, one pass each, laid out in the candidates' shape."""

from __future__ import annotations

import numpy as np

from gatekit.full_pass import batch_backward, batch_forward, candidates


def _pass(point):
    """A stand-in for a pass over data: x*y and its gradient, with the points it was asked at."""
    asked.append(point)
    x, y = point
    return x * y, (y, x)


asked: list = []


def test_numbers_are_one_point_and_arrays_broadcast_into_candidates():
    assert candidates((2.0, np.float64(3.0))) is None
    assert candidates((np.array([1.0, 2.0]), 5)) == [(1.0, 5.0), (2.0, 5.0)]
    assert candidates((np.array([[1.0], [2.0]]), np.array([3.0, 4.0]))) == [(1.0, 3.0), (1.0, 4.0), (2.0, 3.0), (2.0, 4.0)]


def test_a_batch_makes_one_pass_a_candidate_and_keeps_their_shape():
    asked.clear()
    xs = (np.array([[1.0], [2.0]]), np.array([3.0, 4.0]))
    out = batch_forward(_pass, xs, candidates(xs))
    np.testing.assert_array_equal(out, [[3.0, 4.0], [6.0, 8.0]])
    gx, gy = batch_backward(_pass, 2.0, xs, candidates(xs))
    np.testing.assert_array_equal(gx, [[6.0, 8.0], [6.0, 8.0]])
    np.testing.assert_array_equal(gy, [[2.0, 2.0], [4.0, 4.0]])
    assert len(asked) == 8  # four candidates, forward and backward


def test_one_point_is_one_pass():
    asked.clear()
    assert batch_forward(_pass, (2.0, 3.0), None) == 6.0
    assert batch_backward(_pass, 0.5, (2.0, 3.0), None) == (1.5, 1.0)
    assert asked == [(2.0, 3.0), (2.0, 3.0)]
