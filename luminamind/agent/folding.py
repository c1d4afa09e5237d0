"""Run the ``before_model`` and ``after_model`` hooks of a middleware stack as one node each.

``create_agent`` makes every middleware hook its own graph node, so its own LangGraph
superstep with its own checkpoint. LuminaMind's stack has seven such hooks around each model
call (summarisation and the model-call limit before it; the tool-call limit, the model-call
count, malformed tool calls, approvals and the plan check after it): nine checkpoints per model
call where the model and the tools need two (bench/agent_overhead.py measures the cost).

`fold_model_hooks` keeps every middleware where it is (its state, tools and ``wrap_*`` hooks
stay native) but moves its ``before_model`` / ``after_model`` hooks into one
`FoldedModelHooks` middleware, which runs them in LangChain's order inside one node each:

- ``before_model`` hooks in list order, ``after_model`` hooks in reverse list order;
- each hook sees the state as the previous hooks left it: their ``messages`` applied with
  ``add_messages`` (the channel's reducer), their other keys replacing the old values;
- the first hook that returns ``jump_to`` ends the fold and the node jumps there, as
  ``create_agent``'s edge after that hook's own node would have; the hooks after it do not run;
- the node's update is every hook's messages in order plus the last value of each other key,
  which the graph's reducers turn into the same state the chain of nodes would have produced.

Hooks must return a dict or None (LangChain's all do); an ``interrupt()`` inside one re-runs
the hooks before it on resume, which is safe because they are functions of the state.
Not in LangChain itself; written here because it only needs the public middleware API.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from langchain.agents.middleware import AgentMiddleware
from langchain.agents.middleware.types import AgentState, hook_config
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime

__all__ = ["FoldedModelHooks", "fold_model_hooks"]

# Any: the middleware, state and update types are generic over each stack's state schema.
Middleware = AgentMiddleware[Any, Any, Any]
Update = dict[str, Any] | None
SyncHook = Callable[[Any, Runtime[Any]], Update]
AsyncHook = Callable[[Any, Runtime[Any]], Awaitable[Update]]
_HOOKS = ("before_model", "after_model")
_JUMPS = ("model", "end", "tools")
# One hookless subclass per middleware class (see _strip).
_STRIPPED: dict[type[Any], type[Any]] = {}


class _Hook:
    """One middleware's hook, sync and async, as it was before folding."""

    def __init__(self, middleware: Middleware, name: str) -> None:
        cls = type(middleware)
        base_sync, base_async = getattr(AgentMiddleware, name), getattr(AgentMiddleware, f"a{name}")
        sync, asyn = getattr(cls, name), getattr(cls, f"a{name}")
        self.label = f"{middleware.name}.{name}"
        self.sync: SyncHook | None = (
            cast(SyncHook, sync.__get__(middleware)) if sync is not base_sync else None
        )
        self.asyn: AsyncHook | None = (
            cast(AsyncHook, asyn.__get__(middleware)) if asyn is not base_async else None
        )
        self.can_jump_to: list[str] = list(
            getattr(sync, "__can_jump_to__", None) or getattr(asyn, "__can_jump_to__", None) or []
        )

    def __call__(self, state: Any, runtime: Runtime[Any]) -> Update:
        if self.sync is None:
            raise RuntimeError(f"{self.label} has only an async hook; run the agent with astream")
        return self.sync(state, runtime)

    async def acall(self, state: Any, runtime: Runtime[Any]) -> Update:
        # LangChain runs a hook's sync version in async graphs when it has no async one.
        if self.asyn is not None:
            return await self.asyn(state, runtime)
        assert self.sync is not None
        return self.sync(state, runtime)


def _has_hook(middleware: Middleware, name: str) -> bool:
    cls = type(middleware)
    return getattr(cls, name) is not getattr(AgentMiddleware, name) or getattr(
        cls, f"a{name}"
    ) is not getattr(AgentMiddleware, f"a{name}")


