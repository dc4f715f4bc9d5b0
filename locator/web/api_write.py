"""The write API (/api/v1): create and change points, for integrations and the console.

Authenticated by an API token (Authorization: Bearer ...) or a console session (with its CSRF
token). Optimistic concurrency: a change must name the version it read (If-Match); a newer
version gets 412 and nothing is written. Role and region rules are the console's.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Blueprint, current_app, g, request, url_for

from locator.domain.point import EDITABLE_FIELDS, Point, utcnow
from locator.domain.users import Role, User
from locator.domain.validation import ValidationError
from locator.http.admission import bearer_user
from locator.http.encoding import json_response
from locator.http.errors import ApiError
from locator.io.features import point_feature
from locator.store import DuplicateIdError, VersionConflict
from locator.web.api import dump_json, point_etag, point_or_404

bp = Blueprint("api_write", __name__, url_prefix="/api/v1")

IF_MATCH = re.compile(r'^(?:W/)?"?v?(\d+)(?:-[A-Za-z0-9]*)?"?$')


def _store():
    return current_app.extensions["locator.store"]


def writer() -> User:
    """The user behind this request, allowed to write at all; else 401 or 403."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        user = bearer_user(current_app, request.environ)  # looked up once, by the edge's admission
        if user is None:
            raise ApiError(
                401, "Unauthorized", "the API token is not valid or its user is disabled", "Authorization"
            )
    else:
        user = g.get("user")
        if user is None:
            raise ApiError(
                401, "Unauthorized", "send Authorization: Bearer <token> or log in", "Authorization"
            )
    if user.role is Role.VIEWER:
        raise ApiError(403, "Forbidden", "viewers cannot change points")
    return user


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "Invalid body", "send a JSON object with the fields to set", "body")
    unknown = sorted(set(data) - set(EDITABLE_FIELDS) - {"id"})
    if unknown:
        raise ApiError(400, "Invalid body", f"unknown field {unknown[0]!r}", unknown[0])
    return data


def _expected_version(current: Point) -> int:
    raw = request.headers.get("If-Match", "").strip()
    if not raw:
        raise ApiError(
            428, "Precondition Required", "send If-Match with the ETag or version you read", "If-Match"
        )
    if raw == "*":
        return current.version
    match = IF_MATCH.match(raw)
    if not match:
        raise ApiError(
            400, "Invalid header", 'If-Match must be the ETag you read or "v<version>"', "If-Match"
        )
    return int(match.group(1))


def _feature_response(point: Point, status: int):
    stale_after = timedelta(hours=current_app.config["STALE_HOURS"])
    etag = point_etag(point)
    response = json_response(dump_json(point_feature(point, utcnow(), stale_after)), etag)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _out_of_scope(user: User, region: str, settlement: str) -> ApiError:
    return ApiError(
        403, "Forbidden", f"{user.name} may not edit points in {settlement or region or 'this place'}"
    )


@bp.patch("/points/<point_id>")
def patch_point(point_id: str):
    """Change some fields of a point (If-Match required); the status counts as verified now."""
    user = writer()
    current = point_or_404(point_id)
    version = _expected_version(current)
    changes = _body()
    if changes.get("id", point_id) != point_id:
        raise ApiError(400, "Invalid body", "the id of a point cannot change", "id")
    region = changes.get("region", current.region)
    settlement = changes.get("settlement", current.settlement)
    if not user.may_edit(current):
        raise _out_of_scope(user, current.region, current.settlement)
    if not user.may_edit_place(str(region or ""), str(settlement or "")):
        raise _out_of_scope(user, str(region or ""), str(settlement or ""))
    try:
        updated = _store().update(point_id, changes, by=user.name, expected_version=version)
    except VersionConflict as conflict:
        raise ApiError(
            412,
            "Precondition Failed",
            f"the point is at version {conflict.point.version}, not {version}",
            "If-Match",
            current_version=conflict.point.version,
        ) from None
    except ValidationError as error:
        raise ApiError.from_validation(error) from None
    return _feature_response(updated, 200)


@bp.post("/points")
def create_point():
    """Create a point; 409 if the id is taken."""
    user = writer()
    record = _body()
    if not user.may_edit_place(str(record.get("region") or ""), str(record.get("settlement") or "")):
        raise _out_of_scope(user, str(record.get("region") or ""), str(record.get("settlement") or ""))
    try:
        created = _store().create(record, by=user.name)
    except DuplicateIdError as error:
        raise ApiError(409, "Conflict", str(error), "id") from None
    except ValidationError as error:
        raise ApiError.from_validation(error) from None
    response = _feature_response(created, 201)
    response.headers["Location"] = url_for("api.get_point", point_id=created.id)
    return response
