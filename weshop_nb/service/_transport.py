"""The one retry policy of the client, and the HTTP session under it.

Every call the client makes is a row of the table below (the :class:`Call` constants of
this module), and :meth:`WeShopClient._request`, the one choke point, consults the row
after every send that failed. Nothing else in weshop_nb sends a call again, and the
session under it retries nothing by itself (its adapters have ``max_retries=0``).

=======================  ====================================  ==============================  =====  =====
call                     method and path                       after a lost reply (1)          lost   busy
=======================  ====================================  ==============================  =====  =====
upload                   POST /openapi/v1/asset/upload/image   sent again (a 2nd URL at most)  3      m+1
create task              POST /openapi/v1/agent/task/create    sent again (an empty task)      3      m+1
query task               POST /openapi/v1/agent/task/query     sent again (a read)             3      m+1
query, to reconcile      POST /openapi/v1/agent/task/query     sent again (a read)             12     12
execute                  POST /openapi/v1/agent/task/execute   reconciled (2)                  12     12
delete task              POST /openapi/v1/agent/task/delete    sent again; then "not found"    3      m+1
                                                               means the lost one did it
agent info               GET  /openapi/v1/agent/info           sent again (a read)             3      m+1
runs: upload             POST /openapi/agent/assets/images     sent again                      3      m+1
runs: start              POST /openapi/agent/runs              sent again, same                8      8
                                                               ``Idempotency-Key`` (3)
runs: poll               GET  /openapi/agent/runs/{id}         sent again (a read)             3      m+1
runs: estimate           POST /openapi/agent/power-estimates   sent again (creates nothing)    3      m+1
picture                  GET  any http(s) URL, never signed    sent again (a read)             3      m+1
=======================  ====================================  ==============================  =====  =====

For every call, whatever its row:

* (1) a **lost reply**: the request arrived and its fate is unknown (a reset or timed-out
  connection, an unreadable reply, a 5xx). The row says what follows; ``lost`` is the
  most sends of the call then.
* **busy**: the service answered 429, or the connection could not be opened (refused,
  DNS, connect timeout). It did no work, so any call is sent again, at most ``busy``
  sends (``m+1``: the client's ``max_retries`` plus one; default 4). After a 429 every
  thread of the client waits for the :class:`~weshop_nb.service._rate.RateBudget`
  (``Retry-After``, capped at :data:`MAX_RETRY_AFTER`).
* any other **refusal** (a 4xx, a v1 ``success: false``): never sent again.
* the agent-runs API's ``retryable``, when the service says it, decides instead:
  ``true`` sends again (at most ``lost`` sends), ``false`` never does.
* (2) an execute starts billed work, so it is sent again only when it provably never
  arrived: busy, or a lost reply after reading the task showed it did not start (an
  execution it did start is adopted; see :mod:`weshop_nb.service._identity`).
* (3) one new uuid per logical start, the same on every send of it: the service makes
  one run however often it arrives.

Between sends: :func:`retry_pause` (after a 429, the rate budget's hold instead).
Polling (``WeShopClient.wait`` and the run watchers) is not retrying: it asks again on
a schedule, with :func:`~weshop_nb.service._polling.next_interval`.

The key travels in :class:`KeyAuth`, the session's auth object, so no request code holds
it in a local and no header dict is built with it in sight of a traceback.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import requests.auth
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies, requote_uri

__all__ = [
    "API_PREFIX",
    "RUNS_PREFIX",
    "API_ROOT",
    "Call",
    "AGAIN",
    "RECONCILE",
    "GONE_IS_DONE",
    "UPLOAD",
    "CREATE_TASK",
    "QUERY_TASK",
    "RECONCILE_QUERY",
    "EXECUTE",
    "DELETE_TASK",
    "AGENT_INFO",
    "RUNS_UPLOAD",
    "RUNS_START",
    "RUNS_POLL",
    "RUNS_ESTIMATE",
    "PICTURE",
    "MAX_RETRY_AFTER",
    "KeyAuth",
    "build_session",
    "never_sent",
    "retry_pause",
]

#: Where the v1 task API lives.
API_PREFIX = "/openapi/v1"
#: Where the agent-runs API lives.
RUNS_PREFIX = "/openapi/agent"
#: Where both APIs live: what the key signs.
API_ROOT = "/openapi/"
#: A Retry-After longer than this is cut short: a notebook should not hang for an hour.
MAX_RETRY_AFTER = 30.0

#: After a lost reply: send the same request again.
AGAIN = "again"
#: After a lost reply: find out whether it did its work (the caller's ``settle``), then send again only if not.
RECONCILE = "reconcile"
#: After a lost reply: send again, and a refusal of a later send means the lost one did the work.
GONE_IS_DONE = "gone is done"


@dataclass(frozen=True)
class Call:
    """One row of the retry policy: a call of the service and when it may be sent again.

    Parameters
    ----------
    name : str
        What the call is, in words (its row in the module docstring's table).
    method, path : str
        The HTTP method, and the path under the base URL (``""`` for a picture's own URL).
    lost : str
        What a lost reply allows: :data:`AGAIN`, :data:`RECONCILE` or :data:`GONE_IS_DONE`.
    sends : int
        The most sends of one call when a reply was lost or the service said ``retryable``.
    busy_sends : int, optional
        The most sends when the service answered 429 or the connection could not be
        opened (it did no work); None: ``1 + max_retries`` of the client.
    keyed : bool
        Every send of one call carries the same new ``Idempotency-Key``.
    signed : bool
        The call needs the API key (a picture does not).
    """

    name: str
    method: str
    path: str
    lost: str = AGAIN
    sends: int = 3
    busy_sends: int | None = None
    keyed: bool = False
    signed: bool = True

    def limit(self, busy: bool, max_retries: int) -> int:
        """How many sends of one call at most: after a 429 or an unopened connection (``busy``), or else."""
        if busy:
            return self.busy_sends if self.busy_sends is not None else 1 + max_retries
        return self.sends

    def most_sends(self, max_retries: int) -> int:
        """How many sends of one call at most, whatever happens."""
        return max(self.limit(True, max_retries), self.limit(False, max_retries))


# The table (see the module docstring). A reconciliation's query insists: its answer decides
# between a duplicate (billed twice) and an execution nobody watches.
UPLOAD = Call("upload", "POST", API_PREFIX + "/asset/upload/image")
CREATE_TASK = Call("create task", "POST", API_PREFIX + "/agent/task/create")
QUERY_TASK = Call("query task", "POST", API_PREFIX + "/agent/task/query")
RECONCILE_QUERY = Call("query, to reconcile", "POST", API_PREFIX + "/agent/task/query", sends=12, busy_sends=12)
EXECUTE = Call("execute", "POST", API_PREFIX + "/agent/task/execute", lost=RECONCILE, sends=12, busy_sends=12)
DELETE_TASK = Call("delete task", "POST", API_PREFIX + "/agent/task/delete", lost=GONE_IS_DONE)
AGENT_INFO = Call("agent info", "GET", API_PREFIX + "/agent/info")
RUNS_UPLOAD = Call("runs: upload", "POST", RUNS_PREFIX + "/assets/images")
RUNS_START = Call("runs: start", "POST", RUNS_PREFIX + "/runs", sends=8, busy_sends=8, keyed=True)
RUNS_POLL = Call("runs: poll", "GET", RUNS_PREFIX + "/runs/")
RUNS_ESTIMATE = Call("runs: estimate", "POST", RUNS_PREFIX + "/power-estimates")
PICTURE = Call("picture", "GET", "", signed=False)


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

    def may_sign(self, url: str) -> bool:
        """True when a request to ``url`` may be signed once prepared (its host lowercased: compared without case)."""
        return bool(self.root) and url.lower().startswith(self.root.lower())

    def __repr__(self) -> str:
        return "<API key>"

    def __reduce__(self) -> Any:
        raise TypeError("weshop_nb never pickles an API key")


class _Session(requests.Session):
    """A ``requests.Session`` that reads the proxy settings of the environment once per host.

    requests reads them on every request (``*_proxy`` and ``no_proxy``, two passes over
    the whole environment): 0.7 ms of CPU per call, a third of a picture's download, and
    a sweep downloads hundreds. Here they are read when a host is first called, as httpx
    reads them when a client is made; a client made after the environment changes sees
    the change. Everything else is as requests does it.
    """

    #: Hosts whose proxy settings are remembered; past this many, they are read again.
    MAX_HOSTS = 256

    def __init__(self) -> None:
        super().__init__()
        self._environment_proxies: dict[tuple[str, str, str | None], dict[str, str]] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        if not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        proxies = dict(proxies or {})
        parts = urlsplit(str(url))
        key = (parts.scheme, parts.netloc, proxies.get("no_proxy"))
        found = self._environment_proxies.get(key)
        if found is None:
            if len(self._environment_proxies) >= self.MAX_HOSTS:
                self._environment_proxies.clear()
            found = self._environment_proxies[key] = get_environ_proxies(str(url), no_proxy=key[2])
        for name, proxy in found.items():
            proxies.setdefault(name, proxy)
        if verify is True or verify is None:  # as requests and cURL: a CA bundle named in the environment
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or verify
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }

    def plain_get(
        self, url: str, *, headers: dict[str, str], timeout: float | tuple[float, float], stream: bool = False
    ) -> requests.Response:
        """``request("GET", url, ...)`` of an unsigned call (a picture), given to the adapter without session work.

        Per request, the session prepares the URL, merges its settings with the
        environment's, runs hooks and copies cookies: 0.3-0.4 of the 1 ms of CPU a
        result picture from a nearby host takes to download, and a sweep downloads
        hundreds. This builds the request the session would and gives it to the same
        adapter (the same pool, TLS settings, errors and timeouts). Whatever that does
        not cover (a proxy, cookies, session parameters or hooks, a URL requests would
        rewrite or the key would sign, a redirect to follow) goes the ordinary way.
        """
        settings = self.merge_environment_settings(url, {}, stream, None, None)
        if not self._plain(url, settings["proxies"]):
            return self.request("GET", url, headers=headers, timeout=timeout, stream=stream)
        request = requests.PreparedRequest()
        request.method, request.url, request.body = "GET", requote_uri(url), None
        request.headers = CaseInsensitiveDict(self.headers)
        request.headers.update(headers)
        request.hooks = {"response": []}
        response = self.get_adapter(url).send(
            request, stream=stream, timeout=timeout, verify=settings["verify"], cert=None, proxies={}
        )
        if "set-cookie" in response.headers:  # kept for the next requests, as the session keeps them
            extract_cookies_to_jar(self.cookies, request, response.raw)
        if response.is_redirect:  # followed as requests follows it (rare for pictures)
            location = urljoin(url, response.headers["location"])
            response.close()
            return self.request("GET", location, headers=headers, timeout=timeout, stream=stream)
        if not stream:
            response.content  # noqa: B018 - read now, as the session does without stream
        return response

    def _plain(self, url: str, proxies: dict[str, str]) -> bool:
        """True when the session would add nothing to ``GET url`` (``proxies``: the merged ones)."""
        if not url.isascii() or any(c.isspace() for c in url) or "#" in url:
            return False  # the session would quote or strip it
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            return False
        if self.auth is not None and (not isinstance(self.auth, KeyAuth) or self.auth.may_sign(url)):
            return False  # the key signs it: only the session adds it
        if proxies and requests.utils.select_proxy(url, proxies):
            return False
        return not (self.cookies or self.params or self.cert or any(self.hooks.values()))


def build_session(base_url: str, *, auth: KeyAuth | None = None) -> _Session:
    """Pooled connections that retry nothing (the policy above is the client's); signs API calls with ``auth``."""
    session = _Session()
    if auth is not None:
        # As requests writes it (host lowercased, path quoted), so a prefix test is exact.
        auth.root = str(requests.Request("GET", base_url + API_ROOT).prepare().url)
        session.auth = auth
    adapter = HTTPAdapter(max_retries=0, pool_maxsize=16)
    for scheme in ("http://", "https://"):
        session.mount(scheme, adapter)
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
    """Seconds to wait before sending a call again (attempt 0, 1, 2...): doubling, capped, with jitter.

    The jitter (a quarter either way) keeps threads that failed together from sending together again.
    """
    return min(first * 2**attempt, cap) * random.uniform(0.75, 1.25)
