"""The service's reply envelopes, read: v1's and the agent-runs API's.

v1: ``success``, ``code`` (0 or "0"), ``message`` or ``msg``. Runs API: ``success`` with
``data`` and ``meta``, or ``success: false`` with ``error: {code, message, retryable}``.
:func:`raise_for_envelope` returns the ``data`` of a successful reply, or raises the typed
error of :mod:`weshop_nb.service._errors` that the reply describes, by HTTP status first (the runs
API's codes name the same cases), carrying ``retryable`` when the service said it;
:func:`detach` makes the reply an error may keep.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from ._errors import AuthenticationError, InvalidRequestError, RateLimitError, ServiceError


def check_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequestError(f"{what} {url!r} is not an http(s) URL.")
    return url


def detach(response: requests.Response, *, read: bool = True) -> requests.Response:
    """A copy of ``response`` without its request, connection or raw stream.

    Errors keep the reply behind them (``error.response``); the request it answers carries
    the API key in its headers, so it is not kept. ``read=False`` copies no body (a
    streamed reply whose body was not wanted).
    """
    copy = requests.Response()
    copy.status_code, copy.reason, copy.url = response.status_code, response.reason, response.url
    copy.headers, copy.encoding, copy.elapsed = response.headers, response.encoding, response.elapsed
    copy._content = response.content if read else b""
    return copy


#: The runs API's error codes for a refused key (any HTTP status).
_AUTH_CODES = frozenset({"UNAUTHORIZED", "FORBIDDEN"})


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def raise_for_envelope(response: requests.Response) -> dict[str, Any]:
    """The ``data`` of a successful reply, or the typed error the reply describes."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        snippet = response.text[:120].strip() or "empty body"
        if status in (401, 403, 429):
            body = {"success": False, "message": snippet}
        else:
            message = f"The service sent a reply that is not a JSON envelope (HTTP {status}): {snippet!r}"
            raise ServiceError(message, response=response, fate_unknown=status < 400 or status >= 500)
    success = body.get("success")
    code = body.get("code")
    if success is None:
        success = str(code) == "0"
    if str(success).lower() == "true" and status < 400:
        data = body.get("data")
        return data if isinstance(data, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    said = error.get("message") or body.get("message") or body.get("msg")
    message = str(said or response.reason or "request refused")
    code = error.get("code", code)
    # Only a real boolean counts: the service's word on sending the same request again.
    again = error.get("retryable")
    known = {"code": code, "response": response, "retryable": again if isinstance(again, bool) else None}
    if status in (401, 403) or code in _AUTH_CODES:
        raise AuthenticationError(f"The service refused the API key: {message}", **known)
    if status == 429 or code == "RATE_LIMITED":
        raise RateLimitError(f"Rate limited by the service: {message}", retry_after=_retry_after(response), **known)
    if status >= 500:
        raise ServiceError(f"The service failed (HTTP {status}): {message}", fate_unknown=True, **known)
    raise InvalidRequestError(message, **known)
