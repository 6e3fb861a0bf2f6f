"""README.md's code blocks run as written.

Every fenced ``python`` block runs, each in a fresh namespace and an empty folder; a
block that defines ``test_`` functions runs under pytest, as a user would run it. Every
``sh`` block runs with bash, with this interpreter's scripts (``mmref``, ``python``)
first on PATH. A block preceded by ``<!-- set-up for the next block -->`` also runs
first in the next block's folder. A block preceded by ``<!-- needs torch -->`` runs
where torch is installed (the ``torch`` extra; CI's main environment) and is skipped
elsewhere; every run block that imports torch says so. A block that cannot run here (it
downloads, needs a cluster or stands for the reader's own package) is preceded by
``<!-- not run by tests/test_readme.py: REASON -->``, and must give a reason. Blocks
without a language (program output) are not code. The demo's output in the README is checked against
``mmref demo`` (its accuracies exactly, its recalls to one test pair; its timings vary).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"

_BLOCK = re.compile(
    r"(?:<!--(?P<marker>[^>]*)-->[ \t]*\n)?^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$",
    re.S | re.M,
)
_NOT_RUN = "not run by tests/test_readme.py:"
_SET_UP = "set-up for the next block"
_NEEDS_TORCH = "needs torch"
_IMPORTS_TORCH = re.compile(r"^\s*(?:import torch|from torch[ .])", re.M)
_LANGUAGES = {"python", "sh", ""}


@dataclass
class Block:
    line: int
    lang: str
    body: str
    marker: str

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.lang or 'text'}"


def _blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [
        Block(
            line=text.count("\n", 0, m.start("lang")) + 1,
            lang=m.group("lang"),
            body=m.group("body"),
            marker=(m.group("marker") or "").strip(),
        )
        for m in _BLOCK.finditer(text)
    ]


BLOCKS = _blocks()
CODE = [b for b in BLOCKS if b.lang and not b.marker.startswith(_NOT_RUN)]


def _set_ups(block: Block) -> list[Block]:
    """The set-up blocks right before ``block``, in order."""
    index = BLOCKS.index(block)
    chain: list[Block] = []
    while index > 0 and BLOCKS[index - 1].marker == _SET_UP:
        index -= 1
        chain.insert(0, BLOCKS[index])
    return chain


def test_the_readme_has_blocks_of_each_kind() -> None:
    assert {b.lang for b in CODE} == {"python", "sh"}
    assert len([b for b in CODE if b.lang == "python"]) >= 8


def test_every_block_is_run_or_says_why_not() -> None:
    for block in BLOCKS:
        assert block.lang in _LANGUAGES, f"{block.id}: unknown language {block.lang!r}"
        if block.marker.startswith(_NOT_RUN):
            reason = block.marker[len(_NOT_RUN) :].strip()
            assert len(reason) > 20, f"{block.id}: say why the block is not run"
        else:
            assert block.marker in ("", _SET_UP, _NEEDS_TORCH), (
                f"{block.id}: unknown marker {block.marker!r}"
            )


def test_a_block_needs_torch_exactly_when_it_imports_torch() -> None:
    marked = [b for b in CODE if b.marker == _NEEDS_TORCH]
    assert marked, "the README's PyTorch section is run where torch is installed"
    for block in CODE:
        imports = bool(_IMPORTS_TORCH.search(block.body))
        assert imports == (block.marker == _NEEDS_TORCH), (
            f"{block.id}: mark a block that imports torch <!-- {_NEEDS_TORCH} -->, and only such"
        )


def _run_python(block: Block, folder: Path) -> None:
    if re.search(r"^def test_", block.body, re.M):
        # A test module: run it the way its reader would, with pytest.
        path = folder / f"test_readme_line_{block.line}.py"
        path.write_text(block.body, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path.name],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"{block.id}:\n{done.stdout}\n{done.stderr}"
        assert " passed" in done.stdout, done.stdout
        return
    code = compile(block.body, block.id, "exec")
    exec(code, {"__name__": "__readme__"})


def _run_sh(block: Block, folder: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.body],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{block.id} exited {done.returncode}:\n{done.stderr}"


@pytest.mark.parametrize("block", CODE, ids=[b.id for b in CODE])
def test_block_runs(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    if any(step.marker == _NEEDS_TORCH for step in (*_set_ups(block), block)):
        pytest.importorskip("torch")
    for step in (*_set_ups(block), block):
        (_run_python if step.lang == "python" else _run_sh)(step, tmp_path)


def test_the_demo_output_in_the_readme_is_what_mmref_demo_prints() -> None:
    from mmref.cli.demo import format_result, run_demo

    shown = next(
        b.body for b in BLOCKS if not b.lang and b.body.startswith("mmref demo: 2000 image")
    )
    printed = format_result(run_demo())
    # The accuracies are the same everywhere: compared exactly.
    assert printed.split("\npaired retrieval")[0] == shown.split("\npaired retrieval")[0]
    # The recalls go through BLAS and LAPACK's eigensolver (CCA), whose last bits depend on
    # the NumPy and SciPy builds, and can move a near-tie: one test pair of 500 either way
    # (NumPy 1.24.0 with SciPy 1.10.0 gives 0.034 where newer releases give 0.032).
    got = printed.split("\npaired retrieval")[1].split("\nstage ")[0].splitlines()
    want = shown.split("\npaired retrieval")[1].split("\nstage ")[0].splitlines()
    assert len(got) == len(want)
    for got_line, want_line in zip(got, want, strict=True):
        got_words, want_words = got_line.rsplit(maxsplit=2), want_line.rsplit(maxsplit=2)
        if got_line.startswith(("img->", "text->", "chance")):
            assert got_words[0] == want_words[0]
            for g, w in zip(got_words[1:], want_words[1:], strict=True):
                assert abs(float(g) - float(w)) <= 0.0021, (got_line, want_line)
        else:
            assert got_line == want_line
    # The timing table names the same stages.
    assert [line.split()[0] for line in printed.split("\nstage ")[1].splitlines()] == [
        line.split()[0] for line in shown.split("\nstage ")[1].splitlines()
    ]
