"""Reading pickles that come from outside (the authors' datasets and model companions) without running code.

``pickle.load`` can execute arbitrary code named in the file. The files this project reads only ever hold
numpy arrays and scalars inside builtin containers, so the unpickler below resolves exactly those globals
and refuses anything else, naming it. Python-2 pickles (the authors' files) are read with ``latin1``, which
decodes the byte payloads of their numpy arrays and scalars unchanged.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from neuron_as_dnn.errors import FileContentError, MissingFileError

_ALLOWED_GLOBALS = {
    "numpy": {"ndarray", "dtype"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core.numeric": {"_frombuffer"},
    "numpy._core.numeric": {"_frombuffer"},
    "_codecs": {"encode"},
    "copy_reg": {"_reconstructor"},
    "copyreg": {"_reconstructor"},
    # protocol 2 from Python 3 names builtins "__builtin__"; an empty array's data is __builtin__.bytes()
    "__builtin__": {"set", "frozenset", "object", "list", "dict", "tuple", "long", "int", "float", "complex",
                    "bool", "str", "unicode", "bytes", "bytearray"},
    "builtins": {"set", "frozenset", "object", "list", "dict", "tuple", "int", "float", "complex", "bool",
                 "str", "bytes", "bytearray"},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, handle, what: str):
        super().__init__(handle, encoding="latin1")
        self.what = what

    def find_class(self, module: str, name: str):
        if name in _ALLOWED_GLOBALS.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it refers to {module}.{name}, which a {self.what} never contains")


def load(path: str | os.PathLike, what: str = "data file") -> Any:
    """Unpickle ``path`` allowing only numpy arrays/scalars and builtin containers.

    ``what`` names the kind of file in error messages ("simulation dataset", "model companion").
    Raises ``MissingFileError`` or ``FileContentError`` (truncated, foreign or not a pickle)."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return _RestrictedUnpickler(handle, what).load()
    except FileNotFoundError:
        raise MissingFileError(f"{what} {path} does not exist") from None
    except EOFError:
        raise FileContentError(path, "the pickle ends early (truncated or still being written)") from None
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError, KeyError,
            IndexError, UnicodeDecodeError, MemoryError) as error:
        if "truncated" in str(error):
            raise FileContentError(path, "the pickle ends early (truncated or still being written)") from None
        raise FileContentError(path, f"not a {what} pickle ({type(error).__name__}: {error})") from None
