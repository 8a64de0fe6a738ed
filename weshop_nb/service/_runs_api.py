"""The agent-runs API: the bodies and replies of its calls.

Paths (under ``/openapi/agent``): ``POST assets/images`` (upload), ``POST runs`` (start),
``GET runs/{executionId}`` (poll, a task-shaped reply), ``POST power-estimates`` (cost;
nothing is created). Replies use the runs envelope (``data``/``meta``, or ``error``
with ``code``, ``message`` and ``retryable``), read by :mod:`._envelope` into the same
error tree as v1's.

When each call is sent again (the service's ``retryable`` first; every send of one start
carries the same ``Idempotency-Key``) is the client's one retry policy, the table at the
top of :mod:`._transport`; these functions send each call once through
``WeShopClient._request``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ._catalogue import Estimate
from ._errors import InvalidRequestError, ServiceError
from ._models import Task
from ._transport import RUNS_ESTIMATE, RUNS_POLL, RUNS_START, RUNS_UPLOAD

if TYPE_CHECKING:
    from ._client import WeShopClient
    from ._images import ImageFile

__all__ = ["run_body", "start", "poll", "upload", "estimate"]


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
    data = client._request(RUNS_START, json=dict(body))  # keyed: one Idempotency-Key for every send of it
    if not data.get("executionId"):
        raise ServiceError("The service started a run but sent no executionId.")
    return data


def poll(client: WeShopClient, execution_id: str, task_id: str | None) -> Task:
    """The run ``execution_id`` as a task holding it (the poll's reply is task-shaped)."""
    data = client._request(RUNS_POLL, quote(execution_id, safe=""))
    task = Task.from_api(data, task_id=str(data.get("taskId") or task_id or ""))
    if task.execution(execution_id) is None and len(task.executions) != 1:
        raise InvalidRequestError(f"The service returned no run {execution_id!r}.")
    return task


def upload(client: WeShopClient, image: ImageFile) -> str:
    """Upload checked bytes; the URL the service gave."""
    files = {"image": (image.filename, image.data, image.mime_type)}
    return str(client._request(RUNS_UPLOAD, files=files).get("image") or "")


def estimate(client: WeShopClient, body: Mapping[str, Any]) -> Estimate:
    """The service's cost estimate of a run with ``body``; nothing is created or billed."""
    return Estimate.from_api(client._request(RUNS_ESTIMATE, json=dict(body)))
