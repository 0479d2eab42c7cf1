"""Every shell command of the README and of the docs pages runs as written, block after block.

Each page runs in a fresh folder of its own, its blocks in order.

Two commands are left out: ``pip install`` (the package is installed already) and ``python -m pytest``
(this suite itself).  ``approx train`` commands that reproduce a published figure with the default
training (up to 150 epochs of per-sample SGD, minutes each) run here for one epoch at batch 64: the
test appends ``--epochs 1 --batch-size 64`` to an ``approx train`` command that sets no ``--epochs``.
A command shown with an ``approx: error:`` line must fail with exit status 2 and exactly that line;
every other command must succeed; ``echo $?`` must print what the README shows.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", "docs/fitting.md", "docs/registry.md", "docs/training.md", "docs/classifiers.md",
         "docs/experiments.md", "docs/secure-inference.md"]
INTERNAL = re.compile(r"\.\./shared|seeds?/|seed 0\d\d|issue \d|issue N\b|a day later|slower day|session \d", re.I)
SKIP = ("pip install", "python -m pytest")
QUICK = ["--epochs", "1", "--batch-size", "64"]


def readme_commands(text: str) -> list[tuple[int, str, list[str]]]:
    """(line number, command, output lines shown after it) of every ```sh and ```console block."""
    found, block, lines = [], None, text.splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("```"):
            block = None if block is not None else line[3:].strip()
            k += 1
            continue
        if block in ("sh", "console"):
            if block == "console" and not line.startswith("$ "):
                if found and line.strip():
                    found[-1][2].append(line)
                k += 1
                continue
            start, command = k + 1, line[2:] if block == "console" else line
            while command.endswith("\\"):
                k += 1
                command = command[:-1] + " " + lines[k].strip()
            found.append((start, command, []))
        k += 1
    return found


def _as_run(command: str) -> str:
    """The command without the skipped parts, approx train shortened where it sets no --epochs."""
    parts = []
    for part in command.split(" && "):
        if part.strip().startswith(SKIP):
            continue
        words = shlex.split(part, comments=True)
        if words[:2] == ["approx", "train"] and "--epochs" not in words:
            part = shlex.join(words + QUICK)
        parts.append(part)
    return " && ".join(parts)


def test_readme_parser_finds_the_blocks():
    found = readme_commands("```console\n$ approx a \\\n   --b\nout\n$ echo $?\n2\n```\n```sh\nx && y\n```\n")
    assert found == [(2, "approx a  --b", ["out"]), (5, "echo $?", ["2"]), (9, "x && y", [])]
    assert _as_run("echo $?") == "echo $?"
    assert _as_run("pip install -e . && approx train --lags 1 # note") == "approx train --lags 1 " + " ".join(QUICK)


def test_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text()
    lines = text.splitlines()
    assert lines[:4] == ["```sh", "pip install -e '.[dev]' && approx fit --func sigmoid --degree 3",
                         "python -m pytest", "```"]
    assert len(lines) < 220, f"README.md has {len(lines)} lines; move how-tos to docs/, figures to benchmarks/"
    for link in re.findall(r"\]\(((?:docs|benchmarks)/[^)#]+)", text):
        assert (ROOT / link).exists(), f"README.md links to missing {link}"


@pytest.mark.parametrize("page", PAGES + ["benchmarks/RESULTS.md"])
def test_pages_point_at_nothing_internal(page):
    for number, line in enumerate((ROOT / page).read_text().splitlines(), 1):
        assert not INTERNAL.search(line), f"{page} line {number}: {line}"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_command_runs_as_written(page, tmp_path):
    commands = [(n, _as_run(c), shown) for n, c, shown in readme_commands((ROOT / page).read_text())]
    commands = [(n, c, shown) for n, c, shown in commands if c]
    assert len(commands) >= 3, f"{page}: expected its command blocks"
    script = [f'approx() {{ "{sys.executable}" -m approx "$@"; }}', f'python() {{ "{sys.executable}" "$@"; }}']
    for i, (_, command, _) in enumerate(commands):
        script.append(f"{{ {command}\n}} > out{i} 2> err{i}; __rc=$?; echo $__rc > rc{i}; (exit $__rc)")
    env = {k: v for k, v in os.environ.items() if k != "APPROX_REGISTRY"}
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env, timeout=900, check=False)
    for i, (line, command, shown) in enumerate(commands):
        where = f"{page} line {line}: {command}"
        assert (tmp_path / f"rc{i}").exists(), f"{where}: did not run"
        status = int((tmp_path / f"rc{i}").read_text())
        stderr = (tmp_path / f"err{i}").read_text()
        if shown and shown[0].startswith("approx: error:"):
            assert status == 2 and stderr.strip() == shown[0], f"{where}: status {status}, {stderr}"
        else:
            assert status == 0, f"{where}: exit status {status}\n{stderr[-2000:]}"
        if command.startswith("echo $?"):
            assert (tmp_path / f"out{i}").read_text().strip() == shown[0], where
