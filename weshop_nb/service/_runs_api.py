"""The agent-runs API: its paths, its rule for sending a request again, and its calls.

Paths (under ``/openapi/agent``): ``POST assets/images`` (upload), ``POST runs`` (start),
``GET runs/{executionId}`` (poll, a task-shaped reply), ``POST power-estimates`` (cost;
nothing is created). Replies use the runs envelope (``data``/``meta``, or ``error``
with ``code``, ``message`` and ``retryable``), read by :mod:`._envelope` into the same
error tree as v1's.

Sending again follows the service's word: an error that says ``retryable: true`` may be
sent again, one that says ``false`` never is. When the service said nothing (a reply
lost or unreadable, a 429 without an envelope), a call that changes nothing (upload,
poll, estimate) is sent again, and so is a start: every start carries an
``Idempotency-Key``, one uuid per logical start and the same on every send of it, so the
service makes one run however often it arrives. These retries are done here, by hand;
the transport under these paths retries only requests that never left (:func:`mount`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import _transport
from ._catalogue import Estimate
from ._errors import InvalidRequestError, RateLimitError, ServiceError, WeShopError
from ._models import Task

if TYPE_CHECKING:
    import requests

    from ._client import WeShopClient
    from ._images import ImageFile

__all__ = ["PREFIX", "mount", "may_send_again", "run_body", "start", "poll", "upload", "estimate"]

PREFIX = "/openapi/agent"
UPLOAD, RUNS, ESTIMATES = "/assets/images", "/runs", "/power-estimates"
#: Sends of one start (the same key each time), and of a call that changes nothing.
START_ATTEMPTS, CALL_ATTEMPTS = 8, 3


def mount(session: requests.Session, base_url: str, max_retries: int) -> None:
    """Under the runs paths, let the transport retry only connections that could not be opened.

    Everything else (a status, a lost reply) is this module's to decide, by ``retryable``.
    """
    retry = Retry(
        total=max_retries,
        connect=max_retries,
        read=0,
        status=0,
        other=0,
        redirect=0,
        status_forcelist=(),
        backoff_factor=0.5,
        raise_on_status=False,
    )
    session.mount(base_url + PREFIX + "/", HTTPAdapter(max_retries=retry, pool_maxsize=16))


def may_send_again(exc: WeShopError) -> bool:
    """True when the same request may be sent again after ``exc``.

    The service's ``retryable`` decides when it sent one. Without it: a rate limit (the
    service did no work) and a reply whose fate is unknown (lost, unreadable, a bare 5xx)
    may be sent again; everything else is a refusal that would be refused again.
    """
    if exc.retryable is not None:
        return exc.retryable
    if isinstance(exc, RateLimitError):
        return True
    return isinstance(exc, ServiceError) and exc.fate_unknown


def _pause(exc: WeShopError, attempt: int) -> float:
    after = getattr(exc, "retry_after", None)
    if after:
        return min(float(after), _transport.MAX_RETRY_AFTER)
    return _transport.retry_pause(attempt)


def send(client: WeShopClient, method: str, path: str, *, attempts: int = CALL_ATTEMPTS, **kwargs: Any) -> dict:
    """``client._request`` on a runs path, sent again while :func:`may_send_again` allows."""
    for attempt in range(attempts):
        try:
            return client._request(method, path, prefix=PREFIX, **kwargs)
        except WeShopError as exc:
            if attempt == attempts - 1 or not may_send_again(exc):
                raise
            pause = _pause(exc, attempt)
        time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def run_body(
    agent: str,
    version: str,
    inputs: Mapping[str, Any],
    params: Mapping[str, Any],
    *,
    safe_generate: bool,
    callback_url: str | None = None,
) -> dict[str, Any]:
    """The JSON body of a start or an estimate."""
    body: dict[str, Any] = {
        "agent": {"name": agent, "version": version},
        "input": dict(inputs),
        "params": dict(params),
        "safeGenerate": "on" if safe_generate else "off",
    }
    if callback_url is not None:
        body["callbackUrl"] = callback_url
    return body


def start(client: WeShopClient, body: Mapping[str, Any]) -> dict[str, Any]:
    """Start one run; the reply's ``data`` (``executionId``, ``taskId``, billing figures)."""
    key = str(uuid.uuid4())  # one per logical start: every send of this body carries it
    data = send(client, "POST", RUNS, attempts=START_ATTEMPTS, json=dict(body), headers={"Idempotency-Key": key})
    if not data.get("executionId"):
        raise ServiceError("The service started a run but sent no executionId.")
    return data


def poll(client: WeShopClient, execution_id: str, task_id: str | None) -> Task:
    """The run ``execution_id`` as a task holding it (the poll's reply is task-shaped)."""
    data = send(client, "GET", f"{RUNS}/{quote(execution_id, safe='')}")
    task = Task.from_api(data, task_id=str(data.get("taskId") or task_id or ""))
    if task.execution(execution_id) is None and len(task.executions) != 1:
        raise InvalidRequestError(f"The service returned no run {execution_id!r}.")
    return task


def upload(client: WeShopClient, image: ImageFile) -> str:
    """Upload checked bytes; the URL the service gave."""
    files = {"image": (image.filename, image.data, image.mime_type)}
    return str(send(client, "POST", UPLOAD, files=files).get("image") or "")


def estimate(client: WeShopClient, body: Mapping[str, Any]) -> Estimate:
    """The service's cost estimate of a run with ``body``; nothing is created or billed."""
    return Estimate.from_api(send(client, "POST", ESTIMATES, json=dict(body)))
