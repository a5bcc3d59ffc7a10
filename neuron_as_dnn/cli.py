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
                 types: Mapping[str, Any] | None = None) -> argparse.ArgumentParser:
    help = dict(help or {})
    choices = dict(choices or {})
    types = dict(types or {})
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for key, default in defaults.items():
        flag = "--" + key.replace("_", "-")
        kwargs: dict[str, Any] = dict(dest=key, default=default, help=help.get(key, " "))
        if key in choices:
            kwargs["choices"] = list(choices[key])
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, (list, tuple)):
            kwargs["nargs"] = "+"
            kwargs["type"] = types.get(key, _element_type(default) if default else str)
        elif key in types:
            kwargs["type"] = types[key]
        elif default is None:
            kwargs["type"] = str
        else:
            kwargs["type"] = type(default)
        parser.add_argument(flag, **kwargs)
    return parser


def parse_overrides(defaults: Mapping[str, Any], argv: Sequence[str] | None = None, **parser_kwargs) -> dict:
    """Return a copy of ``defaults`` with the command-line overrides applied."""
    parser = build_parser(defaults, **parser_kwargs)
    parsed = vars(parser.parse_args(argv))
    params = copy.deepcopy(dict(defaults))
    for key, value in parsed.items():
        params[key] = list(value) if isinstance(value, tuple) else value
    return params
