"""What a request's body may be: one check, run before every route.

An ``/api/`` route takes a JSON object or nothing; a page's route takes form fields or
nothing. Anything else (JSON that does not parse, an array or a string where an object is
expected, brackets nested deeper than any real request, bytes that are not UTF-8, a form
where JSON is expected) is refused with 400 and a sentence before a route runs, so no
route reads a bad body as an empty one or stumbles on it (a 500). The routes then read
the object with :func:`json_object` and check their own fields' types.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Request, g
from werkzeug.exceptions import BadRequest

# Deeper than any request the kit takes, far shallower than the parser's recursion limit.
MAX_DEPTH = 16
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

NOT_JSON = "the body is not valid JSON: send a JSON object, such as {}"
NOT_UTF8 = "the body is not UTF-8 text: send a JSON object, such as {}"
TOO_DEEP = f"the JSON is nested more than {MAX_DEPTH} levels deep"
NOT_OBJECT = "the body must be a JSON object ({{...}}), not {what}"
WANTS_JSON = "send a JSON object with Content-Type: application/json"
WANTS_FORM = "this address takes form fields (application/x-www-form-urlencoded), not {type}"


def check(request: Request) -> None:
    """Raise BadRequest (400, with a sentence) unless the body fits the route's kind."""
    if request.method not in BODY_METHODS:
        return
    if request.path.startswith("/api/"):
        json_object(request)
    elif request.content_length or request.headers.get("Transfer-Encoding"):
        mimetype = request.mimetype
        if mimetype and mimetype not in FORM_TYPES:
            raise BadRequest(WANTS_FORM.format(type=mimetype))
        if not mimetype and request.get_data(cache=True):
            raise BadRequest(WANTS_FORM.format(type="a body without a Content-Type"))


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object ({} when there is none); 400 for anything else."""
    cached = g.get("_json_body")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    g._json_body = body = _parse(request)
    return body


def _parse(request: Request) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if not request.is_json:
        raise BadRequest(WANTS_JSON)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(NOT_UTF8) from None
    if too_deep(text, MAX_DEPTH):
        raise BadRequest(TOO_DEEP)
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BadRequest(NOT_JSON) from None
    if not isinstance(value, dict):
        raise BadRequest(NOT_OBJECT.format(what=_kind(value)))
    return value


def too_deep(text: str, limit: int) -> bool:
    """Whether JSON text nests arrays and objects more than `limit` deep (brackets inside
    strings do not count); checked before parsing, so no parser recursion is spent."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > limit:
                return True
        elif c in "]}":
            depth -= 1
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    return "a number"
