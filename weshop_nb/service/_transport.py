"""The HTTP session under the client: pooled connections, timeouts and retry policy.

Retries live here, in urllib3's ``Retry`` on mounted adapters, so the client code above
never loops by hand. Two policies are mounted:

* read-only or repeatable calls (agent info, task query, image upload) are retried on
  429/502/503/504, on connection errors and on dropped replies;
* calls that change state on the service (create, execute, delete) are retried only
  when the request provably never reached it: the connection could not be opened, or
  the service answered 429 (it refused before doing any work). A reply lost after the
  request was sent is *not* retried here; the client reconciles it instead.

The key travels in :class:`KeyAuth`, the session's auth object, so no request code holds
it in a local and no header dict is built with it in sight of a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
import requests.auth
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

API_PREFIX = "/openapi/v1"
#: Where both APIs live (v1 under ``/openapi/v1``, agent runs under ``/openapi/agent``): what the key signs.
API_ROOT = "/openapi/"
#: Paths whose repetition changes nothing on the service.
REPEATABLE_PATHS = ("/agent/task/query", "/agent/info", "/asset/upload/image")
RETRY_STATUSES = (429, 502, 503, 504)
#: A Retry-After longer than this is cut short: a notebook should not hang for an hour.
MAX_RETRY_AFTER = 30.0

if TYPE_CHECKING:
    from ._rate import RateBudget


class _ServiceRetry(Retry):
    """urllib3's Retry, plus: 429 is safe to repeat for any method, Retry-After is capped, and
    every 429 is told to the client's :class:`~weshop_nb.service._rate.RateBudget`, so the
    client's other threads slow down too (urllib3 only sleeps in the thread that got it)."""

    def __init__(self, *args: Any, budget: RateBudget | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget

    def new(self, **kw: Any) -> _ServiceRetry:
        kw.setdefault("budget", self.budget)
        return super().new(**kw)

    def increment(self, method: Any = None, url: Any = None, response: Any = None, *args: Any, **kwargs: Any) -> Any:
        if response is not None and response.status == 429 and self.budget is not None:
            self.budget.hold(self.get_retry_after(response))
        return super().increment(method, url, response, *args, **kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429 and self.total:
            return True
        return super().is_retry(method, status_code, has_retry_after)

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, MAX_RETRY_AFTER)


def _retry(max_retries: int, methods: frozenset[str], backoff: float, budget: RateBudget | None) -> Retry:
    return _ServiceRetry(
        budget=budget,
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        redirect=2,
        allowed_methods=methods,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff,
        backoff_jitter=backoff / 2,
        backoff_max=10.0,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class KeyAuth(requests.auth.AuthBase):
    """Puts the API key in the ``Authorization`` header of calls to the API, and nowhere else.

    Only requests under ``root`` (the base URL and ``/openapi/``) are signed, so a picture
    fetched from another host, or from the emulator's files, never carries the key. The
    key shows in no repr and is never pickled.
    """

    __slots__ = ("_key", "root")

    def __init__(self, key: str, root: str = "") -> None:
        self._key = key
        self.root = root

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.root and str(request.url).startswith(self.root):
            request.headers["Authorization"] = self._key
        return request

    def __repr__(self) -> str:
        return "<API key>"

    def __reduce__(self) -> Any:
        raise TypeError("weshop_nb never pickles an API key")


def build_session(
    base_url: str,
    *,
    max_retries: int = 3,
    backoff: float = 0.5,
    auth: KeyAuth | None = None,
    budget: RateBudget | None = None,
) -> requests.Session:
    """A session with the module docstring's retry policy; signs API calls with ``auth``, tells 429s to ``budget``."""
    session = requests.Session()
    if auth is not None:
        # As requests writes it (host lowercased, path quoted), so a prefix test is exact.
        auth.root = str(requests.Request("GET", base_url + API_ROOT).prepare().url)
        session.auth = auth
    safe = HTTPAdapter(max_retries=_retry(max_retries, frozenset({"GET", "HEAD"}), backoff, budget), pool_maxsize=16)
    repeatable = HTTPAdapter(
        max_retries=_retry(max_retries, frozenset({"GET", "HEAD", "POST"}), backoff, budget), pool_maxsize=16
    )
    for scheme in ("http://", "https://"):
        session.mount(scheme, safe)
    # requests picks the longest matching prefix, so these win for their own paths.
    for path in REPEATABLE_PATHS:
        session.mount(base_url + API_PREFIX + path, repeatable)
    return session


def never_sent(exc: BaseException) -> bool:
    """True when a requests error proves the request did not reach the service."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    # requests wraps urllib3's errors; the connection-level ones happen before sending.
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (NewConnectionError, ConnectTimeoutError, NameResolutionError)):
            return True
        stack.extend(
            [getattr(item, "reason", None), getattr(item, "__cause__", None), getattr(item, "__context__", None)]
        )
        stack.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
    return False


def retry_pause(attempt: int, *, first: float = 0.25, cap: float = 2.0) -> float:
    """Seconds to wait before sending a call again by hand (attempt 0, 1, 2...): doubling, capped."""
    return min(first * 2**attempt, cap)


def next_interval(current: float, base: float, ceiling: float, *, changed: bool) -> float:
    """The pause before the next poll: back to ``base`` after a change, else 1.5x longer up to ``ceiling``.

    The one backoff of everything that polls (``WeShopClient.wait`` and the run watchers).
    """
    return base if changed else min(current * 1.5, ceiling)
