"""Every subcommand explains itself: a description, help for every option, examples.

The parser is taken from ``mmref.cli.main`` itself (whatever subcommands it has), so a
subcommand or option added later is checked too. argparse has no public way to list a
parser's actions, hence its ``_actions``.
"""

from __future__ import annotations

import argparse
import io
import shlex
from contextlib import redirect_stdout
from typing import Any

import pytest

from mmref.cli import main


def _top_parser(monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    captured: list[argparse.ArgumentParser] = []

    def capture(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        captured.append(self)
        raise SystemExit(0)

    with monkeypatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", capture)
        assert main([]) == 0
    assert len(captured) == 1
    return captured[0]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


def _examples(parser: argparse.ArgumentParser) -> list[list[str]]:
    """The command lines under ``examples:``, without comments and redirections."""
    epilog = parser.epilog or ""
    assert "\nexamples:\n" in "\n" + epilog, f"{parser.prog}: no 'examples:' section in the epilog"
    # A line ending in a backslash continues on the next, as in a shell.
    text = ("\n" + epilog).split("\nexamples:\n", 1)[1].replace("\\\n", " ")
    lines = text.splitlines()
    commands = []
    for line in lines:
        words = shlex.split(line, comments=True)
        if words:
            commands.append(words[: words.index(">")] if ">" in words else words)
    return commands


def test_the_cli_has_subcommands(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"demo", "embed", "conform"} <= set(_subparsers(_top_parser(monkeypatch)))


def test_every_parser_has_a_description_and_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    top = _top_parser(monkeypatch)
    for parser in (top, *_subparsers(top).values()):
        description = (parser.description or "").strip()
        # A paragraph: several sentences, not a one-line label.
        assert len(description) >= 150 and description.count(".") >= 2, parser.prog
        assert isinstance(parser.formatter_class, type)
        assert issubclass(parser.formatter_class, argparse.RawDescriptionHelpFormatter), (
            f"{parser.prog}: the examples need RawDescriptionHelpFormatter to keep their lines"
        )
        assert _examples(parser), f"{parser.prog}: the examples section is empty"


def test_every_option_and_argument_has_help(monkeypatch: pytest.MonkeyPatch) -> None:
    top = _top_parser(monkeypatch)
    for parser in (top, *_subparsers(top).values()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert (choice.help or "").strip(), f"{parser.prog} {choice.dest}: no help"
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help is not argparse.SUPPRESS, f"{parser.prog} {name}: help suppressed"
            assert (action.help or "").strip(), f"{parser.prog} {name}: no help text"


def test_every_example_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    top = _top_parser(monkeypatch)
    subcommands = _subparsers(top)
    for parser in (top, *subcommands.values()):
        for words in _examples(parser):
            assert words[0] == "mmref", f"{parser.prog}: example {words} does not start with mmref"
            if parser is not top:
                assert words[1] == parser.prog.split()[-1], f"{parser.prog}: example {words}"
            try:
                args = top.parse_args(words[1:])
            except SystemExit as exc:  # pragma: no cover - reported below
                pytest.fail(f"{parser.prog}: example {' '.join(words)} does not parse ({exc})")
            assert args.command in subcommands


@pytest.mark.parametrize("command", ["demo", "embed", "conform"])
def test_help_prints_description_options_and_examples(command: str) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main([command, "--help"]) == 0
    text = out.getvalue()
    assert text.startswith(f"usage: mmref {command}")
    assert "options:" in text or "optional arguments:" in text
    assert f"\nexamples:\n  mmref {command}" in text
