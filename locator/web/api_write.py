"""The write API (/api/v1): create and change points, for integrations and the console.

Authenticated by an API token (Authorization: Bearer ...) or a console session (with its CSRF
token). Optimistic concurrency: a change must name the version it read (If-Match); a newer
version gets 412 and nothing is written. Thin: parse, call one command of locator.services,
translate its errors into problem+json.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import NoReturn

from flask import Blueprint, current_app, g, request, url_for

from locator.domain.point import EDITABLE_FIELDS, Point, utcnow
from locator.domain.scope import Forbidden, check_role
from locator.domain.users import User
from locator.domain.validation import ValidationError
from locator.http.admission import bearer_user
from locator.http.encoding import json_response
from locator.http.errors import ApiError
from locator.io.features import point_feature
from locator.services import points as commands
from locator.store import DuplicateIdError, NotFoundError, VersionConflict
from locator.web.api import dump_json, point_etag, point_or_404

bp = Blueprint("api_write", __name__, url_prefix="/api/v1")

# ASCII digits, at most 18: \d also takes "١", and int() refuses 4,300 digits (a 500; issue 16)
IF_MATCH = re.compile(r'^(?:W/)?"?v?([0-9]{1,18})(?:-[A-Za-z0-9]*)?"?$')
ANY_VERSION = None  # If-Match: * (whatever version is stored)


def _store():
    return current_app.extensions["locator.store"]


def _territory():
    return current_app.extensions["locator.territory"]


def writer() -> User:
    """The user behind this request, allowed to write at all; else 401 or 403."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        user = bearer_user(current_app, request.environ)  # looked up once, by the edge's admission
        if user is None:
            raise ApiError(
                401,
                "Unauthorized",
                "the API token is unknown, expired or revoked, or its user is disabled",
                "Authorization",
            )
    else:
        user = g.get("user")
        if user is None:
            raise ApiError(
                401, "Unauthorized", "send Authorization: Bearer <token> or log in", "Authorization"
            )
    with refusals():
        check_role(user)  # the services' own rule, asked first so a viewer learns nothing more
    return user


@contextmanager
def refusals(point_id: str = "", version: int | None = ANY_VERSION) -> Iterator[None]:
    """Translate a command's errors into problem+json (403, 404, 412, 409, 400)."""
    try:
        yield
    except Forbidden as refusal:
        raise ApiError(403, "Forbidden", refusal.detail) from None
    except NotFoundError:
        raise ApiError(404, "Not found", f"no point has the id {point_id!r}", "id") from None
    except VersionConflict as conflict:
        raise ApiError(
            412,
            "Precondition Failed",
            f"the point is at version {conflict.point.version}, not {'*' if version is None else version}",
            "If-Match",
            current_version=conflict.point.version,
        ) from None
    except DuplicateIdError as error:
        raise ApiError(409, "Conflict", str(error), "id") from None
    except ValidationError as error:
        raise ApiError.from_validation(error) from None


def _body(point_id: str = "") -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        _refuse(point_id, ApiError(400, "Invalid body", "send a JSON object with the fields to set", "body"))
    unknown = sorted(set(data) - set(EDITABLE_FIELDS) - {"id"})
    if unknown:
        _refuse(point_id, ApiError(400, "Invalid body", f"unknown field {unknown[0]!r}", unknown[0]))
    if point_id and data.get("id", point_id) != point_id:
        _refuse(point_id, ApiError(400, "Invalid body", "the id of a point cannot change", "id"))
    return data


def _refuse(point_id: str, error: ApiError) -> NoReturn:
    """Raise the error, unless the point does not exist: that is 404, whatever else is wrong."""
    if point_id:
        point_or_404(point_id)
    raise error


def _expected_version(point_id: str) -> int | None:
    raw = request.headers.get("If-Match", "").strip()
    if not raw:
        _refuse(
            point_id,
            ApiError(
                428, "Precondition Required", "send If-Match with the ETag or version you read", "If-Match"
            ),
        )
    if raw == "*":
        return ANY_VERSION
    match = IF_MATCH.match(raw)
    if not match:
        _refuse(
            point_id,
            ApiError(400, "Invalid header", 'If-Match must be the ETag you read or "v<version>"', "If-Match"),
        )
    return int(match.group(1))


def _feature_response(point: Point, status: int):
    stale_after = timedelta(hours=current_app.config["STALE_HOURS"])
    etag = point_etag(point)
    response = json_response(dump_json(point_feature(point, utcnow(), stale_after)), etag)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.patch("/points/<point_id>")
def patch_point(point_id: str):
    """Change some fields of a point (If-Match required); the status counts as verified now."""
    user = writer()
    version = _expected_version(point_id)
    changes = _body(point_id)
    with refusals(point_id, version):
        updated = commands.edit(_store(), _territory(), user, point_id, version, changes)
    return _feature_response(updated, 200)


@bp.post("/points")
def create_point():
    """Create a point; 409 if the id is taken."""
    user = writer()
    record = _body()
    with refusals():
        created = commands.create(_store(), _territory(), user, record)
    response = _feature_response(created, 201)
    response.headers["Location"] = url_for("api.get_point", point_id=created.id)
    return response
