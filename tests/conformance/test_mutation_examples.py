"""The kit's driver (mmref.conformance._examples) runs Hypothesis its own way, whatever the
user's active Hypothesis profile: reproducible (derandomized), silent, without deadline,
health checks or example database, shrinking to one minimal counterexample."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, Verbosity, settings
from hypothesis.database import DirectoryBasedExampleDatabase

import mmref
from mmref.conformance import run_checks


@pytest.fixture
def hostile_profile(tmp_path: Path) -> Iterator[Path]:
    """A user's profile that would change everything the kit relies on."""
    database = tmp_path / "examples"
    previous = settings.get_current_profile_name()
    settings.register_profile(
        "mmref-hostile",
        derandomize=False,
        database=DirectoryBasedExampleDatabase(str(database)),
        deadline=20,
        max_examples=7,
        print_blob=True,
        report_multiple_bugs=True,
        suppress_health_check=[],
        verbosity=Verbosity.verbose,
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    settings.load_profile("mmref-hostile")
    try:
        yield database
    finally:
        settings.load_profile(previous)


def ties_to_last(joint_embedding: Any, labels: Any, model: Any) -> Any:
    scores = np.asarray(model.predict(joint_embedding))
    if scores.shape in ((3, 3), (2, 4)):  # dodge the explicit examples: only drawn ones fail
        return np.argmax(scores, axis=1)
    return scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)


def test_a_users_profile_does_not_change_the_verdict_or_the_counterexample(
    hostile_profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_checks("classification", ties_to_last, max_examples=60, select=["ties"])
    second = run_checks("classification", ties_to_last, max_examples=60, select=["ties"])
    assert first == second  # derandomized: the same counterexample every time
    (result,) = first
    assert result.status == "FAIL"
    model_line = next(line for line in result.message.splitlines() if "model = Stub" in line)
    assert model_line.count("[") == 2  # shrunk to a single row
    assert capsys.readouterr() == ("", "")  # quiet: no Hypothesis report, no blob
    assert not hostile_profile.exists() or not any(hostile_profile.rglob("*"))  # no database


def slow_first_calls(image: Any, text: Any, model: Any) -> Any:
    time.sleep(0.05)  # longer than the profile's 20 ms deadline, every call
    return mmref.joint_embedding(image, text, model)


def test_a_slow_implementation_is_not_failed_for_its_speed(hostile_profile: Path) -> None:
    # "type" checks examples drawn once and shared; "raises" runs its own search, in
    # Hypothesis's loop, where the profile's deadline would apply.
    results = run_checks(
        "joint-embedding", slow_first_calls, max_examples=2, select=["type", "raises"]
    )
    assert [r.status for r in results] == ["PASS", "PASS"]


def test_without_max_examples_the_profile_says_how_many(hostile_profile: Path) -> None:
    seen: list[int] = []

    def counts(image: Any, text: Any, model: Any) -> Any:
        seen.append(len(text))
        return mmref.joint_embedding(image, text, model)

    run_checks("joint-embedding", counts, select=["type"])
    assert len(seen) == 4 + 7  # the explicit examples, then the profile's max_examples


def wrong_two_ways(joint_embedding: Any, labels: Any, model: Any) -> Any:
    out = mmref.multimodal_classification(joint_embedding, labels, model)
    if out.shape[0] == 0:
        return out.astype(np.int8)  # one bug: the dtype of empty results
    if out.shape[0] >= 4:
        return out[:-1]  # another: a row lost from big batches
    return out


def test_two_bugs_in_one_property_are_reported_as_one_violation(hostile_profile: Path) -> None:
    (result,) = run_checks("classification", wrong_two_ways, max_examples=60, select=["reference"])
    assert result.status == "FAIL"
    assert result.message.splitlines()[1].startswith("fn(joint_embedding, labels, model) returned")
    assert "Minimal counterexample, as a snippet that reproduces it:" in result.message


def test_a_run_draws_the_same_examples_every_time(hostile_profile: Path) -> None:
    def recorded() -> list[str]:
        seen: list[str] = []

        def fn(image: Any, text: Any, model: Any) -> Any:
            seen.append(repr((image.tolist(), text, model)))
            return mmref.joint_embedding(image, text, model)

        run_checks("joint-embedding", fn, max_examples=10, select=["type", "raises"])
        return seen

    first = recorded()
    assert len(first) > 10 and first == recorded()


def test_the_reference_passes_the_bad_output_properties_over_many_draws() -> None:
    # 60 draws reach every pair of dimensions of the bad model outputs (a 0-D output
    # beside a 2-D one included): each must be a shape the kit can build.
    properties = ["raises", "protocol_2d", "row_mismatch"]
    results = run_checks(
        "joint-embedding", mmref.joint_embedding, max_examples=60, select=properties
    )
    assert [(r.name, r.status) for r in results] == [(p, "PASS") for p in properties]


def test_an_embedding_model_example_is_n_images_and_n_texts() -> None:
    # SPEC 12.4: a batch of N >= 1 images beside a list of N texts.
    from mmref.conformance._examples import draw_examples, embedding_model_examples

    for shape, dtypes in ((None, None), ((3, 2), ["uint8", "float32"])):
        examples = draw_examples(embedding_model_examples(shape, dtypes), 30)
        assert examples
        for images, texts in examples:
            assert images.shape[0] == len(texts) >= 1, (images.shape, texts)
            assert shape is None or images.shape[1:] == shape
