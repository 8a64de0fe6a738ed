"""Which executions are ours: finding the one an execute started when its reply was lost.

An execute whose reply is lost (a reset, a timeout, a 5xx after the work) may or may not
have started an execution, and the service's reply carried the only copy of its id. The
client finds out by reading the task and looking for an execution with the same
parameters that was not there before it sent. That answer is unambiguous when

1. no other execute of this client with the same parameters on the same task is in
   flight: :meth:`Ledger.slot` lets one through at a time (a launch never needs to wait
   there, since it never puts two identical parameter sets on one task);
2. the client knows what was on the task before it sent: the slot keeps a snapshot of
   the ids seen so far, and ids learnt later (a watcher's query that happens to show the
   new execution) do not count as "before";
3. no execution this client already owns is adopted again (:meth:`Ledger.claim`), and two
   reconciliations on one task never run at once (:meth:`Ledger.reconciling`).

The case no client can tell apart: another program (another kernel, another client
object) executes the same parameters on the same task at the same moment, and a reply is
lost. Both new executions look alike in every field the service shows. The client then
adopts the newest, never adopts the others later, sends nothing again (so nothing is
billed twice) and says so in the adopted execution's ``warnings``. At worst the other
program's picture is shown here and ours only in the history. Launches avoid it by giving
every sweep tasks of its own; it can only happen on a task two programs share
(``%%weshop run --task ID`` from two kernels at once).

A query shows only the task's 20 newest executions. When a task holds more than that,
ours may have been pushed out of the window before we looked: then the ledger says it
cannot tell, and the client reports the execute as "may or may not have started"
instead of sending it again.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..contract import QUERY_WINDOW
from ._models import Execution

__all__ = ["Ledger", "Slot", "Choice", "params_key"]


def _plain(value: Any) -> Any:
    # The service may echo 6000401 as "6000401", 1.0 as 1, or True as "true": compare as text.
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None if value is None else str(value)


def params_key(params: Mapping[str, Any]) -> str:
    """One text per parameter set: equal for parameters the service treats as equal."""
    return json.dumps(_plain(params), sort_keys=True, separators=(",", ":"))


@dataclass
class Slot:
    """One execute in flight: its task, its parameters, and what was on the task before it was sent."""

    task_id: str
    key: str
    before: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Choice:
    """What a reconciliation found: the execution to adopt, or None; ``hidden`` when it cannot tell."""

    execution: Execution | None = None
    hidden: bool = False


class Ledger:
    """The executions one client has seen and started, per task; thread-safe."""

    def __init__(self, window: int = QUERY_WINDOW) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._seen: dict[str, set[str]] = {}
        self._ours: set[str] = set()
        self._task_of: dict[str, str] = {}
        self._slots: dict[tuple[str, str], list[Any]] = {}  # (task, key) -> [lock, users]
        self._reconciling: dict[str, threading.Lock] = {}

    def knows(self, task_id: str) -> bool:
        """True once the client has seen the task (created it, or read it)."""
        with self._lock:
            return task_id in self._seen

    def see(self, task_id: str, execution_ids: Iterable[str] = ()) -> None:
        """The service showed these executions of ``task_id``."""
        with self._lock:
            seen = self._seen.setdefault(task_id, set())
            for execution_id in execution_ids:
                seen.add(execution_id)
                self._task_of[execution_id] = task_id

    def claim(self, task_id: str, execution_id: str) -> None:
        """This client started ``execution_id``: it is never adopted by another execute."""
        self.see(task_id, [execution_id])
        with self._lock:
            self._ours.add(execution_id)

    def task_of(self, execution_id: str) -> str | None:
        with self._lock:
            return self._task_of.get(execution_id)

    def forget(self, task_id: str) -> None:
        """The task was deleted."""
        with self._lock:
            self._seen.pop(task_id, None)

    @contextlib.contextmanager
    def slot(self, task_id: str, params: Mapping[str, Any]) -> Iterator[Slot]:
        """Hold the one place for an execute of ``params`` on ``task_id``; call :meth:`mark` before sending."""
        key = (task_id, params_key(params))
        with self._lock:
            entry = self._slots.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield Slot(task_id, key[1])
        finally:
            with self._lock:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._slots[key]

    def mark(self, slot: Slot) -> None:
        """Remember what is on the slot's task now, just before the execute is sent."""
        with self._lock:
            slot.before = set(self._seen.get(slot.task_id, ()))

    @contextlib.contextmanager
    def reconciling(self, task_id: str) -> Iterator[None]:
        """One reconciliation at a time per task."""
        with self._lock:
            lock = self._reconciling.setdefault(task_id, threading.Lock())
        with lock:
            yield

    def choose(self, slot: Slot, executions: Sequence[Execution]) -> Choice:
        """The execution the slot's lost execute started, among ``executions`` (a task's window, oldest first)."""
        with self._lock:
            candidates = [
                e
                for e in executions
                if e.id and e.id not in slot.before and e.id not in self._ours and params_key(e.params) == slot.key
            ]
        if not candidates:
            # Nothing new with our parameters. If the whole window is newer than what we
            # knew, ours may be older than all of it and out of sight: say so, do not resend.
            hidden = len(executions) >= self.window and not any(e.id in slot.before for e in executions)
            return Choice(None, hidden=hidden)
        chosen = candidates[-1]
        slot.before.update(e.id for e in candidates)  # the others are never adopted by a later attempt
        self.claim(slot.task_id, chosen.id)
        if len(candidates) > 1:
            note = (
                f"{len(candidates)} executions with these parameters started on task {slot.task_id} at the same "
                "moment and the reply naming ours was lost; another program may be using this task. This is the "
                "newest of them, which may be the other program's."
            )
            chosen = replace(chosen, warnings=(*chosen.warnings, note))
        return Choice(chosen)
