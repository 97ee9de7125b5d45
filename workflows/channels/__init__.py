"""Channel adapters: one module per platform behind one small interface (base.Adapter)."""
from __future__ import annotations

from .base import (
    Adapter,
    AmbiguousError,
    AuthError,
    ConfigError,
    NotSentError,
    PermanentError,
    RateLimited,
    Result,
    TransientError,
    get_adapter,
)

__all__ = ["Adapter", "AmbiguousError", "AuthError", "ConfigError", "NotSentError", "PermanentError",
           "RateLimited", "Result", "TransientError", "get_adapter"]
