"""State: checkpointers, thread metadata and caches (SQLite, Redis, memory).

The bottom of the stack: it imports nothing above it (the layering contract in ``make lint``).
The records every layer reads are re-exported here; the factories live in
`luminamind.state.checkpointer` (`open_checkpointer`, `open_thread_store`) and the Redis
backends in `luminamind.state.redis`, each imported when used (they load LangGraph and
redis-py).
"""

from luminamind.state.records import THREAD_STATUSES, ThreadInfo, ThreadStatus

__all__ = ["THREAD_STATUSES", "ThreadInfo", "ThreadStatus"]
