"""Reading request bodies within limits, so a hostile body is a 4xx and never a 5xx.

JSON bodies: at most :data:`JSON_LIMIT_BYTES`, UTF-8, nested at most :data:`MAX_DEPTH`
deep, numbers of at most :data:`MAX_DIGITS` digits, no unpaired surrogates. Upload
bodies (multipart): at most :data:`UPLOAD_BODY_LIMIT_BYTES`, at most :data:`FORM_PARTS`
parts, fields without a file name at most :data:`FORM_FIELD_BYTES`. The limits are the
emulator's own (the reference states only the 10 MB image limit); each refusal says which
limit and by how much.
"""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request

from ..contract import MAX_BYTES
from .params import Refusal

MB = 1024 * 1024
#: A create, execute, query or delete body is a few hundred bytes; 1 MB leaves room for
#: any prompt.
JSON_LIMIT_BYTES = 1 * MB
#: Arrays and objects open at once. The service's bodies nest three deep; Python's
#: parser would run out of stack near a thousand.
MAX_DEPTH = 100
#: No field takes more than a 64-bit integer (19 digits). Python refuses to convert
#: more than 4300 digits, and a long number would be echoed in refusals.
MAX_DIGITS = 100
#: A 10 MB image and the form around it.
_FORM_SLACK = 1 * MB
UPLOAD_BODY_LIMIT_BYTES = MAX_BYTES + _FORM_SLACK
#: An upload needs one part (``image``); werkzeug's own default bounds the rest.
FORM_PARTS = 1000
#: Fields without a file name are kept in memory; a file part is what carries an image.
FORM_FIELD_BYTES = 500 * 1024

_STRUCTURE = re.compile(r'[^\[\]{}"\\]+')  # everything the depth count can skip


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB"


def _read(request: Request, limit: int, what: str, rule: str, code: int) -> bytes:
    """The whole body, or a 413 saying how far the ``what`` is over ``limit``, and the ``rule``."""
    length = request.content_length
    if length is not None and length > limit:
        raise Refusal(
            f"The {what} is {_size(length)} ({length} bytes), {length - limit} bytes over the limit; {rule}.",
            status=413,
            code=code,
        )
    # Without a Content-Length (chunked) werkzeug stops reading at the limit without a word,
    # so read one byte more: a body that ends at the limit and one cut there then differ.
    request.max_content_length = limit + 1
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        data = None
    if data is None or len(data) > limit:
        raise Refusal(f"The {what} is over the limit; {rule}.", status=413, code=code)
    return data


def _depth(text: str) -> int:
    """How many arrays and objects are open at once at the deepest point (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in _STRUCTURE.sub("", text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class _LongNumber(Exception):
    def __init__(self, digits: int) -> None:
        self.digits = digits


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise _LongNumber(digits)  # before int(): converting it is what costs (and fails)
    return int(text)


def _long_number(text: str, digits: int) -> Refusal:
    # Best effort to name the field: a key directly followed by the long number.
    found = re.search(rf'"([^"\\]{{1,100}})"\s*:\s*-?\d{{{digits}}}', text)
    where = f" (the value of {found.group(1)})" if found else ""
    return Refusal(
        f"The request body holds a number of {digits} digits{where}; numbers may have at most {MAX_DIGITS} digits.",
        code=40000,
    )


def json_object(request: Request) -> dict[str, Any]:
    """The JSON object a request carries, or a :class:`Refusal` naming the rule it broke."""
    rule = f"a JSON request body may be at most {JSON_LIMIT_BYTES // MB} MB ({JSON_LIMIT_BYTES} bytes)"
    raw = _read(request, JSON_LIMIT_BYTES, "JSON request body", rule, 41300)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refusal(
            f"The request body is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
            "send JSON encoded as UTF-8.",
            code=40000,
        ) from None
    if not text.strip():
        raise Refusal("The request body is empty; send a JSON object.", code=40000)
    if text.count("[") + text.count("{") > MAX_DEPTH:  # only then can it be too deep
        depth = _depth(text)
        if depth > MAX_DEPTH:
            raise Refusal(
                f"The request body nests arrays and objects {depth} levels deep; at most {MAX_DEPTH} are accepted.",
                code=40000,
            )
    try:
        body = json.loads(text, parse_int=_integer)
    except _LongNumber as long:
        raise _long_number(text, long.digits) from None
    except json.JSONDecodeError as exc:
        raise Refusal(f"The request body is not valid JSON ({exc.msg} at position {exc.pos}).", code=40000) from None
    if not isinstance(body, dict):
        raise Refusal("The request body must be a JSON object.", code=40000)
    if "\\u" in text:  # only an escape can make a lone surrogate out of UTF-8
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            lone = exc.object[exc.start]
            raise Refusal(
                f"The request body holds an unpaired surrogate \\u{ord(lone):04x}; strings must be valid Unicode.",
                code=40000,
            ) from None
    return body


def _form_refusal(request: Request, raw: bytes) -> Refusal:
    """Why werkzeug's form parser stopped: too many parts, or a large field without a file name."""
    boundary = request.mimetype_params.get("boundary", "").encode("latin-1", "replace")
    parts = raw.count(b"--" + boundary) - 1 if boundary else 0  # the last delimiter closes
    if parts > FORM_PARTS:
        return Refusal(
            f"The multipart body has {parts} parts; at most {FORM_PARTS} are accepted "
            "(an upload needs one, a file part named 'image').",
            status=413,
            code=41301,
        )
    return Refusal(
        f"A form field without a file name is over {FORM_FIELD_BYTES // 1024} KB; "
        "send the image as a file part named 'image' (with a filename).",
        status=413,
        code=41302,
    )


def upload_file(request: Request, field: str) -> FileStorage | None:
    """The file part ``field`` of a multipart body, or ``None``; over a limit it is a 413."""
    rule = (
        f"an upload body may be at most {UPLOAD_BODY_LIMIT_BYTES // MB} MB: "
        f"images may be at most {MAX_BYTES // MB} MB, and the form around them {_FORM_SLACK // MB} MB"
    )
    raw = _read(request, UPLOAD_BODY_LIMIT_BYTES, "upload body", rule, 40011)
    request.max_form_parts = FORM_PARTS
    request.max_form_memory_size = FORM_FIELD_BYTES
    try:
        return request.files.get(field)
    except RequestEntityTooLarge:
        raise _form_refusal(request, raw) from None
