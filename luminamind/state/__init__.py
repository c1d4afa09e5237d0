"""State: checkpointers, thread metadata and caches (SQLite, Redis, memory)."""
