"""What every console write shares: the version the form read, the point or 404, and the
answer to a command's refusal (403 for a point the user may not touch, 404 for none)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import abort, request

from locator.console.session import store
from locator.domain.parsers import whole_number
from locator.domain.point import Point
from locator.domain.scope import Forbidden
from locator.store import NotFoundError


def form_version() -> int | None:
    """The version the form was made from; None if it carries none (then whatever is stored)."""
    return whole_number(request.form.get("version", ""))


def point_or_404(point_id: str) -> Point:
    try:
        return store().get(point_id)
    except NotFoundError:
        abort(404)


@contextmanager
def refused_as_http() -> Iterator[None]:
    """A command refused (Forbidden) answers 403, a missing point 404, as the console always did."""
    try:
        yield
    except Forbidden:
        abort(403)
    except NotFoundError:
        abort(404)
