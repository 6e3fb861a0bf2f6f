"""The ``mmref`` command line: demo, embed (streaming, crash safety, errors)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mmref
from mmref.cli import main

CAPTIONS = ["a red circle", "一个蓝色的方块", "", "green cross 绿色", "🙂 emoji", "x"]


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmref", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _inputs(tmp_path: Path, n: int = 6, shape: tuple[int, ...] = (8, 8)) -> tuple[Path, Path]:
    images = (np.arange(n * int(np.prod(shape))) % 253).astype(np.uint8).reshape(n, *shape)
    np.save(tmp_path / "images.npy", images)
    captions = [CAPTIONS[i % len(CAPTIONS)] for i in range(n)]
    (tmp_path / "captions.txt").write_text("\n".join(captions) + "\n", encoding="utf-8")
    return tmp_path / "images.npy", tmp_path / "captions.txt"


# --- demo ------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo_json_is_deterministic_and_fusion_helps() -> None:
    runs = [_run("demo", "--samples", "300", "--seed", "3", "--json") for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    first, second = (json.loads(r.stdout) for r in runs)
    assert first["accuracy"] == second["accuracy"]
    assert set(first["accuracy"]) == {"centroid", "ridge", "softmax"}
    assert first["widths"] == {"image": 256, "text": 1024, "joint": 1280}
    assert first["n_train"] + first["n_test"] == 300
    for stage, rate in first["throughput_items_per_s"].items():
        assert rate is None or rate > 0, stage


@pytest.mark.slow
def test_demo_default_meets_the_fusion_target() -> None:
    from mmref.cli.demo import run_demo

    result = run_demo()  # the defaults of `mmref demo`: 2000 samples, seed 0
    for name, acc in result.accuracy.items():
        best_single = max(acc["image"], acc["text"])
        assert acc["joint"] >= best_single + 0.15, (name, acc)


@pytest.mark.slow
def test_demo_table_and_classifier_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--samples", "300", "--classifier", "ridge"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "ridge" in out and "softmax" not in out
    assert "joint_embedding" in out and "total" in out


@pytest.mark.slow
def test_demo_save_model_feeds_embed(tmp_path: Path) -> None:
    model = tmp_path / "demo.mmref"
    args = ["demo", "--samples", "200", "--classifier", "centroid", "--json"]
    assert main([*args, "--save-model", str(model)]) == 0
    # The saved pipeline's encoder was fitted on the demo's 28x28 images and checks that width.
    images, captions = _inputs(tmp_path, shape=(28, 28))
    out = tmp_path / "out.npy"
    args = ["embed", "--images", str(images), "--texts", str(captions), "--output", str(out)]
    assert main([*args, "--model", str(model), "--quiet"]) == 0
    expected = mmref.joint_embedding(np.load(images), CAPTIONS, mmref.load(model))
    np.testing.assert_array_equal(np.load(out), expected)


# --- embed -----------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", ["1", "4", "100"])
def test_embed_equals_the_library_defaults(tmp_path: Path, batch_size: str) -> None:
    images, captions = _inputs(tmp_path)
    out = tmp_path / "out.npy"
    code = main(
        [
            "embed",
            "--images",
            str(images),
            "--texts",
            str(captions),
            "--output",
            str(out),
            "--batch-size",
            batch_size,
        ]
    )
    assert code == 0
    expected = mmref.joint_embedding(np.load(images), CAPTIONS, mmref.MultimodalEncoder())
    result = np.load(out, allow_pickle=False)
    assert result.dtype == expected.dtype and result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-15)


def test_embed_single_modalities_dtype_and_channels(tmp_path: Path) -> None:
    images, captions = _inputs(tmp_path, n=5, shape=(6, 6, 3))  # 5 captions, 6x6 RGB
    encoder = mmref.MultimodalEncoder()
    out = tmp_path / "img.npy"
    assert main(["embed", "--images", str(images), "--output", str(out), "--dtype", "float32"]) == 0
    reference = encoder.encode_image(np.load(images).reshape(5, 6, 18))
    result = np.load(out)
    assert result.dtype == np.float32 and result.shape == (5, 256)
    np.testing.assert_allclose(result, reference, rtol=1e-5, atol=1e-6)
    out = tmp_path / "txt.npy"
    assert main(["embed", "--texts", str(captions), "--output", str(out)]) == 0
    np.testing.assert_array_equal(np.load(out), encoder.encode_text(CAPTIONS[:5]))


def test_embed_jsonl_and_encoder_options(tmp_path: Path) -> None:
    images, _ = _inputs(tmp_path, n=3)
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text("".join(json.dumps({"caption": c}) + "\n" for c in CAPTIONS[:3]))
    out = tmp_path / "out.npy"
    code = main(
        [
            "embed",
            "--images",
            str(images),
            "--texts",
            str(jsonl),
            "--text-field",
            "caption",
            "--output",
            str(out),
            "--image-method",
            "srht",
            "--image-components",
            "16",
            "--text-features",
            "32",
            "--seed",
            "5",
        ]
    )
    assert code == 0
    model = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(16, method="srht", seed=5),
        mmref.BagOfWordsTextEncoder(32, seed=5),
    )
    np.testing.assert_allclose(np.load(out), model.embed(np.load(images), CAPTIONS[:3]), rtol=1e-12)


@pytest.mark.parametrize("shape", [(8, 8), (6, 6, 3)])
def test_embed_fortran_order_images_give_the_same_embeddings(
    tmp_path: Path, shape: tuple[int, ...]
) -> None:
    images, captions = _inputs(tmp_path, n=11, shape=shape)
    np.save(tmp_path / "fortran.npy", np.asfortranarray(np.load(images)))
    outputs = []
    for source in (images, tmp_path / "fortran.npy"):
        out = tmp_path / f"{source.stem}.out.npy"
        args = ["embed", "--images", str(source), "--texts", str(captions), "--output", str(out)]
        assert main([*args, "--batch-size", "4", "--quiet"]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_embed_jsonl_with_blank_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, _ = _inputs(tmp_path, n=3)
    records = [json.dumps({"text": c}) for c in CAPTIONS[:3]]
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text("\n".join(records) + "\n\n  \n")  # blank lines at the end are ignored
    out = tmp_path / "out.npy"
    args = ["embed", "--images", str(images), "--texts", str(jsonl), "--output", str(out)]
    assert main([*args, "--quiet"]) == 0
    expected = mmref.joint_embedding(np.load(images), CAPTIONS[:3], mmref.MultimodalEncoder())
    np.testing.assert_array_equal(np.load(out), expected)
    jsonl.write_text(records[0] + "\n\n" + "\n".join(records[1:]) + "\n")
    assert main([*args, "--quiet"]) == 1
    assert "line 2 is blank" in capsys.readouterr().err


def _fails(args: list[str], status: int, message: str) -> None:
    run = _run(*args)
    assert run.returncode == status, (run.returncode, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert message in lines[0], lines[0]


@pytest.mark.slow
def test_embed_errors_are_one_line_and_write_nothing(tmp_path: Path) -> None:
    images, _ = _inputs(tmp_path)
    out = tmp_path / "out.npy"
    out.write_bytes(b"earlier result")
    base = ["embed", "--output", str(out)]
    _fails([*base, "--images", str(tmp_path / "nope.npy")], 2, "No such file")
    _fails([*base], 2, "give --images, --texts or both")
    _fails([*base, "--images", str(images), "--model", "m.mmref", "--seed", "1"], 2, "--model")
    short = tmp_path / "short.txt"
    short.write_text("one\ntwo\n")
    _fails([*base, "--images", str(images), "--texts", str(short)], 1, "holds 6 images but")
    bad_utf8 = tmp_path / "bad.txt"
    bad_utf8.write_bytes(b"a\nb\nc\nd\n\xfe\nf\n")
    bad = [*base, "--images", str(images), "--texts", str(bad_utf8)]
    _fails(bad, 1, "line 5 is not valid UTF-8")
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([[[object()]]], dtype=object), allow_pickle=True)
    _fails([*base, "--images", str(pickled)], 1, "object or pickled")
    truncated = tmp_path / "truncated.npy"
    truncated.write_bytes(images.read_bytes()[:-7])
    _fails([*base, "--images", str(truncated)], 1, "truncated")
    strings = tmp_path / "strings.npy"
    np.save(strings, np.array([[["a"]]]))
    _fails([*base, "--images", str(strings)], 1, "expected real numbers")
    nan_row = np.zeros((6, 8, 8))
    nan_row[4, 2, 2] = np.nan
    np.save(tmp_path / "nan.npy", nan_row)
    _fails([*base, "--images", str(tmp_path / "nan.npy"), "--batch-size", "2"], 1, "rows 4 to 5")
    _fails([*base, "--images", str(images), "--batch-size", "0"], 2, "positive integer")
    assert out.read_bytes() == b"earlier result"
    assert sorted(p.name for p in tmp_path.iterdir() if "mmref-tmp" in p.name) == []


def test_embed_no_progress_when_not_a_terminal(tmp_path: Path) -> None:
    images, captions = _inputs(tmp_path)
    run = _run(
        "embed",
        "--images",
        str(images),
        "--texts",
        str(captions),
        "--output",
        str(tmp_path / "o.npy"),
    )
    assert run.returncode == 0 and run.stderr == "" and run.stdout == ""


def _sparse_images(path: Path, shape: tuple[int, ...]) -> Path:
    # open_memmap only writes the header and sizes the file: the zeros take no disk space.
    np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape).flush()
    return path


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_embed_interrupted_midway_leaves_no_output(tmp_path: Path, sig: signal.Signals) -> None:
    images = _sparse_images(tmp_path / "big.npy", (1_000_000, 28, 28))
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
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 600
    temporaries: list[Path] = []
    while time.monotonic() < deadline and not temporaries and process.poll() is None:
        temporaries = [p for p in tmp_path.iterdir() if p.name.endswith(".mmref-tmp")]
        time.sleep(0.01)
    # Freeze the run midway so that a fast machine cannot finish before the signal lands.
    os.kill(process.pid, signal.SIGSTOP)
    assert temporaries, "the run never started writing"
    assert process.poll() is None, "the run finished before it could be interrupted"
    os.kill(process.pid, sig)
    os.kill(process.pid, signal.SIGCONT)
    _, stderr = process.communicate(timeout=600)
    assert out.read_bytes() == b"earlier result"
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".mmref-tmp")]
    if sig == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL  # nothing can clean up after SIGKILL
    else:
        assert process.returncode == 130 and left == [], stderr
        assert "interrupted" in stderr and "Traceback" not in stderr


@pytest.mark.slow
def test_embed_streams_a_large_file_in_bounded_memory(tmp_path: Path) -> None:
    images = _sparse_images(tmp_path / "large.npy", (32_768, 128, 128))  # 512 MiB
    out = tmp_path / "out.npy"
    child = (
        "import sys\n"
        "from mmref.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(peak)\n"
        "sys.exit(status)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", child, "embed", "--images", str(images), "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    peak_bytes = int(run.stdout.split()[-1]) * 1024
    assert peak_bytes < 300e6, f"peak RSS {peak_bytes / 1e6:.0f} MB for a 537 MB input"
    result = np.load(out, mmap_mode="r")
    assert result.shape == (32_768, 256)
    assert not np.any(result[::4096])  # zero images give zero rows, never NaN


@pytest.mark.slow
def test_embed_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    pytest.importorskip("tqdm")
    import fcntl
    import pty
    import struct
    import termios

    images, captions = _inputs(tmp_path, n=40)
    outputs = {}
    for quiet in (False, True):
        leader, follower = pty.openpty()
        # A new pseudo-terminal is 0x0; give it the size of a real one.
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        args = ["embed", "--images", str(images), "--texts", str(captions), "--batch-size", "8"]
        args += ["--output", str(tmp_path / f"o{quiet}.npy")] + (["--quiet"] if quiet else [])
        process = subprocess.Popen(
            [sys.executable, "-m", "mmref", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=follower,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        assert process.wait(timeout=600) == 0
        outputs[quiet] = b"".join(chunks).decode("utf-8", "replace")
    assert "40/40" in outputs[False] and "rows" in outputs[False], outputs[False]
    assert outputs[True] == ""


def test_embed_model_with_a_colour_image_shape(tmp_path: Path) -> None:
    images, captions = _inputs(tmp_path, n=5, shape=(6, 6, 3))
    model = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(16, image_shape=(6, 6, 3)), mmref.BagOfWordsTextEncoder()
    )
    mmref.save(model, tmp_path / "m.mmref")
    out = tmp_path / "out.npy"
    args = ["embed", "--images", str(images), "--texts", str(captions), "--output", str(out)]
    assert main([*args, "--model", str(tmp_path / "m.mmref"), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(out), model.embed(np.load(images), CAPTIONS[:5]))
