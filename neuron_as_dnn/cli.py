"""Parameter blocks with command-line overrides.

Every top-level script keeps the original's habit: a dict of parameters at the top, edited by hand.
``parse_overrides`` turns that dict into an argparse CLI (``num_simulations`` -> ``--num-simulations``),
so the dict stays the single source of the defaults, of ``--help`` and of what is recorded with outputs.
"""
from __future__ import annotations

import argparse
import copy
from typing import Any, Mapping, Sequence


def _element_type(values: Sequence[Any]):
    kinds = {type(v) for v in values}
    if kinds <= {int}:
        return int
    if kinds <= {int, float}:
        return float
    return str


def build_parser(defaults: Mapping[str, Any], description: str | None = None,
                 help: Mapping[str, str] | None = None,
                 choices: Mapping[str, Sequence[Any]] | None = None,
                 types: Mapping[str, Any] | None = None, nargs: Mapping[str, Any] | None = None,
                 suppress_defaults: bool = False) -> argparse.ArgumentParser:
    """``types`` and ``nargs`` give the element type and count of entries whose default (None, say)
    does not show them; ``suppress_defaults`` leaves unmentioned entries out of the result."""
    help = dict(help or {})
    nargs = dict(nargs or {})
    choices = dict(choices or {})
    types = dict(types or {})
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for key, default in defaults.items():
        flag = "--" + key.replace("_", "-")
        kwargs: dict[str, Any] = dict(dest=key, default=default, help=help.get(key, " "))
        if key in choices:
            kwargs["choices"] = list(choices[key])
        if key in nargs:
            kwargs["nargs"] = nargs[key]
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, (list, tuple)):
            kwargs.setdefault("nargs", "+")
            kwargs["type"] = types.get(key, _element_type(default) if default else str)
        elif key in types:
            kwargs["type"] = types[key]
        elif default is None:
            kwargs["type"] = str
        else:
            kwargs["type"] = type(default)
        if suppress_defaults:
            kwargs["default"] = argparse.SUPPRESS
        parser.add_argument(flag, **kwargs)
    return parser


def explicit_overrides(defaults: Mapping[str, Any], argv: Sequence[str] | None = None, **parser_kwargs) -> set:
    """The names of the entries given on the command line (whatever their value)."""
    parser = build_parser(defaults, suppress_defaults=True, **parser_kwargs)
    return set(vars(parser.parse_args(argv)))


def parse_overrides(defaults: Mapping[str, Any], argv: Sequence[str] | None = None, **parser_kwargs) -> dict:
    """Return a copy of ``defaults`` with the command-line overrides applied."""
    parser = build_parser(defaults, **parser_kwargs)
    parsed = vars(parser.parse_args(argv))
    params = copy.deepcopy(dict(defaults))
    for key, value in parsed.items():
        params[key] = list(value) if isinstance(value, tuple) else value
    return params
