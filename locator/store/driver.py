"""sqlite-utils, imported once, without pandas.

sqlite-utils imports pandas whenever it is installed (it is, for geopandas' file imports), only
to store pandas.Timestamp values as TEXT; this store never hands it a pandas value. pandas costs
a web worker about 0.3 s and tens of MB at start, so it is hidden for the length of this one
import (issue 15: after create_app, no pandas). locator/store/__init__.py imports this first.
"""

from __future__ import annotations

import sys

_hidden = "pandas" not in sys.modules
if _hidden:
    sys.modules["pandas"] = None  # type: ignore[assignment]  (an import of it raises ImportError)
try:
    import sqlite_utils  # noqa: F401
finally:
    if _hidden:
        del sys.modules["pandas"]
