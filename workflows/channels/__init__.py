"""Channel adapters: one module per platform behind one small interface (base.Adapter)."""
from __future__ import annotations

from .base import Adapter, AmbiguousError, PermanentError, Result, TransientError, get_adapter

__all__ = ["Adapter", "AmbiguousError", "PermanentError", "Result", "TransientError", "get_adapter"]
