"""The service's reply envelope, read: ``success``, ``code`` (0 or "0"), ``message`` or ``msg``.

:func:`raise_for_envelope` returns the ``data`` of a successful reply, or raises the typed
error of :mod:`weshop_nb.errors` that the reply describes.
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
    message = str(body.get("message") or body.get("msg") or response.reason or "request refused")
    if status in (401, 403):
        raise AuthenticationError(f"The service refused the API key: {message}", code=code, response=response)
    if status == 429:
        raise RateLimitError(
            f"Rate limited by the service: {message}", code=code, response=response, retry_after=_retry_after(response)
        )
    if status >= 500:
        raise ServiceError(
            f"The service failed (HTTP {status}): {message}", code=code, response=response, fate_unknown=True
        )
    raise InvalidRequestError(message, code=code, response=response)
