"""The contract every top-level script follows: a parameter block, presets, command-line overrides, errors.

A script keeps the original's habit, a dict of parameters at the top edited by hand, and hands it to a
``Script``::

    PARAMS = dict(synapse_type="NMDA", num_simulations=128, seed=None, out_dir=None, progress=True,
                  log_level="INFO")
    SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, presets=PRESETS)

    def main(argv=None):
        return SCRIPT.run(lambda params: stage.run(params), argv)

The rules, the same in every script:

- The block is the single source of the defaults, of ``--help`` and of what is recorded with outputs;
  every entry is an option (``num_simulations`` -> ``--num-simulations``, booleans as ``--x/--no-x``),
  and the comment beside an entry (with its indented continuation lines) is that option's ``--help`` line,
  so the block and the help cannot drift apart.
- ``None`` means "unset": derived from something else (a preset, the synapse type, a random seed that is
  then recorded). No other sentinel (-1, "") is used. Every unset entry is resolved once, in ``Script.parse``
  (presets, then the script's own ``defaults`` function, then a random ``seed``), and written back, so that
  every record holds the value actually used.
- A preset is a table ``{selector entry: {selector value: {entry: value}}}``. It fills only the entries
  that are still ``None`` after the block and the command line are read, so an entry edited in the block
  or given on the command line always wins over the preset.
- A ``errors.UserError`` ends the script with one line ``<script>: error: <message>`` on stderr and exit
  status 2 (as argparse does for a bad option); any other exception keeps its traceback.
- ``checks`` map entries to the small checks below (``writable_folder``, ``positive_int``, ...): they run on
  the resolved parameters in ``Script.parse``, before ``main``, so that a bad value or path is refused before
  any work; each raises ``errors.bad_parameter`` naming the option and the fix, and an unset entry passes.
- ``Script.parse`` returns ``Parameters``: the resolved entries, plus the entries given on the command line
  (``explicit``) and the invocation; ``utils.write_provenance`` records the parameters, that command line,
  versions and the git commit next to every output.
"""
from __future__ import annotations

import argparse
import ast
import copy
import functools
import importlib.util
import io
import math
import os
import stat
import sys
import tokenize
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from neuron_as_dnn import errors, utils

COMMON_ENTRIES = ("progress", "log_level")   # every script's block has these (tested)
SEED_RANGE = 2**31                            # a drawn seed is below this (a valid seed for every library)
COMMON_TYPES = {"seed": int}                  # None by default ("random, then recorded"), an int when given


def _element_type(values: Sequence[Any]):
    kinds = {type(v) for v in values if v is not None}
    if kinds <= {int}:
        return int
    if kinds <= {int, float}:
        return float
    return str


class Parameters(dict):
    """A script's resolved parameters, and what the parser knows besides their values: the entries given on
    the command line (``explicit``) and the invocation (``script``, ``command_line``) that provenance records."""

    def __init__(self, values: Mapping[str, Any] = (), *, explicit: Sequence[str] = (),
                 invocation: Mapping[str, str] | None = None):
        super().__init__(values)
        self.explicit = frozenset(explicit)
        self.invocation = dict(invocation or {})

    def copy(self) -> "Parameters":
        return Parameters(self, explicit=self.explicit, invocation=self.invocation)


def random_seed() -> int:
    """A fresh seed for an unset ``seed`` entry; it is written into the parameters, hence recorded."""
    return int(np.random.SeedSequence().entropy % SEED_RANGE)


def block_comments(source: str, keys: Sequence[str]) -> dict[str, str]:
    """The comment beside each entry of the ``dict(...)`` block with exactly these keys in ``source``.

    An entry's comment is every comment on the lines of the entry, then the comment-only lines right after it
    that are indented deeper than the entry (continuations); a comment line at the entry's own indentation is
    a section heading and belongs to no entry.
    """
    block = next((node for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"
                  and [keyword.arg for keyword in node.keywords] == list(keys)), None)
    if block is None:
        return {}
    comments: dict[int, tuple[int, str]] = {}
    code_lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = (token.start[1], token.string.lstrip("#").strip())
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            code_lines.update(range(token.start[0], token.end[0] + 1))
    found = {}
    for keyword in block.keywords:
        texts = [comments[line][1] for line in range(keyword.lineno, keyword.value.end_lineno + 1) if line in comments]
        line = keyword.value.end_lineno + 1
        while line in comments and line not in code_lines and comments[line][0] > keyword.col_offset:
            texts.append(comments[line][1])
            line += 1
        found[keyword.arg] = " ".join(text for text in texts if text)
    return found


def _source_of(file: str) -> str | None:
    """The source of a script given by path, or of a module given by its dotted name."""
    path = Path(file)
    if path.suffix != ".py":
        spec = importlib.util.find_spec(file)
        path = Path(spec.origin) if spec and spec.origin else path
    return path.read_text() if path.is_file() else None


# ---- checks of a resolved entry: check(name, value) raises errors.bad_parameter; None (unset) is not checked --
Check = Callable[[str, Any], None]


