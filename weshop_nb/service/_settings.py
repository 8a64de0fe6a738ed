"""The client's settings, checked when it is made: base URL, timeout and retries.

A setting that cannot work is refused at once, naming the rule and the value, rather
than failing on the first call (or, worse, working in a way nobody asked for: a key
sent in clear text, a call that waits forever).
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..config import API_KEY_VAR, environ_value
from ._envelope import check_url
from ._errors import InvalidRequestError
from ._transport import API_PREFIX, RUNS_PREFIX

__all__ = [
    "DEFAULT_BASE_URL",
    "check_base_url",
    "check_timeout",
    "check_retries",
    "key_from_environment",
    "is_loopback",
]

DEFAULT_BASE_URL = "https://openapi.weshop.ai"


def key_from_environment() -> str | None:
    """The API key in ``WESHOP_API_KEY``, or None when there is none.

    A blank key is no key: a variable set to spaces counts as unset, so every layer that
    asks "is there a key?" answers the same (the client, and the magic's own message).
    """
    return environ_value(API_KEY_VAR)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): traffic that never leaves the machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hide_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def check_base_url(url: str, *, what: str = "base_url", allow_insecure: bool = False) -> str:
    """``url`` made canonical (no trailing slash, no API prefix), or InvalidRequestError naming the rule.

    Rules: an http(s) URL with a host; no user name or password (they would show in every
    repr and error); no query or fragment (the client appends paths); ``http://`` only to
    this machine, unless ``allow_insecure`` (it would carry the key in clear text).
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidRequestError(f"{what} is empty; leave it out for {DEFAULT_BASE_URL}, or give the URL.")
    url = url.strip()
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise InvalidRequestError(
            f"{what} {_hide_userinfo(url)!r} must not hold a user name or password; the key goes in api_key."
        )
    check_url(url, what)
    if parts.query or url.endswith("?"):
        raise InvalidRequestError(f"{what} {url!r} must not have a query (?{parts.query}); give the bare address.")
    if parts.fragment or url.endswith("#"):
        raise InvalidRequestError(
            f"{what} {url!r} must not have a fragment (#{parts.fragment}); give the bare address."
        )
    try:
        parts.port  # noqa: B018 -- only to check it
    except ValueError:
        port = parts.netloc.rpartition(":")[2]
        raise InvalidRequestError(f"{what} {url!r}: port {port} is out of range (1 to 65535).") from None
    if not parts.hostname:
        raise InvalidRequestError(f"{what} {url!r} has no host name.")
    if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname):
        raise InvalidRequestError(
            f"{what} {url!r} would send the API key unencrypted over the network. Use https://, or pass "
            "allow_insecure=True (or set WESHOP_ALLOW_INSECURE=1) for a service on a network you trust."
        )
    path = parts.path.rstrip("/")
    for prefix in (API_PREFIX, RUNS_PREFIX):  # the client adds them to its calls: given here, doubled
        if path.endswith(prefix):
            path = path[: -len(prefix)].rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


_TIMEOUT_FORM = "timeout must be seconds (a number) or (connect, read)"


def _seconds(value: Any, what: str, given: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError(f"{_TIMEOUT_FORM}, got {given!r}.")
    seconds = float(value)
    if math.isinf(seconds):
        raise InvalidRequestError(f"{what}={value!r} would wait forever on a silent service; give seconds, e.g. 30.")
    if not seconds > 0:  # also refuses NaN
        raise InvalidRequestError(f"{what} must be above 0 seconds, got {value!r}.")
    return seconds


def check_timeout(timeout: Any) -> float | tuple[float, float]:
    """Seconds above 0, or a (connect, read) pair of them; None and infinity are refused (forever)."""
    if timeout is None:
        raise InvalidRequestError(
            "timeout=None would wait forever on a silent service; give seconds, e.g. timeout=60, "
            "or (connect, read), e.g. (5, 120) for uploads over a slow link."
        )
    if isinstance(timeout, (tuple, list)):
        if len(timeout) != 2:
            raise InvalidRequestError(f"{_TIMEOUT_FORM}, got {tuple(timeout)!r}.")
        return (_seconds(timeout[0], "connect timeout", timeout), _seconds(timeout[1], "read timeout", timeout))
    return _seconds(timeout, "timeout", timeout)


def check_retries(max_retries: Any) -> int:
    """A whole number of retries from 0."""
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidRequestError(f"max_retries must be a whole number from 0, got {max_retries!r}.")
    return max_retries
