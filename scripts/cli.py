"""What the portal's command-line tools share (scripts.users, scripts.ingest): a parser whose usage
errors are one line naming the tool's --help, and the exit code of a refused command."""

from __future__ import annotations

import argparse

EXIT_ERROR = 2


class CommandError(Exception):
    """A command refused before it changed anything; its text is the message."""


def parser(prog: str, doc: str) -> argparse.ArgumentParser:
    """The tool's parser, described by the first paragraph of `doc`: a usage error raises CommandError
    instead of printing argparse's usage block. Its subcommands: `add_subparsers(...,
    parser_class=type(parser))`, so that theirs do the same."""

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str):
            raise CommandError(f"{message} (see `{prog} --help`)")

    return _Parser(prog=prog, description=doc.split("\n\n")[0])
