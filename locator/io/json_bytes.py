"""Response bodies as compact UTF-8 JSON."""

from __future__ import annotations

from typing import Any

import orjson


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; orjson is several times faster than json (20 MB of map data: 0.6 s)."""
    return orjson.dumps(value)