def existing_folder(name: str, value) -> None:
    path = Path(value)
    if not path.exists():
        raise errors.bad_parameter(name, f"{path} does not exist; give an existing folder")
    if not path.is_dir():
        raise errors.bad_parameter(name, f"{path} is a file, not a folder; give a folder")


def existing_file(name: str, value) -> None:
    path = Path(value)
    if not path.exists():
        raise errors.bad_parameter(name, f"{path} does not exist; give an existing file")
    if not path.is_file():
        raise errors.bad_parameter(name, f"{path} is not a file; give a file")


def writable_folder(name: str, value) -> None:
    """A folder the script may write into: it exists, or its nearest existing parent does, and that is a folder
    marked writable. A folder without any write bit is refused even for root (who could write into it):
    the mark is the user's wish, and a later run under another account would fail only after its work."""
    path = Path(value).absolute()
    existing = next(folder for folder in (path, *path.parents) if folder.exists())
    if not existing.is_dir():
        raise errors.bad_parameter(name, f"{existing} is a file, not a folder; give a folder (or a new path)")
    write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    if not (os.access(existing, os.W_OK | os.X_OK) and existing.stat().st_mode & write_bits):
        raise errors.bad_parameter(name, f"{existing} is read-only; give a folder you can write into")


def _number(name: str, value, kind: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise errors.bad_parameter(name, f"{value!r} is not a number; give {kind}")
    return value


def seed(name: str, value) -> None:
    """A seed every library takes (NumPy, Python, TensorFlow): a whole number in [0, 2**32)."""
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < 2**32):
        raise errors.bad_parameter(name, f"{value!r} is not a seed; give a whole number from 0 to {2**32 - 1}")


def positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise errors.bad_parameter(name, f"{value!r} is not a positive whole number; give 1 or more")


def non_negative(name: str, value) -> None:
    if not 0 <= _number(name, value, "0 or more") < math.inf:
        raise errors.bad_parameter(name, f"{value!r} is negative or infinite; give a finite number, 0 or more")


def finite_positive(name: str, value) -> None:
    if not 0 < _number(name, value, "a positive number") < math.inf:
        raise errors.bad_parameter(name, f"{value!r} is not a finite positive number; give one above 0")


def fraction(name: str, value) -> None:
    if not 0 < _number(name, value, "a fraction") <= 1:
        raise errors.bad_parameter(name, f"{value!r} is not a fraction in (0, 1]; give one above 0, at most 1")


def proper_fraction(name: str, value) -> None:
    """A share held out of something: 0 (none) up to, not including, the whole."""
    if not 0 <= _number(name, value, "a fraction") < 1:
        raise errors.bad_parameter(name, f"{value!r} is not a fraction in [0, 1); give 0 or more, below 1")


def _pair(name: str, value, kind: str) -> tuple[float, float]:
    if len(value) != 2:
        raise errors.bad_parameter(name, f"{len(value)} values; give {kind}")
    return _number(name, value[0], kind), _number(name, value[1], kind)


def ordered_pair(name: str, value) -> None:
    low, high = _pair(name, value, "two finite numbers, low high")
    if not -math.inf < low <= high < math.inf:
        raise errors.bad_parameter(name, f"{low} {high} is not a finite pair low <= high; give low then high")


def increasing_fractions(name: str, value) -> None:
    """A part of something, start stop, as fractions of it."""
    start, stop = _pair(name, value, "two fractions, start stop")
    if not 0 <= start < stop <= 1:
        raise errors.bad_parameter(name, f"{start} {stop} is not start < stop within [0, 1]; give e.g. 0.3 0.6")


def each(check: Check) -> Check:
    """``check`` applied to every element of a list entry."""
    def check_each(name: str, values) -> None:
        for value in values:
            check(name, value)
    return check_each


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse's own mistakes (unknown option, bad number) in the same one-line shape as ours."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (--help lists the options)\n")


