"""The stack's fixtures live in tests/atproto/stack.py (a plugin of the whole suite: one stack
per session); the helpers the tests import are re-exported here."""
from .stack import BskyAccount, Stack, wait_for, xrpc_get, xrpc_post  # noqa: F401
