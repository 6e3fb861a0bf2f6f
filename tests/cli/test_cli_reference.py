"""README.md's "Command-line reference" is what the parser defines, so it cannot go stale.

The section lists each subcommand's one-line summary and every option with its
metavar or choices, whether it is required, and its help sentence. It is built here
from the parser's actions in a fixed format of its own (argparse's --help layout
differs between Python versions). After changing an option, rewrite the section with

    python tests/cli/test_cli_reference.py

argparse has no public way to list a parser's actions and groups, hence ``_actions``
and ``_action_groups`` (as tests/cli/test_help.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from unittest import mock

README = Path(__file__).resolve().parents[2] / "README.md"
TITLE = "## Command-line reference\n"
INTRO = """\
Every option of each subcommand, as `mmref COMMAND --help` prints it (with more on
each command and examples there). tests/cli/test_cli_reference.py checks that this
section is what the parser defines; `python tests/cli/test_cli_reference.py` rewrites
it after an option changes.
"""


def _top_parser() -> argparse.ArgumentParser:
    """The parser ``mmref.cli.main`` builds, caught as it starts parsing."""
    from mmref.cli import main

    captured: list[argparse.ArgumentParser] = []

    def capture(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        captured.append(self)
        raise SystemExit(0)

    with mock.patch.object(argparse.ArgumentParser, "parse_args", capture):
        assert main([]) == 0
    assert len(captured) == 1
    return captured[0]


def _argument(action: argparse.Action) -> str:
    """How the option is written: ``--name METAVAR``, ``--flag``, ``NAME`` or ``{a,b}``."""
    if action.metavar is not None:
        metavar = str(action.metavar)
    elif action.choices is not None:
        metavar = "{" + ",".join(map(str, action.choices)) + "}"
    else:
        metavar = action.dest if not action.option_strings else action.dest.upper()
    if action.nargs == 0:
        value = ""
    elif action.nargs is None:
        value = metavar
    elif action.nargs == "?":
        value = f"[{metavar}]"
    elif action.nargs == "*":
        value = f"[{metavar} ...]"
    elif action.nargs == "+":
        value = f"{metavar} [{metavar} ...]"
    else:
        raise AssertionError(f"{action.dest}: nargs={action.nargs!r} is not described here")
    if not action.option_strings:
        return value
    return ", ".join(f"{o} {value}".strip() for o in action.option_strings)


def _entry(action: argparse.Action) -> str:
    help_text = str(action.help or "")
    assert "%(" not in help_text, f"{action.dest}: a help text with a %-format is not expanded"
    required = " (required)" if action.option_strings and action.required else ""
    return f"- `{_argument(action)}`{required}: {help_text.replace('%%', '%')}"


def reference(top: argparse.ArgumentParser) -> str:
    """The README section, without its title: the subcommands in the parser's order."""
    [commands] = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    summaries = {c.dest: str(c.help) for c in commands._choices_actions}
    parts = [INTRO]
    for name, parser in commands.choices.items():
        lines = [f"### `mmref {name}`", "", f"{summaries[name]}."]
        for index, group in enumerate(parser._action_groups):
            actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction)]
            if not actions:
                continue
            # The first two groups are argparse's own, titled differently by version.
            title = ("Arguments", "Options")[index] if index < 2 else str(group.title)
            lines += ["", f"{title[0].upper()}{title[1:]}:", ""]
            lines += [_entry(a) for a in actions]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def _section(text: str) -> tuple[int, int]:
    """Where the section's body starts and ends in README.md's text."""
    assert text.count(TITLE) == 1, f"README.md has no single {TITLE.strip()!r} section"
    start = text.index(TITLE) + len(TITLE) + 1  # after the title and its blank line
    end = text.find("\n## ", start)  # the next section, after a blank line
    return start, len(text) if end == -1 else end


def test_the_readme_reference_is_what_the_parser_defines() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = _section(text)
    expected = reference(_top_parser())
    assert text[start:end] == expected, (
        "README.md's command-line reference is out of date: run "
        "python tests/cli/test_cli_reference.py"
    )


def test_an_entry_shows_metavar_choices_and_required() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", metavar="OUT", required=True, help="where")
    parser.add_argument("--kind", choices=("a", "b"), help="which")
    parser.add_argument("--rows", type=int, help="100%% of them")
    parser.add_argument("--quiet", action="store_true", help="hush")
    parser.add_argument("target", nargs="+", help="what")
    entries = [_entry(a) for a in parser._actions[1:]]
    assert entries == [
        "- `--out OUT` (required): where",
        "- `--kind {a,b}`: which",
        "- `--rows ROWS`: 100% of them",
        "- `--quiet`: hush",
        "- `target [target ...]`: what",
    ]


if __name__ == "__main__":
    sys.path.insert(0, str(README.parent))
    text = README.read_text(encoding="utf-8")
    start, end = _section(text)
    README.write_text(text[:start] + reference(_top_parser()) + text[end:], encoding="utf-8")
    print(f"rewrote the command-line reference in {README}")