class Script:
    """One top-level script: its parameter block, presets and command line; see the module docstring."""

    def __init__(self, file: str, params: Mapping[str, Any], *, description: str | None = None,
                 choices: Mapping[str, Sequence[Any]] | None = None,
                 types: Mapping[str, Any] | None = None, nargs: Mapping[str, Any] | None = None,
                 presets: Mapping[str, Mapping[Any, Mapping[str, Any]]] | None = None,
                 defaults: Callable[[dict], None] | None = None,
                 checks: Mapping[str, Check] | None = None):
        self.file = file
        self.name = Path(file).name
        self.params = params
        self.description = description
        self.choices = dict(choices or {})
        self.types = {**COMMON_TYPES, **(types or {})}
        self.nargs = dict(nargs or {})
        self.presets = {selector: dict(table) for selector, table in (presets or {}).items()}
        for selector, table in self.presets.items():
            if selector not in params:
                raise KeyError(f"{self.name}: preset selector {selector!r} is not in the parameter block")
            for values in table.values():
                unknown = set(values) - set(params)
                if unknown:
                    raise KeyError(f"{self.name}: preset {selector!r} sets {sorted(unknown)}, not in the block")
        self.defaults = defaults
        self.checks = dict(checks or {})
        unchecked = set(self.checks) - set(params)
        if unchecked:
            raise KeyError(f"{self.name}: checks of {sorted(unchecked)}, not in the parameter block")

    # ---- the command line -------------------------------------------------------------------------------
    def _preset_values(self, key: str) -> list:
        return [values[key] for table in self.presets.values() for values in table.values() if key in values]

    def _selector_of(self, key: str) -> str | None:
        return next((selector for selector, table in self.presets.items()
                     if any(key in values for values in table.values())), None)

    @functools.cached_property
    def help_lines(self) -> dict[str, str]:
        """Each entry's ``--help`` line: the comment beside it in the parameter block."""
        source = _source_of(self.file)
        return block_comments(source, list(self.params)) if source else {}

    def parser(self, suppress_defaults: bool = False) -> argparse.ArgumentParser:
        parser = OneLineErrorParser(prog=self.name, description=self.description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
        for key, default in self.params.items():
            # the type of an unset entry comes from the presets that fill it, or from ``types``
            example = default if default is not None else next(iter(self._preset_values(key)), None)
            kwargs: dict[str, Any] = dict(dest=key, default=argparse.SUPPRESS if suppress_defaults else default)
            if key in self.choices:
                kwargs["choices"] = list(self.choices[key])
            elif key in self.presets:
                kwargs["choices"] = list(self.presets[key])
            if isinstance(example, bool):
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                if isinstance(example, (list, tuple)) or key in self.nargs:
                    kwargs["nargs"] = self.nargs.get(key, "+")
                    kwargs["type"] = self.types.get(key, _element_type(example or []))
                else:
                    kwargs["type"] = self.types.get(key, type(example) if example is not None else str)
                if kwargs["type"] is bool:  # an unset boolean entry
                    del kwargs["type"]
                    kwargs.pop("nargs", None)
                    kwargs["action"] = argparse.BooleanOptionalAction
            selector = self._selector_of(key)
            shown = (f"from {errors.flag(selector)}" if default is None and selector
                     else "unset" if default is None else default)
            kwargs["help"] = f"{self.help_lines.get(key, '')} (default: {shown})".strip().replace("%", "%%")
            parser.add_argument(errors.flag(key), **kwargs)
        return parser

    def parse(self, argv: Sequence[str] | None = None) -> Parameters:
        """The resolved parameters: block, then command line, then presets, the script's ``defaults`` and a
        random seed for what is still unset; then the ``checks``."""
        argv = sys.argv[1:] if argv is None else list(argv)
        explicit = set(vars(self.parser(suppress_defaults=True).parse_args(argv)))
        given = {key: list(value) if isinstance(value, tuple) else value
                 for key, value in vars(self.parser().parse_args(argv)).items()}
        params = self.resolve(given, explicit=explicit, invocation=utils.invocation(self.name, argv))
        self.check(params)
        return params

    def check(self, params: Mapping[str, Any]) -> None:
        """Every set entry through its check, and every block's seed; the first failing one raises a
        ``ConfigError``."""
        checks = dict(self.checks)
        if "seed" in params:
            checks.setdefault("seed", seed)
        for key, check in checks.items():
            if params[key] is not None:
                check(key, params[key])

    def resolve(self, changes: Mapping[str, Any] = {}, *, explicit: Sequence[str] = (),
                invocation: Mapping[str, str] | None = None) -> Parameters:
        """The block with ``changes`` (as if edited in it), resolved as the command line is: presets, the
        script's ``defaults``, a random seed. How code (tests, benchmarks) gets a script's parameters."""
        unknown = set(changes) - set(self.params)
        if unknown:
            raise KeyError(f"{self.name}: {sorted(unknown)} are not in the parameter block")
        params = copy.deepcopy({**self.params, **changes})
        for selector, table in self.presets.items():
            if params[selector] not in table:
                raise errors.bad_parameter(selector, f"unknown value {params[selector]!r}; choose one of "
                                                     f"{list(table)}")
            for key, value in table[params[selector]].items():
                if params[key] is None:
                    params[key] = copy.deepcopy(value)
        if self.defaults is not None:
            self.defaults(params)
        if "seed" in params and params["seed"] is None:
            params["seed"] = random_seed()
        return Parameters(params, explicit=explicit, invocation=invocation)

    # ---- running ----------------------------------------------------------------------------------------
    def run(self, main: Callable[[dict], Any], argv: Sequence[str] | None = None) -> Any:
        """Parse, set up logging, call ``main(params)``; a ``UserError`` becomes one line and exit status 2."""
        try:
            params = self.parse(argv)
            utils.setup_logging(params.get("log_level") or "INFO")
            return main(params)
        except errors.UserError as error:
            print(f"{self.name}: error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
