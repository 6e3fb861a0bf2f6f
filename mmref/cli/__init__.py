"""The ``mmref`` command line: ``mmref demo | embed | conform``.

Exit status: 0 on success, 1 for bad data (or failed conformance checks), 2
for usage errors (bad options, missing files, a target that cannot be
imported), 130 when interrupted. Errors are one line on stderr, never a
traceback. One module per subcommand: :mod:`mmref.cli.demo`,
:mod:`mmref.cli.embed`, :mod:`mmref.cli.conform`.
"""

from ._main import entry_point, main

__all__ = ["entry_point", "main"]
