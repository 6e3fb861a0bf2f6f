"""``mmref train`` and ``mmref predict`` end to end on a small generated folder and table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

import mmref
from mmref.cli import main

Image = pytest.importorskip("PIL.Image")
sklearn_datasets = pytest.importorskip("sklearn.datasets")


def _labelled(tmp_path: Path, n: int = 24) -> Path:
    """Crops of the two sample photographs, labelled by photograph, and pairs.csv."""
    data = tmp_path / "data"
    (data / "img").mkdir(parents=True)
    photos = {
        "china": sklearn_datasets.load_sample_image("china.jpg"),
        "flower": sklearn_datasets.load_sample_image("flower.jpg"),
    }
    rows = []
    for i in range(n):
        label = "china" if i % 2 else "flower"
        crop = photos[label][10 * i : 10 * i + 60, 15 * i : 15 * i + 80]
        Image.fromarray(crop).save(data / "img" / f"{i:02d}.jpg", quality=90)
        caption = f"photo {i} of a {'temple' if label == 'china' else 'flower'}"
        rows.append([f"img/{i:02d}.jpg", caption, label, f"p{i}"])
    with open(data / "pairs.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "caption", "label", "id"])
        writer.writerows(rows)
    return data


def _train_args(data: Path, model: Path, *extra: str) -> list[str]:
    return [
        "train", "--table", str(data / "pairs.csv"), "--image-column", "path",
        "--text-column", "caption", "--label-column", "label", "--image-size", "24x32",
        "--save", str(model), *extra,
    ]  # fmt: skip


@pytest.mark.parametrize("classifier", ["softmax", "ridge", "centroid"])
def test_train_predict_embed_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], classifier: str
) -> None:
    data = _labelled(tmp_path)
    model_path = tmp_path / "model.mmref"
    args = _train_args(data, model_path, "--test-size", "0.25", "--json")
    assert main([*args, "--classifier", classifier, "--image-mode", "RGB"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_train"] + result["n_test"] == 24 and result["n_test"] == 6
    assert result["classes"] == ["china", "flower"]
    assert result["accuracy"] == 1.0  # the captions name the class
    model = mmref.load(model_path)
    assert isinstance(model, mmref.MultimodalPipeline)
    names = {"softmax": "Softmax", "ridge": "Ridge", "centroid": "NearestCentroid"}
    assert type(model.classifier_).__name__ == names[classifier] + "Classifier"

    out = tmp_path / "pred.csv"
    predict = ["predict", "--model", str(model_path), "--table", str(data / "pairs.csv")]
    predict += ["--image-column", "path", "--text-column", "caption", "--id-column", "id"]
    assert main([*predict, "--output", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == [f"p{i}" for i in range(24)]
    # The same numbers through the two functions of the specification.
    images = mmref.read_images(data / "img", size=(24, 32), mode="RGB")
    with open(data / "pairs.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    joint = mmref.joint_embedding(images, [r["caption"] for r in table], model)
    index = mmref.multimodal_classification(joint, model.classes_, model)
    assert [r["label"] for r in rows] == model.classes_[index].tolist()
    scores = model.predict(joint)[np.arange(24), index]
    assert [float(r["score"]) for r in rows] == scores.tolist()
    assert [r["label"] for r in rows] == [r["label"] for r in table]

    # Parquet output; ids default to the table's image paths; and `embed` reads the model.
    pq = pytest.importorskip("pyarrow.parquet")
    predict = predict[: predict.index("--id-column")]
    assert main([*predict, "--output", str(tmp_path / "pred.parquet")]) == 0
    frame = pq.read_table(tmp_path / "pred.parquet")
    assert frame.column_names == ["id", "label", "score"]
    assert frame.column("id").to_pylist() == [r["path"] for r in table]
    embed = ["embed", "--model", str(model_path), "--table", str(data / "pairs.csv")]
    embed += ["--image-column", "path", "--text-column", "caption", "--image-size", "24x32"]
    assert main([*embed, "--image-mode", "RGB", "--output", str(tmp_path / "e.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "e.npy"), joint)


def test_train_is_deterministic_and_prints_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _labelled(tmp_path, n=12)
    first, second = tmp_path / "a.mmref", tmp_path / "b.mmref"
    assert main(_train_args(data, first, "--test-size", "0.3")) == 0
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "on 4 pairs" in out
    assert main(_train_args(data, second, "--test-size", "0.3")) == 0
    assert first.read_bytes() == second.read_bytes()


def test_images_and_texts_sources_and_paths_outside_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _labelled(tmp_path, n=8)
    # `..` and absolute paths leave the table's folder: allowed (and documented).
    sub = data / "sub"
    sub.mkdir()
    with open(data / "pairs.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][0] = "../img/00.jpg"
    rows[2][0] = str(data / "img" / "01.jpg")
    with open(sub / "pairs.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([r if i < 3 else [f"../{r[0]}", *r[1:]]
                                      for i, r in enumerate(rows)])  # fmt: skip
    model = tmp_path / "m.mmref"
    args = _train_args(sub, model)
    assert main(args) == 0
    # --images and --texts with the labels in the captions table.
    texts = ["--texts", str(data / "pairs.csv"), "--text-column", "caption"]
    args = ["train", "--images", str(data / "img"), *texts, "--label-column", "label"]
    assert main([*args, "--image-size", "24x32", "--save", str(model)]) == 0
    out = tmp_path / "p.csv"
    predict = ["predict", "--model", str(model), "--images", str(data / "img"), *texts]
    assert main([*predict, "--output", str(out)]) == 0  # the image size comes from the model
    assert out.read_text().splitlines()[1].startswith(str(data / "img" / "00.jpg"))


def test_a_demo_model_embeds_and_predicts_files(tmp_path: Path) -> None:
    data = _labelled(tmp_path, n=4)
    demo = tmp_path / "demo.mmref"
    assert (
        main(["demo", "--samples", "60", "--classifier", "ridge", "--save-model", str(demo)]) == 0
    )
    args = ["embed", "--model", str(demo), "--images", str(data / "img"), "--image-size"]
    assert main([*args, "28x28", "--output", str(tmp_path / "e.npy")]) == 0
    assert np.load(tmp_path / "e.npy").shape == (4, 256)
    predict = ["predict", "--model", str(demo), "--table", str(data / "pairs.csv")]
    predict += ["--image-column", "path", "--text-column", "caption", "--image-size", "28x28"]
    assert main([*predict, "--output", str(tmp_path / "p.csv")]) == 0
    model = mmref.load(demo)
    assert isinstance(model.classifier_, mmref.RidgeClassifier)
    with (tmp_path / "p.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert {row["label"] for row in rows} <= {str(c) for c in model.classes_}


def test_errors_are_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _labelled(tmp_path, n=6)
    model = tmp_path / "m.mmref"
    cases = [
        ([*_train_args(data, model)[:-4], "--save", str(model)], 2, "--image-size"),
        ([*_train_args(data, model), "--test-size", "1.5"], 2, "(0, 1)"),
        ([a if a != "label" else "klass" for a in _train_args(data, model)], 1,
         "no column 'klass'"),
        (["train", "--images", str(data / "img"), "--label-column", "label", "--save",
          str(model)], 2, "give --table, or both"),
        (["predict", "--model", str(tmp_path / "none.mmref"), "--table", str(data / "pairs.csv"),
          "--output", str(tmp_path / "p.csv")], 2, "none.mmref"),
        (["predict", "--model", str(model), "--output", str(tmp_path / "p.txt")], 2, ".csv"),
    ]  # fmt: skip
    for args, status, message in cases:
        assert main(args) == status, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    (data / "one.csv").write_text("path,caption,label\nimg/00.jpg,a,x\nimg/01.jpg,b,x\n")
    args = _train_args(data, model)
    args[args.index(str(data / "pairs.csv"))] = str(data / "one.csv")
    assert main(args) == 1
    assert "two distinct labels" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
