"""Each package's ``__all__`` is exactly what it exports (as httpx pins its own).

A public name a package defines or re-exports from inside the project must be in ``__all__``,
and everything in ``__all__`` must exist: a name dropped from a package, or added without
being declared, fails here instead of in a user's import.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from types import ModuleType

import pytest

import luminamind
import luminamind_acp
import luminamind_lsp
import luminamind_mcp

_ROOTS = (luminamind, luminamind_mcp, luminamind_lsp, luminamind_acp)


def _packages() -> list[str]:
    names = [root.__name__ for root in _ROOTS]
    for root in _ROOTS:
        for info in pkgutil.walk_packages(root.__path__, prefix=root.__name__ + "."):
            if info.ispkg:
                names.append(info.name)
    return sorted(names)


def _exports(package: ModuleType) -> set[str]:
    """Public names the package defines, or re-exports from its own modules.

    What it imports from elsewhere to do its work (a library's helper, ``Settings`` for an
    annotation, a ``typing`` alias) may be declared or not. A constant has no ``__module__``:
    it is the package's when the package assigns it, or one of its modules holds the same
    object.
    """
    own = package.__name__
    inside = [m for n, m in sys.modules.items() if n.startswith(own + ".") and m is not None]
    source = inspect.getsource(package)
    names = set()
    for name, value in vars(package).items():
        if name.startswith("_") or isinstance(value, ModuleType) or name == "annotations":
            continue
        origin = getattr(value, "__module__", None)
        if isinstance(origin, str):
            if origin == own or origin.startswith(own + "."):
                names.add(name)
        elif re.search(rf"^{re.escape(name)}\s*[:=]", source, re.MULTILINE) or any(
            any(v is value for v in vars(module).values()) for module in inside
        ):
            names.add(name)
    return names


@pytest.mark.parametrize("name", _packages())
def test_all_is_what_the_package_exports(name: str) -> None:
    package = importlib.import_module(name)
    declared = getattr(package, "__all__", None)
    assert declared is not None, f"{name} has no __all__"
    assert sorted(declared) == sorted(set(declared)), f"{name}.__all__ repeats a name"
    missing = [n for n in declared if not hasattr(package, n)]
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"
    undeclared = _exports(package) - set(declared)
    assert not undeclared, f"{name} exports {sorted(undeclared)} without declaring them"
