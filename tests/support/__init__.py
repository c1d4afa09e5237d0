"""Test support: real local servers (HTTP, scripted LLM) and shared fixtures."""
