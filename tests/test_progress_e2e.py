"""What a user sees: `newlevels run` under a real pseudo-terminal, and `report --out`."""

from __future__ import annotations

import fcntl
import json
import os
import pathlib
import pty
import re
import shlex
import struct
import subprocess
import sys
import termios

import pytest

from newlevels import cli
from newlevels.pipeline.data.toy import write_toy

COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]
#: the live display's marks (newlevels.cli.progress.MARKS) and spinner frames (braille).
LIVE_LINE = re.compile(r"^(?P<mark>[✓✗⠀-⣿]) (?P<node>\S+) +(?P<seconds>\d+\.\d) s$")

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def run_in_terminal(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Runs `command` with a pseudo-terminal (120 x 50) as stdin, stdout and stderr."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
    process = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return process.wait(), b"".join(chunks).decode("utf-8", "replace")


def final_screen(output: str) -> list[str]:
    """The lines a terminal shows at the end: replays text, CR, LF, cursor-up and erase-line."""
    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+|\x1b", output):
        if token == "\n":
            row += 1
        elif token == "\r":
            col = 0
        elif token.startswith("\x1b["):
            argument, code = token[2:-1], token[-1]
            if code == "A":
                row = max(0, row - (int(argument) if argument.isdigit() else 1))
            elif code == "K":
                lines[row] = "" if argument == "2" else lines[row][:col]
        elif token != "\x1b":
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
        lines += [""] * (row + 1 - len(lines))
    return lines


@pytest.fixture(scope="module")
def terminal_run(tmp_path_factory):
    """Span 1 of the toy data, run by `newlevels run` on a pseudo-terminal."""
    root = tmp_path_factory.mktemp("terminal")
    data, workdir = str(root / "data"), str(root / "work")
    write_toy(data)
    command = [sys.executable, "-m", "newlevels.cli", "run", "--data", data, "--span", "1"]
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_INTERACTIVE")}
    code, output = run_in_terminal(
        [*command, "--workdir", workdir, *COLUMNS], {**env, "TERM": "xterm"}
    )
    assert code == 0, output[-2000:]
    summary_path = pathlib.Path(workdir, "runs", "span-1", "summary.json")
    return {
        "workdir": workdir,
        "output": output,
        "summary": json.loads(summary_path.read_text(encoding="utf-8")),
    }


def test_a_terminal_shows_one_live_line_per_component_with_its_seconds(terminal_run):
    screen = final_screen(terminal_run["output"])
    seconds = terminal_run["summary"]["seconds"]
    shown = [m for line in screen if (m := LIVE_LINE.match(line))]
    # Exactly one line per component the run executed, each finished, with its seconds.
    assert sorted(m["node"] for m in shown) == sorted(seconds)
    assert all(m["mark"] == "✓" for m in shown)
    for m in shown:
        # The hook times the whole launch; MLMD times the execution inside it.
        assert float(m["seconds"]) + 0.06 >= seconds[m["node"]]
    first = screen.index(next(line for line in screen if LIVE_LINE.match(line)))
    assert screen[first - 1].startswith("== span 1: running the pipeline")
    assert screen[first + len(shown)].startswith("span 1  strategy split")
    # Live, not plain lines: the display redrew itself; TFX's logging went to the log file.
    assert "\x1b[1A" in terminal_run["output"] and "started " not in terminal_run["output"]
    assert " INFO " not in terminal_run["output"]
    log = pathlib.Path(terminal_run["workdir"], "runs", "span-1", "pipeline.log")
    assert " INFO absl: " in log.read_text(encoding="utf-8")


def test_report_out_writes_the_page_there_and_says_how_to_open_it(terminal_run, tmp_path, capsys):
    out = tmp_path / "my report"
    workdir = terminal_run["workdir"]
    assert cli.main(["report", "--workdir", workdir, "--span", "1", "--out", str(out)]) == 0
    page = out / "report.html"
    assert page.is_file() and (out / "probabilities.png").is_file()
    assert not pathlib.Path(workdir, "runs", "span-1", "report").exists()
    printed = capsys.readouterr().out.splitlines()
    assert f"page:   {page}" in printed
    opening = next(line for line in printed if line.startswith("open:"))
    assert opening.startswith(f"open:   {page.as_uri()}  (or: ")
    assert opening.endswith(f" {shlex.quote(str(page))})")