def _stripped(middleware: Middleware) -> Middleware:
    """A shallow copy of ``middleware`` whose class has no model hooks.

    ``create_agent`` decides which middleware get a node from their class's methods, so the
    hooks are reset on a subclass (one per class, cached), not on the instance. A copy, because
    the fold keeps calling the original's hooks, and LangChain's async hooks call
    ``self.<sync hook>``, which must still be the real one.
    """
    cls = type(middleware)
    stripped = _STRIPPED.get(cls)
    if stripped is None:
        reset = {}
        for name in _HOOKS:
            reset[name] = getattr(AgentMiddleware, name)
            reset[f"a{name}"] = getattr(AgentMiddleware, f"a{name}")
        stripped = type(cls.__name__, (cls,), {**reset, "__module__": cls.__module__})
        _STRIPPED[cls] = stripped
    clone = copy.copy(middleware)
    clone.__class__ = stripped
    return clone


class _Folded:
    """Runs hooks in order, threading the state through them."""

    def __init__(self, hooks: Sequence[_Hook]) -> None:
        self.hooks = list(hooks)

    def start(self, state: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return dict(state), {}

    def merge(self, view: dict[str, Any], total: dict[str, Any], update: Update) -> bool:
        """Apply one hook's update; True when it jumps (the fold stops there)."""
        if update is None:
            return False
        if not isinstance(update, dict):
            raise TypeError(
                f"a folded model hook returned {type(update).__name__}; only dict or None"
            )
        for key, value in update.items():
            if key == "messages":
                new = value if isinstance(value, list) else [value]
                view["messages"] = add_messages(view.get("messages") or [], new)
                total["messages"] = [*total.get("messages", []), *new]
            else:
                view[key] = value
                total[key] = value
        return bool(update.get("jump_to"))

    def run(self, state: Any, runtime: Runtime[Any]) -> Update:
        view, total = self.start(state)
        for hook in self.hooks:
            if self.merge(view, total, hook(view, runtime)):
                break
        return total or None

    async def arun(self, state: Any, runtime: Runtime[Any]) -> Update:
        view, total = self.start(state)
        for hook in self.hooks:
            if self.merge(view, total, await hook.acall(view, runtime)):
                break
        return total or None


class FoldedModelHooks(AgentMiddleware[Any, Any, Any]):
    """Base of the folded hooks' middleware; `fold_model_hooks` makes the concrete ones.

    Each concrete class defines only the hook it folds (``create_agent`` adds a node for every
    hook a class defines) with the union of the folded hooks' jump targets.
    """

    folded: tuple[str, ...] = ()


def _folded_middleware(which: str, hooks: Sequence[_Hook]) -> FoldedModelHooks:
    jumps = sorted({j for hook in hooks for j in hook.can_jump_to})
    unknown = set(jumps) - set(_JUMPS)
    if unknown:
        raise ValueError(f"a folded {which} hook jumps to {sorted(unknown)}; cannot fold it")
    fold = _Folded(hooks)

    def sync(self: FoldedModelHooks, state: AgentState[Any], runtime: Runtime[Any]) -> Update:
        del self
        return fold.run(state, runtime)

    async def asyn(self: FoldedModelHooks, state: AgentState[Any], runtime: Runtime[Any]) -> Update:
        del self
        return await fold.arun(state, runtime)

    title = "BeforeModel" if which == "before_model" else "AfterModel"
    cls = type(
        f"Folded{title}",
        (FoldedModelHooks,),
        {
            which: hook_config(can_jump_to=jumps)(sync) if jumps else sync,  # type: ignore[arg-type]
            f"a{which}": hook_config(can_jump_to=jumps)(asyn) if jumps else asyn,  # type: ignore[arg-type]
            "name": property(lambda self: f"Lumina{title}"),
            "folded": tuple(h.label for h in hooks),
            "__module__": __name__,
        },
    )
    instance: FoldedModelHooks = cls()
    return instance


def fold_model_hooks(middleware: Sequence[Middleware]) -> list[Middleware]:
    """``middleware`` with its ``before_model`` and ``after_model`` hooks folded, one node each.

    Middleware with model hooks are replaced by hookless copies (the hooks move to the one or
    two `FoldedModelHooks` appended to the list, which call them on the originals).
    """
    stack = list(middleware)
    before = [_Hook(m, "before_model") for m in stack if _has_hook(m, "before_model")]
    after = [_Hook(m, "after_model") for m in reversed(stack) if _has_hook(m, "after_model")]
    folds: list[Middleware] = [
        _folded_middleware(which, hooks)
        for which, hooks in (("before_model", before), ("after_model", after))
        if hooks
    ]
    stack = [
        _stripped(m) if _has_hook(m, "before_model") or _has_hook(m, "after_model") else m
        for m in stack
    ]
    return [*stack, *folds]
