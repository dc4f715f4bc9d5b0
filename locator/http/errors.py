"""Errors, answered one way: application/problem+json (RFC 9457) naming the offending parameter
on API paths, the HTML error page everywhere else.

Code anywhere raises ApiError (or lets an HTTPException or a store error through); the handlers
here are the only place an error becomes a response. The edge's refusals (http/admission.py) are
ApiErrors and HTTPExceptions too, raised by Flask's hook, so they look like every other error.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from locator.domain.validation import ValidationError
from locator.http.routes import API_PREFIX
from locator.store.errors import StoreBusy

PROBLEM_JSON = "application/problem+json"
BUSY_RETRY_AFTER_S = 5  # a restore or a huge import holding the database: try again this soon
MEGABYTE = 1024 * 1024


class ApiError(Exception):
    """An error with an HTTP status, a short title and, where one is to blame, a parameter."""

    def __init__(self, status: int, title: str, detail: str = "", param: str | None = None, **extra: Any):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.param, self.extra = status, title, detail, param, extra

    @classmethod
    def from_validation(cls, error: ValidationError, status: int = 400) -> ApiError:
        first = error.problems[0]
        errors = [{"param": p.field, "detail": p.message} for p in error.problems]
        return cls(status, "Invalid parameter", str(error), first.field, errors=errors)


def problem_response(error: ApiError) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": error.title,
        "status": error.status,
        "detail": error.detail or error.title,
    }
    if error.param:
        body["param"] = error.param
    body.update(error.extra)
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=error.status, mimetype=PROBLEM_JSON
    )
    response.headers["Cache-Control"] = "no-store"
    if "retry_after" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


def _wants_problem_json() -> bool:
    return request.path.startswith(API_PREFIX)


def _handle_api_error(error: ApiError):
    if _wants_problem_json():
        return problem_response(error)
    return render_template(
        "error.html", status=error.status, title=error.title, detail=error.detail
    ), error.status


def _handle_http_exception(error: HTTPException):
    if _wants_problem_json():
        return problem_response(ApiError(error.code or 500, error.name, error.description or ""))
    return render_template("error.html", status=error.code, title=error.name, detail=""), error.code


def _handle_busy(error: StoreBusy):
    """Another writer held the database past its wait (a restore, a huge import): the write did
    not happen, and trying again shortly will work. Never a 500 for that."""
    current_app.logger.warning("database busy on %s: %s", request.path, error)
    response = current_app.make_response(_handle_http_exception(_Busy()))
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_S)
    return response


def _handle_too_large(error: RequestEntityTooLarge):
    """A clear answer to a body over its route's limit (an upload: LOCATOR_IMPORT_MAX_BYTES)."""
    limit = request.max_content_length or current_app.config["IMPORT_MAX_BYTES"]
    if limit >= current_app.config["IMPORT_MAX_BYTES"]:
        limit = current_app.config["IMPORT_MAX_BYTES"]  # (the file; the form around it is ours)
    shown = f"{limit / MEGABYTE:.1f} MB" if limit >= MEGABYTE else f"{limit / 1024:.1f} KB"
    detail = f"the upload is larger than the limit of {shown} ({limit:,} bytes)"
    if _wants_problem_json():
        return problem_response(ApiError(413, "Content Too Large", detail))
    return render_template("error.html", status=413, title="Content Too Large", detail=detail), 413


def _handle_unexpected(error: Exception):
    current_app.logger.exception("unhandled error on %s", request.path)
    return _handle_http_exception(_InternalError())


class _Busy(HTTPException):
    code = 503
    description = "The database is busy with another change; nothing was written. Try again in a few seconds."


class _InternalError(HTTPException):
    code = 500
    description = "Something went wrong on our side. Please try again."


def register(app: Flask) -> None:
    """The handlers, most specific first (Flask picks the nearest class of the error anyway)."""
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(RequestEntityTooLarge, _handle_too_large)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(StoreBusy, _handle_busy)
    app.register_error_handler(Exception, _handle_unexpected)
