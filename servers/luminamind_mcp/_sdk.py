"""Load the ``mcp`` SDK's server modules without its package-level re-exports.

``import mcp.server.lowlevel`` first runs ``mcp/__init__.py`` and ``mcp/server/__init__.py``.
They re-export everything: the SDK's client (with httpx2), the high-level ``MCPServer`` with
its resource, prompt and template managers, about 120 modules that a server never uses and a
fifth of the SDK's import time (measured in bench/mcp.py). This module registers the two
packages in ``sys.modules`` with their real ``__path__`` and without running their
``__init__``; submodules (``mcp.server.lowlevel``, ``mcp.shared...``) import as usual.

A name only the real ``__init__`` defines (``from mcp import ClientSession``,
``mcp.server.MCPServer``) still works: the first such lookup runs that ``__init__`` in the
package, once. Written here because ``importlib.util.LazyLoader`` defers a whole module and
loads it on its first attribute access, which the import system itself makes (``__path__``)
before importing any submodule, so it cannot skip a package's ``__init__``.
"""

from __future__ import annotations

import importlib.util
import sys
import types

__all__ = ["defer_sdk_package_inits", "defer_wire_model_builds"]

_PACKAGES = ("mcp", "mcp.server")
_LOADED = "_luminamind_init_ran"


class _DeferredInit(types.ModuleType):
    """A package whose ``__init__`` runs on the first lookup of a name it would define."""

    def __getattr__(self, name: str) -> object:
        state = self.__dict__
        if (name.startswith("__") and name != "__all__") or state.get(_LOADED):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        state[_LOADED] = True
        spec = self.__spec__
        code = spec.loader.get_code(self.__name__) if spec and spec.loader else None  # type: ignore[attr-defined]
        if code is not None:
            exec(code, state)  # noqa: S102 - the package's own __init__, in its own namespace
        try:
            return state[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def defer_sdk_package_inits() -> None:
    """Register ``mcp`` and ``mcp.server`` without running their ``__init__`` (if not loaded).

    A no-op for a package already imported (a process that uses the SDK's client, as tests
    and benchmarks do, keeps the real package).
    """
    for name in _PACKAGES:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.submodule_search_locations is None:
            return
        module = _DeferredInit(name)
        module.__spec__ = spec
        module.__loader__ = spec.loader
        module.__file__ = spec.origin
        module.__path__ = list(spec.submodule_search_locations)
        module.__package__ = name
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)


def defer_wire_model_builds() -> None:
    """Build the SDK's per-version wire models on first use instead of at import.

    ``mcp_types._v2025_11_25`` and ``_v2026_07_28`` define about 300 pydantic models (the
    request, result and notification shapes of each protocol era) that the server validates
    traffic against. Pydantic builds every model's validator and serializer when its class is
    created, about half of those modules' import time, although one connection speaks one era
    and uses a handful of its methods. All of them derive from ``WireModel``; with
    ``defer_build`` set on it before they are created (pydantic's documented option, inherited
    by subclasses), each is built the first time it validates or serializes. Nothing on disk is
    changed. A no-op once the wire modules are loaded (their models keep their config).
    """
    if "mcp_types._v2025_11_25" in sys.modules or "mcp_types._v2026_07_28" in sys.modules:
        return
    from mcp_types._wire_base import WireModel

    WireModel.model_config["defer_build"] = True
