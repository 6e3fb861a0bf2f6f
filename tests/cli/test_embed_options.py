"""``mmref embed``'s options as a user relies on them, run in this process.

The output dtype (with and without a model file), the progress bar on a terminal,
the default batch size (about 32 MiB of float64 pixels), refusals of values outside an
option's choices and of a missing --output, and --scheduler on a Dask cluster: the
same file as a single-machine run, the work done on the cluster named, refusals of
inputs it cannot read and of a missing dask. The cluster runs in this process (threads,
no worker processes), so that the tests stay quick.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import EMBED_CAPTIONS as CAPTIONS
from helpers import embed_inputs as _inputs

import mmref
from mmref.cli import main


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, as an interactive shell's is."""

    def isatty(self) -> bool:
        return True


def _embed(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["embed", *args])
    return code, capsys.readouterr().err


def _names(err: str, option: str) -> bool:
    """True if the message names ``option`` as a word of its own (not inside another)."""
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", err) is not None


def _float64_model(tmp_path: Path) -> tuple[Path, Any]:
    model = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(6, seed=2), mmref.BagOfWordsTextEncoder(5, seed=3)
    )
    mmref.save(model, tmp_path / "m.mmref")
    return tmp_path / "m.mmref", model


# --- the output dtype ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("model_dtype", [np.float32, np.float64])
def test_dtype_casts_a_model_files_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dtype: str, model_dtype: Any
) -> None:
    images, captions = _inputs(tmp_path)
    model = mmref.MultimodalEncoder(
        mmref.RandomProjectionImageEncoder(6, dtype=model_dtype),
        mmref.BagOfWordsTextEncoder(5, dtype=model_dtype),
    )
    mmref.save(model, tmp_path / "m.mmref")
    expected = mmref.joint_embedding(np.load(images), CAPTIONS, model)
    assert expected.dtype == model_dtype
    out = tmp_path / "out.npy"
    base = ["--images", str(images), "--texts", str(captions), "--model", str(tmp_path / "m.mmref")]
    # Without --dtype the model's own dtype is kept.
    assert _embed(capsys, *base, "--output", str(out), "--batch-size", "4") == (0, "")
    got = np.load(out)
    assert got.dtype == model_dtype and got.tobytes() == expected.tobytes()
    # With it, the model's output is cast.
    assert _embed(capsys, *base, "--output", str(out), "--dtype", dtype) == (0, "")
    got = np.load(out)
    assert got.dtype == np.dtype(dtype) and got.tobytes() == expected.astype(dtype).tobytes()


# --- choices and required options -----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--dtype", "float16"], "--dtype"),
        (["--dtype", "int64"], "--dtype"),
        (["--image-method", "dense"], "--image-method"),
        (["--image-method", "SPARSE"], "--image-method"),
        (["--image-components", "0"], "--image-components"),
        (["--batch-size", "-1"], "--batch-size"),
    ],
)
def test_a_value_outside_an_options_choices_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], option: str
) -> None:
    images, _ = _inputs(tmp_path)
    out = tmp_path / "out.npy"
    code, err = _embed(capsys, "--images", str(images), "--output", str(out), *args)
    assert code == 2 and _names(err, option), err
    assert not out.exists()


@pytest.mark.parametrize("method", ["sparse", "gaussian", "srht"])
def test_every_image_method_named_in_the_choices_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    images, _ = _inputs(tmp_path)
    out = tmp_path / "out.npy"
    args = ["--images", str(images), "--output", str(out), "--image-components", "8"]
    assert _embed(capsys, *args, "--image-method", method) == (0, "")
    encoder = mmref.RandomProjectionImageEncoder(8, method=method)
    assert np.load(out).tobytes() == encoder.encode_image(np.load(images)).tobytes()


