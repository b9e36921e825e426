"""Bad input: one clear line naming the file/column, a non-zero exit, nothing pushed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from newlevels import cli
from newlevels.components.ingest.csv_rows import DataError, check_span
from newlevels.transforms.features import DataSpec

SPEC = DataSpec.build(["level"], "label", "id")
COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]


def write(root, span: int, text: str | bytes, name: str = "part.csv") -> str:
    folder = root / f"span-{span}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


GOOD = "id,level,label,extra\nr1,a,1,x\nr2,b,0,y\n"


def test_extra_columns_are_ignored(tmp_path):
    write(tmp_path, 1, GOOD)
    assert check_span(str(tmp_path), 1, SPEC) == 2


@pytest.mark.parametrize(
    "text,message",
    [
        ("id,label\nr1,1\n", "missing column(s) level"),
        ("id,lvl,label\nr1,a,1\n", "missing column(s) level"),
        ("id,level,label\nr1,a,2\n", "label column 'label' holds '2'"),
        ("id,level,label\nr1,a,yes\n", "holds 'yes'"),
        ("id,level,label\nr1,a,\n", "holds ''"),
        ("id,level,label\nr1,a,1,9\n", ":2: 4 fields, the header has 3"),
        ('id,level,label\nr1,"a"b,1\n', "malformed CSV"),
        (b"id,level,label\nr1,\xff\xfe,1\n", "not UTF-8"),
        ("id,level,label\n", "holds no data row"),
        ("", "empty file"),
    ],
)
def test_bad_csv_is_refused_with_the_file_and_the_problem(tmp_path, text, message):
    path = write(tmp_path, 1, text)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        check_span(str(tmp_path), 1, SPEC)
    if "no data row" not in message:
        assert path in str(error.value)


def test_missing_and_empty_spans_are_named(tmp_path):
    write(tmp_path, 1, GOOD)
    with pytest.raises(DataError, match=r"span 3 does not exist.*spans found: \[1\]"):
        check_span(str(tmp_path), 3, SPEC)
    (tmp_path / "span-2").mkdir()
    with pytest.raises(DataError, match="holds no data file"):
        check_span(str(tmp_path), 2, SPEC)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--strategy", "sideways"], "unknown strategy 'sideways'"),
        (["--span", "0"], "--span must be 1 or more"),
        (["--categorical", "level,label"], "columns must be distinct"),
        (["--workdir", "DATA"], "must not be the data folder itself"),
        (["--workdir", "FILE"], "exists and is not a folder"),
        (["--epochs", "0"], "--epochs must be 1 or more, got 0"),
        (["--incremental-epochs", "0"], "--incremental-epochs must be 1 or more, got 0"),
        (["--replay-fraction", "0.5"], "--replay-fraction needs --unfreeze-shared"),
        (["--categorical", "_row_id"], "--categorical column '_row_id' is reserved"),
        (["--id", "_row_id"], "--id column '_row_id' is reserved"),
        (["--categorical", "level,label", "--label", "y"], "column 'label' is reserved"),
        (["--categorical", "level,new_level_level"], "column 'new_level_level' is reserved"),
        (["--label", "new_level"], "--label column 'new_level' is reserved"),
        (
            [
                "--model",
                "mf",
                "--categorical",
                "a,a_bias",
                "--user-col",
                "a",
                "--item-col",
                "a_bias",
            ],
            "--categorical column 'a_bias' is reserved (a table or weight of --model mf)",
        ),
        (
            [
                "--model",
                "mf",
                "--categorical",
                "level,u",
                "--user-col",
                "u",
                "--item-col",
                "level",
                "--label",
                "u_bias",
            ],
            "--label column 'u_bias' is reserved",
        ),
    ],
)
def test_cli_refuses_bad_settings_in_one_line(tmp_path, capsys, args, message):
    write(tmp_path / "data", 1, GOOD)
    (tmp_path / "FILE").write_text("")
    places = {"DATA": str(tmp_path / "data"), "FILE": str(tmp_path / "FILE")}
    args = [places.get(arg, arg) for arg in args]
    argv = [
        "run",
        "--data",
        str(tmp_path / "data"),
        "--span",
        "1",
        "--workdir",
        str(tmp_path / "work"),
        *COLUMNS,
        *args,
    ]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
    assert not os.path.exists(tmp_path / "work" / "serving")


def test_cli_bad_label_exits_nonzero_without_traceback_and_pushes_nothing(tmp_path):
    data = tmp_path / "data"
    path = write(data, 1, "id,level,label\nr1,a,1\nr2,b,7\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "newlevels.cli",
            "run",
            "--data",
            str(data),
            "--span",
            "1",
            "--workdir",
            str(tmp_path / "work"),
            *COLUMNS,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"newlevels: error: {path}:3: label column 'label' holds '7'; use 0 or 1"
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert not os.path.exists(tmp_path / "work" / "serving")
