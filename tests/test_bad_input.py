"""Bad input through `newlevels run`: one line naming the file/column, exit 2, nothing pushed."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

from newlevels import cli
from newlevels.components.ingest.csv_rows import check_span
from newlevels.components.ingest.rows import FORMATS_HELP
from newlevels.transforms.features import DataSpec

SPEC = DataSpec.build(["level"], "label", "id")
COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]
GOOD = "id,level,label,extra\nr1,a,1,x\nr2,b,0,y\n"


def write(root, span: int, text: str | bytes, name: str = "part.csv") -> str:
    folder = root / f"span-{span}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def refusal(tmp_path, capsys, span: int = 1, extra: tuple[str, ...] = ()) -> str:
    """Runs `newlevels run` on `tmp_path/data`; checks it was refused and nothing was pushed.

    Returns:
        The one line printed, without its `newlevels: error: ` prefix.
    """
    work = tmp_path / "work"
    argv = ["run", "--data", str(tmp_path / "data"), "--span", str(span), "--workdir", str(work)]
    capsys.readouterr()
    assert cli.main([*argv, *COLUMNS, *extra]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count("\n") == 0 and err.startswith("newlevels: error: "), err
    assert "Traceback" not in captured.out + captured.err
    assert not (work / "serving").exists(), "nothing may be pushed"
    assert not glob.glob(str(work / "runs" / "*" / "summary.json")), "no run may be recorded"
    return err.removeprefix("newlevels: error: ")


@pytest.mark.reliability("a categorical or label column missing")
@pytest.mark.parametrize(
    "text,message",
    [
        ("id,label\nr1,1\n", ": missing column(s) level"),
        ("id,lvl,label\nr1,a,1\n", ": missing column(s) level"),
        ("id,level,label\nr1,a,2\n", ":2: label column 'label' holds '2'"),
        ("id,level,label\nr1,a,yes\n", ":2: label column 'label' holds 'yes'"),
        ("id,level,label\nr1,a,\n", ":2: label column 'label' holds ''"),
        ("id,level,label\nr1,a,1,9\n", ":2: 4 fields, the header has 3"),
        ('id,level,label\nr1,"a"b,1\n', ":2: malformed CSV"),
        (b"id,level,label\nr1,\xff\xfe,1\n", ": not UTF-8"),
        ("id,level,label\n", ": a header but no data row"),
        ("", ": empty file"),
    ],
)
def test_bad_csv_is_refused_with_the_file_and_the_problem(tmp_path, capsys, text, message):
    path = write(tmp_path / "data", 1, text)
    assert refusal(tmp_path, capsys).startswith(path + message)


@pytest.mark.reliability("the same id twice in one span")
def test_an_id_twice_in_a_span_is_refused_and_ids_may_repeat_across_spans(tmp_path, capsys):
    data = tmp_path / "data"
    write(data, 1, "id,level,label\nr1,a,1\nr2,b,0\n")
    write(data, 2, "id,level,label\nr1,a,1\nr3,c,0\n", name="a.csv")
    path = write(data, 2, "id,level,label\nr4,d,1\n\nr3,e,1\n", name="b.csv")
    first = str(data / "span-2" / "a.csv")
    assert check_span(str(data), 1, SPEC) == 2, "span 1's r1 is no clash for span 2's r1"
    assert refusal(tmp_path, capsys, span=2) == (
        f"{path}:4: id column 'id' holds 'r3' again (first at {first}:3); "
        "ids must be unique within a span"
    )


@pytest.mark.reliability("an empty span folder")
def test_missing_and_empty_spans_are_named(tmp_path, capsys):
    data = tmp_path / "data"
    write(data, 1, GOOD)
    missing = refusal(tmp_path, capsys, span=3)
    assert missing == (f"span 3 does not exist: no folder {data / 'span-3'} (spans found: [1])")
    (data / "span-2").mkdir()
    assert refusal(tmp_path, capsys, span=2) == (
        f"span folder {data / 'span-2'} holds no data file ({FORMATS_HELP})"
    )


@pytest.mark.reliability("unknown strategy")
@pytest.mark.parametrize(
    "args,message",
    [
        (["--strategy", "sideways"], "unknown strategy 'sideways'"),
        (["--span", "0"], "--span must be 1 or more"),
        (["--categorical", "level,label"], "columns must be distinct"),
        (["--categorical", "../x"], "categorical column '../x' cannot name a folder"),
        (["--workdir", "DATA"], "must not be the data folder itself"),
        (["--workdir", "DATA/work"], "is inside the data folder"),
        (["--workdir", "FILE"], "exists and is not a folder"),
        (["--epochs", "0"], "--epochs must be 1 or more, got 0"),
        (["--incremental-epochs", "0"], "--incremental-epochs must be 1 or more, got 0"),
        (["--replay-fraction", "0.5"], "--replay-fraction needs --unfreeze-shared"),
        (["--holdout-fraction", "0"], "--holdout-fraction must be in (0, 1), got 0.0"),
        (["--patience", "0"], "--patience must be 1 or more, got 0"),
        (
            ["--adapt", "head", "--unfreeze-shared", "--replay-fraction", "0.2"],
            "--adapt head trains on every row of the span: drop --replay-fraction",
        ),
        (["--categorical", "level,head_bias"], "column 'head_bias' is reserved"),
        (["--categorical", "level,head_scale_level"], "column 'head_scale_level' is reserved"),
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
    data = tmp_path / "data"
    write(data, 1, GOOD)
    (tmp_path / "FILE").write_text("")
    places = {"DATA": str(data), "DATA/work": str(data / "work"), "FILE": str(tmp_path / "FILE")}
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(data))
    assert message in refusal(tmp_path, capsys, extra=tuple(places.get(a, a) for a in args))
    after = sorted(os.listdir(tmp_path)), sorted(os.listdir(data))
    assert after == before, "a refused setting writes nothing"


@pytest.mark.reliability("bad label through the real command")
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
    assert not glob.glob(str(tmp_path / "work" / "runs" / "*" / "summary.json"))
