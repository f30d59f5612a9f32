"""Datasets: seeded generators, and CSV/.npy files with one clear error per problem."""

from __future__ import annotations

import numpy as np
import pytest

from gatekit import DataFileError, UnknownNameError
from gatekit.datasets import blobs, circles, dataset, load_table, moons, six_points


@pytest.mark.parametrize("make", [moons, circles, blobs])
def test_generated_datasets_are_seeded_balanced_and_labelled_plus_minus_one(make):
    a, b, c = make(n=101, seed=4), make(n=101, seed=4), make(n=101, seed=5)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert a.X.shape == (101, 2) and set(np.unique(a.y)) == {-1.0, 1.0}
    assert abs(int(np.sum(a.y))) <= 1


def test_the_moons_lie_on_their_half_circles_without_noise():
    d = moons(n=50, noise=0.0)
    upper, lower = d.X[d.y < 0], d.X[d.y > 0]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] + 0.5 - 1), 1.0)  # centre (1, 0.5)... turned over
    assert np.all(upper[:, 1] >= 0) and np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_the_six_points_of_the_lesson():
    d = six_points()
    assert d.X.tolist()[0] == [1.2, 0.7] and d.X.tolist()[-1] == [2.1, -3.0]
    assert d.y.tolist() == [1, -1, 1, -1, -1, 1]


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_csv_file_last_column_label_by_default_and_zero_one_labels_mapped(tmp_path):
    d = load_table(write(tmp_path, "1,2,0\n3,4,1\n\n5,6,1\n"))
    np.testing.assert_array_equal(d.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(d.y, [-1, 1, 1])


def test_a_header_names_columns_and_flags_choose_them(tmp_path):
    path = write(tmp_path, "cls,a,b,c\n1,0.5,9,1\n-1,0.25,9,2\n")
    d = load_table(path, label="cls", features=["c", "a"])
    assert d.feature_names == ("c", "a")
    np.testing.assert_array_equal(d.X, [[1, 0.5], [2, 0.25]])
    assert load_table(path, label=1, features=[2]).X.tolist() == [[0.5], [0.25]]


def test_a_npy_file(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, np.array([[0.0, 1.0, -1.0], [2.0, 3.0, 1.0]]))
    d = load_table(path)
    assert d.X.tolist() == [[0, 1], [2, 3]] and d.y.tolist() == [-1, 1]


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("1,2,1\n3,abc,-1\n", {}, r"data.csv: row 2, column 2: 'abc' is not a number"),
        ("a,b,y\n1,2,1\n3,-1\n", {}, r"row 3 has 2 column\(s\), expected 3 like the header"),
        ("1,2,1\n3,4,2\n", {}, r"row 2, column 3: label 2 is not in \{-1, \+1\} or \{0, 1\}"),
        ("1,2,1\n3,4,0\n5,6,-1\n", {}, r"row 3, column 3: label -1 mixes .* \(row 2 has 0\)"),
        ("1,2,1\n", {"label": 7}, r"column 7 does not exist \(the file has 3 column"),
        ("1,2,1\n", {"label": "y"}, r"no header row"),
        ("", {}, r"holds no rows"),
    ],
)
def test_a_bad_file_is_one_clear_error_naming_the_row_or_column(tmp_path, text, kwargs, message):
    with pytest.raises(DataFileError, match=message):
        load_table(write(tmp_path, text), **kwargs)


def test_an_unknown_column_name_suggests_the_header(tmp_path):
    with pytest.raises(UnknownNameError, match="did you mean 'label'"):
        load_table(write(tmp_path, "a,label\n1,1\n"), label="lable")


def test_a_bad_npy_file_names_the_row(tmp_path):
    path = tmp_path / "d.npy"
    np.save(path, np.array([[0.0, 1.0], [np.nan, 1.0]]))
    with pytest.raises(DataFileError, match=r"row 2, column 1: nan is not a finite number"):
        load_table(path)


def test_dataset_by_name_or_file_and_a_typo_suggests(tmp_path):
    assert len(dataset("moons", n=30)) == 30 and dataset("six-points").name == "six-points"
    assert len(dataset(write(tmp_path, "1,2,1\n"))) == 1
    with pytest.raises(UnknownNameError, match="did you mean 'moons'"):
        dataset("mons")
