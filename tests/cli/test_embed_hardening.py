"""``mmref embed`` against hostile model files, outputs that name inputs, odd inputs, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mmref
from mmref.cli import main

# The catastrophic pattern of the issue, and a caption on which `re` never returns.
EVIL_PATTERN = "(a|aa)+$"
EVIL_CAPTION = "a" * 45 + "b"


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # The timeout kills the child: a regression makes this test fail, never hang.
    return subprocess.run(
        [sys.executable, "-m", "mmref", *args, "--quiet"],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _one_error_line(stderr: str, *needles: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    for needle in needles:
        assert needle in lines[0], stderr


def test_a_model_file_with_a_catastrophic_token_pattern_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "evil.mmref"
    mmref.save(mmref.BagOfWordsTextEncoder(token_pattern=EVIL_PATTERN), model)
    captions = tmp_path / "c.txt"
    captions.write_text(EVIL_CAPTION + "\n")
    out = tmp_path / "out.npy"
    done = _run("embed", "--texts", str(captions), "--model", str(model), "--output", str(out))
    assert done.returncode == 1
    _one_error_line(done.stderr, "token_pattern", "--trust-token-pattern")
    assert not out.exists()


def test_trust_token_pattern_accepts_the_pattern(tmp_path: Path) -> None:
    model = tmp_path / "pattern.mmref"
    mmref.save(mmref.BagOfWordsTextEncoder(token_pattern=r"[a-z]+\d?", n_features=8), model)
    captions = tmp_path / "c.txt"
    captions.write_text("ab1 cd\nxy\n")
    out = tmp_path / "out.npy"
    args = ["embed", "--texts", str(captions), "--model", str(model), "--output", str(out)]
    refused = _run(*args)
    assert refused.returncode == 1 and not out.exists()
    trusted = _run(*args, "--trust-token-pattern")
    assert trusted.returncode == 0, trusted.stderr
    expected = mmref.BagOfWordsTextEncoder(token_pattern=r"[a-z]+\d?", n_features=8)
    assert np.load(out).tobytes() == expected.encode_text(["ab1 cd", "xy"]).tobytes()


def _inputs(tmp_path: Path) -> dict[str, Path]:
    images = tmp_path / "images.npy"
    np.save(images, (np.arange(3 * 16) % 7).astype(np.uint8).reshape(3, 4, 4))
    texts = tmp_path / "texts.txt"
    texts.write_text("a\nb\nc\n")
    model = tmp_path / "model.npy"  # a model file may have any name
    mmref.save(mmref.MultimodalEncoder(), model)
    return {"--images": images, "--texts": texts, "--model": model}


def _aliases(path: Path, tmp_path: Path) -> list[Path]:
    """The same file by its path, another spelling, a symbolic link and a hard link."""
    (tmp_path / "sub").mkdir(exist_ok=True)
    symlink = tmp_path / f"symlink-to-{path.stem}.npy"
    symlink.symlink_to(path)
    hardlink = tmp_path / f"hardlink-to-{path.stem}.npy"
    os.link(path, hardlink)
    return [path, tmp_path / "sub" / ".." / path.name, symlink, hardlink]


@pytest.mark.parametrize("flag", ["--images", "--model"])
def test_an_output_naming_an_input_is_refused_before_reading(
    tmp_path: Path, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = _inputs(tmp_path)
    target = inputs[flag]
    for alias in _aliases(target, tmp_path):
        before = target.read_bytes(), target.stat().st_mtime_ns
        args = ["embed", "--images", str(inputs["--images"]), "--output", str(alias)]
        if flag == "--model":
            args += ["--model", str(inputs["--model"])]
        assert main(args) == 2, alias
        _one_error_line(capsys.readouterr().err, "is the same file as", flag)
        assert (target.read_bytes(), target.stat().st_mtime_ns) == before
        assert alias.exists() and os.path.samefile(alias, target)
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".mmref-tmp")]


def test_an_output_linked_to_the_captions_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_bytes(b"\xff not even UTF-8\n")  # refused first, so never read
    for link in (tmp_path / "out.npy", tmp_path / "hard.npy"):
        if link.name == "out.npy":
            link.symlink_to(texts)
        else:
            os.link(texts, link)
        assert main(["embed", "--texts", str(texts), "--output", str(link)]) == 2
        _one_error_line(capsys.readouterr().err, "is the same file as --texts")
        assert texts.read_bytes() == b"\xff not even UTF-8\n"


def test_a_different_existing_output_is_still_replaced(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    out = tmp_path / "out.npy"
    out.write_bytes(b"earlier")
    assert main(["embed", "--images", str(inputs["--images"]), "--output", str(out)]) == 0
    assert np.load(out).shape[0] == 3


@pytest.mark.parametrize(
    ("flag", "name", "message"),
    [
        ("--texts", "captions.json", "a .json file"),
        ("--texts", "captions.xml", "a .xml file"),
        ("--texts", "captions", "a file without an extension"),
        ("--images", "images.csv", "a .csv file"),
        ("--images", "images.npy.gz", "a .gz file"),
    ],
)
def test_unsupported_input_kinds_are_refused_with_what_is_supported(
    tmp_path: Path, flag: str, name: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text("id,caption\n1,a red circle\n")
    out = tmp_path / "out.npy"
    assert main(["embed", flag, str(path), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    supported = ".txt" if flag == "--texts" else ".npy"
    _one_error_line(err, message, "supported:", supported)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--texts", "c.txt", "--text-field", "caption"], "--text-field goes with a .jsonl"),
        (["--images", "i.npz"], "name its array with --key"),
        (["--images", "i.npy", "--key", "x"], "--key goes with an .npz"),
        (["--texts", "c.txt", "--trust-token-pattern"], "--trust-token-pattern goes with --model"),
    ],
)
def test_options_that_do_not_fit_the_input_kind_are_usage_errors(
    tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    full = [a if not a.startswith(("c.", "i.")) else str(tmp_path / a) for a in args]
    assert main(["embed", *full, "--output", str(tmp_path / "o.npy")]) == 2
    _one_error_line(capsys.readouterr().err, message)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}", "line 2 nests JSON values too"),
        ('{"text": "x", "n": ' + "9" * 5000 + "}", "line 2 is not readable JSON"),
    ],
)
def test_a_hostile_jsonl_line_is_a_one_line_error_naming_it(
    tmp_path: Path, line: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "fine"}\n' + line + "\n")
    out = tmp_path / "out.npy"
    assert main(["embed", "--texts", str(path), "--output", str(out)]) == 1
    _one_error_line(capsys.readouterr().err, message)
    assert not out.exists()


def test_an_interrupt_while_starting_up_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mmref.cli._main as cli_main

    def interrupted() -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "_parser", interrupted)
    try:
        status = main(["embed", "--texts", "x.txt", "--output", "o.npy"])
    except KeyboardInterrupt:
        pytest.fail("KeyboardInterrupt escaped main (a traceback for the user)")
    assert status == 130
    _one_error_line(capsys.readouterr().err, "interrupted")


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
@pytest.mark.parametrize("sig", ["SIGHUP", "SIGTERM", "SIGINT"])
def test_a_signal_midway_cleans_up_the_temporary_file(tmp_path: Path, sig: str) -> None:
    images = tmp_path / "big.npy"
    # open_memmap only writes the header and sizes the file: the zeros take no disk space.
    np.lib.format.open_memmap(images, mode="w+", dtype=np.uint8, shape=(1_000_000, 28, 28)).flush()
    out = tmp_path / "out.npy"
    out.write_bytes(b"earlier result")
    command = ["embed", "--images", str(images), "--output", str(out), "--batch-size", "64"]
    process = subprocess.Popen(
        [sys.executable, "-m", "mmref", *command, "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal, also when the tests run with SIGINT ignored (nohup, a
        # background job of a non-interactive shell): the child would inherit that.
        preexec_fn=_default_sigint,
    )
    try:
        deadline = time.monotonic() + 600
        temporaries: list[Path] = []
        while time.monotonic() < deadline and not temporaries and process.poll() is None:
            temporaries = [p for p in tmp_path.iterdir() if p.name.endswith(".mmref-tmp")]
            time.sleep(0.01)
        # Freeze the run so that a fast machine cannot finish before the signal lands.
        os.kill(process.pid, signal.SIGSTOP)
        assert temporaries, "the run never started writing"
        assert process.poll() is None, "the run finished before it could be interrupted"
        os.kill(process.pid, getattr(signal, sig))
        os.kill(process.pid, signal.SIGCONT)
        _, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    _one_error_line(stderr, "interrupted")
    assert out.read_bytes() == b"earlier result"
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".mmref-tmp")] == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("sig", ["SIGHUP", "SIGTERM", "SIGINT"])
def test_a_signal_while_the_inputs_are_read_is_one_line(tmp_path: Path, sig: str) -> None:
    # The captions are a named pipe that never delivers a byte: the run stays in its
    # start-up, counting the captions, before any output exists.
    captions = tmp_path / "c.txt"
    os.mkfifo(captions)
    out = tmp_path / "out.npy"
    process = subprocess.Popen(
        [sys.executable, "-m", "mmref", "embed", "--texts", str(captions), "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal, also when the tests run with SIGINT ignored (nohup, a
        # background job of a non-interactive shell): the child would inherit that.
        preexec_fn=_default_sigint,
    )
    writer = -1
    try:
        deadline = time.monotonic() + 600
        while writer < 0 and time.monotonic() < deadline and process.poll() is None:
            try:  # succeeds once the run has opened the pipe for reading
                writer = os.open(captions, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.005)
        assert writer >= 0, "the run never opened the captions"
        time.sleep(0.05)  # let it block in read()
        os.kill(process.pid, getattr(signal, sig))
        _, stderr = process.communicate(timeout=600)
    finally:
        if writer >= 0:
            os.close(writer)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    _one_error_line(stderr, "interrupted")
    assert not out.exists()


@pytest.mark.parametrize("name", ["c.txt", "c.jsonl"])
def test_a_caption_line_longer_than_the_limit_is_refused(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mmref._stream as stream

    monkeypatch.setattr(stream, "MAX_LINE_BYTES", 1000)
    path = tmp_path / name
    fine = '{"text": "%s"}' % ("x" * 980) if name.endswith(".jsonl") else "x" * 1000
    long = '{"text": "%s"}' % ("y" * 2000) if name.endswith(".jsonl") else "y" * 1001
    path.write_text(f"{fine}\r\n{fine}\n{long}\n{fine}\n")
    out = tmp_path / "out.npy"
    assert main(["embed", "--texts", str(path), "--output", str(out)]) == 1
    _one_error_line(capsys.readouterr().err, "line 3 is longer than 1000 bytes")
    assert not out.exists()
    path.write_text(f"{fine}\r\n{fine}\n{fine}")
    assert main(["embed", "--texts", str(path), "--output", str(out)]) == 0
    assert np.load(out).shape[0] == 3


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
