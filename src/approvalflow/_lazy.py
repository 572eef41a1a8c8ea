"""Names imported on first use (PEP 562), for the package and for the subpackages whose parts differ in weight.

A package lists its public names in ``__all__``, imports them under ``TYPE_CHECKING`` for type checkers, and names
the module that defines them in a table, module -> names (one line per module, like the imports);
:func:`lazy_exports` turns the table into the package's ``__getattr__`` and ``__dir__``::

    __getattr__, __dir__ = lazy_exports(__name__, {".case": "Case start_case", ".trail": "AuditTrail"})

so that importing the package (or one light module of it) does not import SpiffWorkflow, lxml or pydantic before
a name that needs them is used. ``tests/test_exported_members.py`` keeps ``__all__``, the table and the
``TYPE_CHECKING`` imports the same, and each table inside its own package. Layer 0: imports nothing of the package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str], moved: Mapping[str, str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``table`` maps a module (relative) to its names.

    ``moved`` maps a name the package exported before and no longer does to ``"module"`` (relative, where it is
    now) or ``"module:new_name"`` (renamed): it still resolves, with a :class:`DeprecationWarning` saying what to
    import instead, so that code written against the old names keeps working. It is not in ``dir()``.
    """
    homes = {name: module for module, names in table.items() for name in names.split()}

    def __getattr__(name: str) -> Any:
        module = homes.get(name)
        if module is None:
            if moved is None or name not in moved:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return _moved(package, homes, name, moved[name])
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # once imported, a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(homes))

    return __getattr__, __dir__


def _moved(package: str, homes: Mapping[str, str], name: str, where: str) -> Any:
    import warnings

    module, _, new = where.partition(":")
    new = new or name
    home = importlib.import_module(module, package)
    value = getattr(home, new)
    source = package if new in homes else home.__name__
    warnings.warn(f"{package}.{name} is deprecated: use `from {source} import {new}`", DeprecationWarning, 3)
    return value