def test_output_is_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, _ = _inputs(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = _embed(capsys, "--images", str(images))
    assert code == 2 and _names(err, "--output") and "required" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# --- the progress bar -----------------------------------------------------------------


def test_a_terminal_gets_a_progress_bar_of_the_rows_unless_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tqdm")
    images, captions = _inputs(tmp_path)
    out = tmp_path / "out.npy"
    args = ["embed", "--images", str(images), "--texts", str(captions), "--output", str(out)]
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main([*args, "--batch-size", "4"]) == 0
    # The last state of the bar: every row of the total written.
    assert re.search(r"100%.*\b6/6\b", terminal.getvalue().rsplit("\r", 1)[-1])
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main([*args, "--quiet"]) == 0
    assert quiet.getvalue() == ""
    assert np.load(out).shape == (6, 256 + 1024)


# --- the default batch size ------------------------------------------------------------


def test_the_default_batch_is_about_32_mib_of_float64_pixels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 9 images of 512 x 1024 pixels: 4 MiB each as float64, so 8 rows a batch.
    images = (np.arange(9 * 512 * 1024) % 251).astype(np.uint8).reshape(9, 512, 1024)
    np.save(tmp_path / "big.npy", images)
    import mmref.cli.embed as command

    real = command.embed_rows
    rows: list[int] = []

    def record(model: Any, image: Any, text: Any, start: int, stop: int) -> Any:
        rows.append(stop - start)
        return real(model, image, text, start, stop)

    monkeypatch.setattr(command, "embed_rows", record)
    out = tmp_path / "out.npy"
    assert _embed(capsys, "--images", str(tmp_path / "big.npy"), "--output", str(out)) == (0, "")
    assert sum(rows) == 9 and len(rows) > 1
    assert all(n * 512 * 1024 * 8 <= 32 << 20 for n in rows)
    expected = mmref.RandomProjectionImageEncoder().encode_image(images)
    assert np.load(out).tobytes() == expected.tobytes()


# --- on a Dask cluster -----------------------------------------------------------------

# In a fresh interpreter: a Dask cluster in its own process (threads, no worker processes),
# then `mmref embed ... --scheduler ADDRESS` for each argument list, with a terminal for
# stderr. Prints, per run, the status, what stderr got and the blocks run on the cluster.
# Not in the test process: distributed's threads and event loop do not survive a fork,
# and mutmut runs each mutant's tests in a fork of a process that ran these tests.
_ON_A_CLUSTER = """
import io, json, sys
import distributed
from mmref.cli import main

class Terminal(io.StringIO):
    def isatty(self):
        return True

runs = []
with distributed.LocalCluster(
    n_workers=1, processes=False, threads_per_worker=2, protocol="tcp", dashboard_address=None
) as cluster, distributed.Client(cluster, set_as_default=False) as client:
    for args in json.loads(sys.argv[1]):
        sys.stderr = Terminal()
        with distributed.get_task_stream(client=client) as tasks:
            code = main([*args, "--scheduler", cluster.scheduler_address])
        blocks = sum("embed_block" in task["key"] for task in tasks.data)
        runs.append({"code": code, "stderr": sys.stderr.getvalue(), "blocks": blocks})
        sys.stderr = sys.__stderr__
print(json.dumps(runs))
"""


def _on_a_cluster(*runs: list[str]) -> list[dict[str, Any]]:
    pytest.importorskip("distributed")
    done = subprocess.run(
        [sys.executable, "-c", _ON_A_CLUSTER, json.dumps([["embed", *r] for r in runs])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result: list[dict[str, Any]] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_scheduler_writes_what_a_single_machine_writes_and_runs_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tqdm")
    images, captions = _inputs(tmp_path)
    model_file, model = _float64_model(tmp_path)
    common = ["--images", str(images), "--texts", str(captions), "--model", str(model_file)]
    common += ["--batch-size", "4", "--dtype", "float32"]
    local, remote = tmp_path / "local.npy", tmp_path / "remote.npy"
    assert _embed(capsys, *common, "--output", str(local)) == (0, "")
    jsonl = tmp_path / "captions.jsonl"
    jsonl.write_text("".join(json.dumps({"c": c}) + "\n" for c in CAPTIONS), encoding="utf-8")
    texts_only = tmp_path / "texts.npy"
    first, second = _on_a_cluster(
        [*common, "--output", str(remote)],
        ["--texts", str(jsonl), "--text-field", "c", "--output", str(texts_only)],
    )
    # Two blocks of rows (4 and 2) embedded on the cluster named, with a progress bar.
    assert first["code"] == 0 and first["blocks"] == 2, first
    assert re.search(r"100%.*\b6/6\b", first["stderr"].rsplit("\r", 1)[-1]), first
    expected = mmref.joint_embedding(np.load(images), CAPTIONS, model).astype(np.float32)
    written = np.load(remote)
    assert written.dtype == np.float32 and written.tobytes() == expected.tobytes()
    assert remote.read_bytes() == local.read_bytes()
    # One input, captions by field, the library's default model.
    assert second["code"] == 0 and second["blocks"] == 1, second
    expected = mmref.BagOfWordsTextEncoder().encode_text(CAPTIONS)
    assert np.load(texts_only).tobytes() == expected.tobytes()


def test_scheduler_refuses_a_table_of_captions_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open(tmp_path / "pairs.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["caption"], *([c] for c in CAPTIONS)])
    out = tmp_path / "out.npy"
    args = ["--texts", str(tmp_path / "pairs.csv"), "--text-column", "caption"]
    # Nothing listens at port 1: the refusal comes before any connection.
    code, err = _embed(capsys, *args, "--output", str(out), "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and _names(err, "--scheduler") and ".txt/.jsonl" in err, err
    assert not out.exists()


def test_scheduler_without_dask_is_a_usage_error_naming_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    images, _ = _inputs(tmp_path)
    monkeypatch.setitem(sys.modules, "mmref.dask", None)  # import mmref.dask fails
    out = tmp_path / "out.npy"
    code, err = _embed(
        capsys, "--images", str(images), "--output", str(out), "--scheduler", "tcp://127.0.0.1:1"
    )
    assert code == 2 and _names(err, "--scheduler") and "mmref[dask]" in err, err
    assert not out.exists()
