"""The user's mistakes, as one family of exceptions.

Every top-level script runs through ``cli.Script.run``, which prints a ``UserError`` as one line
(``<script>: error: <message>``, exit status 2) and lets every other exception keep its traceback: a bad
value or a missing file is the user's to fix, anything else is a bug to report. So raise a ``UserError``
(or a subclass) exactly when the message alone tells the user what to do, and name the fix in it.

The subclasses also derive from the builtin a caller would expect (``ValueError``, ``FileNotFoundError``),
so library code can catch them the ordinary way.
"""
from __future__ import annotations

import os
from pathlib import Path


class UserError(Exception):
    """A mistake in the user's parameters, files or set-up; the message says what is wrong and how to fix it."""


class ConfigError(UserError, ValueError):
    """A parameter has a bad value; the message names the parameter (as its command-line flag)."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user pointed at (or a previous stage should have written) does not exist."""


class FileContentError(UserError, ValueError):
    """A file exists but is not what it should be (foreign, truncated, wrong shape); names the file."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def flag(name: str) -> str:
    """``num_simulations`` -> ``--num-simulations``: how a parameter is named in messages."""
    return "--" + name.replace("_", "-")


def bad_parameter(name: str, problem: str) -> ConfigError:
    """A ``ConfigError`` that names the parameter the way the user types it."""
    return ConfigError(f"{flag(name)}: {problem}")
