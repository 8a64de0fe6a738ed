"""``execute`` on the v1 task API, what it does when a reply is lost, and ``wait``.

An execute that reached the service but whose reply was lost may or may not have started
an execution. Sending it again could start a duplicate (billed twice); not sending could
lose it. So the client reads the task and adopts the execution it started, if any, before
anything is sent again; the ledger (:mod:`._identity`) keeps that unambiguous. Mixed into
:class:`~weshop_nb.service._client.WeShopClient`, whose ``_request`` it uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import _events as events
from . import _transport
from ._envelope import check_url as _check_url
from ._errors import ExecutionFailed, RateLimitError, ServiceError, WaitTimeout
from ._identity import Slot
from ._models import FAILED, PENDING, Execution

if TYPE_CHECKING:
    from ._identity import Ledger

__all__ = ["ExecuteCalls", "EXECUTE_ATTEMPTS", "RATE_LIMITED_SENDS", "RECONCILE_READS"]

#: Sends of one execute whose fate was unknown, each after checking the task for it.
EXECUTE_ATTEMPTS = 8
#: Sends of one execute the service refused with 429 (each after the transport's own retries).
RATE_LIMITED_SENDS = 3
#: Reads of the task (each retried by ``_request_again``) to find an execute whose reply was lost.
RECONCILE_READS = 4


class ExecuteCalls:
    """``execute``, its reconciliation, and ``wait``, for the client."""

    # The client provides these.
    base_url: str
    _ledger: Ledger
    _request: Callable[..., dict[str, Any]]
    get_task: Callable[[str], Any]
    get_execution: Callable[[str], Execution]

    def execute(self, task_id: str, params: Mapping[str, Any], callback_url: str | None = None) -> Execution:
        """Start an execution of ``task_id`` with ``params``; returns it as ``pending``.

        If the reply is lost after the request was sent, the task is queried for the new
        execution before anything is sent again, so a retry never starts a duplicate. Two
        executes of the same parameters on the same task from this client go one after the
        other (the second waits for the first's id), which keeps that check unambiguous; see
        :mod:`weshop_nb.service._identity`.
        """
        task_id = str(task_id)
        body: dict[str, Any] = {"taskId": task_id, "params": dict(params)}
        if callback_url is not None:
            body["callbackUrl"] = _check_url(callback_url, "callback_url")
        with self._ledger.slot(task_id, body["params"]) as slot:
            if not self._ledger.knows(task_id):
                self.get_task(task_id)  # remember what exists, to recognise ours later
            self._ledger.mark(slot)
            limited = 0
            for attempt in range(EXECUTE_ATTEMPTS):
                try:
                    data = self._request("POST", "/agent/task/execute", json=body)
                    break
                except RateLimitError:
                    # Refused before any work, after the transport's own retries: send again
                    # once the rate budget allows (``_request`` waits), a few times at most.
                    limited += 1
                    if limited == RATE_LIMITED_SENDS or attempt == EXECUTE_ATTEMPTS - 1:
                        raise
                except ServiceError as exc:
                    if not exc.fate_unknown:
                        raise
                    adopted = self._reconcile(slot)
                    if adopted is not None:
                        return adopted
                    if attempt == EXECUTE_ATTEMPTS - 1:
                        raise  # checked just now: it did not start, so nothing is lost
                    time.sleep(_transport.retry_pause(attempt))  # it did not start: send it again
            execution_id = str(data.get("executionId") or "")
            if not execution_id:
                raise ServiceError("The service started an execution but sent no executionId.")
            self._ledger.claim(task_id, execution_id)
        execution = Execution(
            id=execution_id, status=PENDING, params=dict(params), executed_at=None, results=(), task_id=task_id
        )
        events.emit("execution", execution, source=self.base_url)
        return execution

    def _reconcile(self, slot: Slot) -> Execution | None:
        """After a lost execute reply: the execution it started, or None when it did not start.

        Raises ServiceError when it cannot tell (the task cannot be read, or ours may be
        out of the query's window): then nothing is sent again, since that could start a
        duplicate.
        """
        task_id = slot.task_id
        unknown = (
            f"An execute on task {task_id} may or may not have started, and {{why}}. It was not sent again, "
            f"to avoid a duplicate; check get_task({task_id!r}) later."
        )
        with self._ledger.reconciling(task_id):
            for attempt in range(RECONCILE_READS):
                try:
                    task = self.get_task(task_id)
                    break
                except (ServiceError, RateLimitError) as exc:
                    # Reading is harmless and the answer decides between a duplicate and
                    # an orphan: insist before giving up.
                    if attempt == RECONCILE_READS - 1:
                        why = f"the task could not be read to tell ({exc})"
                        raise ServiceError(unknown.format(why=why), fate_unknown=True) from None
                    time.sleep(_transport.retry_pause(attempt))
            choice = self._ledger.choose(slot, task.executions)
        if choice.hidden:
            why = f"all {len(task.executions)} executions a task query shows are newer than it, hiding it if it did"
            raise ServiceError(unknown.format(why=why), fate_unknown=True)
        return choice.execution

    def wait(
        self,
        execution_id: str,
        *,
        timeout: float | None = 600.0,
        poll_interval: float = 2.0,
        max_interval: float = 15.0,
        raise_on_failure: bool = True,
        on_update: Callable[[Execution], None] | None = None,
    ) -> Execution:
        """Poll an execution until it is ``success`` or ``failed``.

        The interval starts at ``poll_interval`` and grows by half each time nothing
        changed, up to ``max_interval``. A poll that fails for a transient reason
        (service error, rate limit, network) is retried; the execution is never lost.

        Raises
        ------
        ExecutionFailed
            When it ended ``failed`` and ``raise_on_failure`` (``.execution`` holds it).
        WaitTimeout
            When ``timeout`` seconds passed first (``.execution`` holds the last state seen).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = poll_interval
        last: Execution | None = None
        while True:
            try:
                current = self.get_execution(execution_id)
            except (ServiceError, RateLimitError) as exc:
                current, pause = last, max(interval, getattr(exc, "retry_after", None) or 0)
            else:
                changed = last is None or current.status != last.status or len(current.images) != len(last.images)
                interval = _transport.next_interval(interval, poll_interval, max_interval, changed=changed)
                pause = interval
                if changed and on_update is not None:
                    on_update(current)
                if current.done:
                    break
            last = current
            if deadline is not None and time.monotonic() + pause > deadline:
                state = last.status if last else "unknown"
                raise WaitTimeout(
                    f"Execution {execution_id} still {state} after {timeout:g} s; it goes on, "
                    f"call wait() again or get_execution() later.",
                    execution=last,
                )
            time.sleep(pause)
        if current.status == FAILED and raise_on_failure:
            reason = current.error or "no reason given"
            raise ExecutionFailed(f"Execution {execution_id} failed: {reason}", execution=current)
        return current
