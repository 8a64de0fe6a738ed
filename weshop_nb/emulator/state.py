"""The emulator's memory: tasks and executions, per account (API key).

An execution's status is a function of time since it was accepted: pending for the
first quarter of its latency, running until the latency has passed (its result images
finishing one by one), then success or failed. Computing it on demand keeps the
emulator free of timers except for callbacks.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .. import contract
from .params import DEFAULT_BATCH, Refusal

WINDOW = contract.QUERY_WINDOW  # a task query returns at most this many recent executions
FAIL_MARKER = "#fail"  # a prompt holding this asks the emulator to fail the execution


@dataclass
class ExecutionRecord:
    id: str
    task_id: str
    params: dict[str, Any]
    accepted_at: float
    latency: float
    fails: bool
    host_url: str
    callback_url: str | None = None
    output: str = "image"  # "video": results carry video + videoPoster (the registry says which)
    segmenting: bool = False  # a Segmenting phase after Pending (the runs API, masked agents)
    last_frame: bool = False  # a video given a last frame: results carry lastFrame too

    @property
    def batch(self) -> int:
        return int(self.params.get("batchCount") or DEFAULT_BATCH)

    def progress(self, now: float) -> tuple[str, int]:
        """(status word, number of finished result images) at ``now``."""
        elapsed = now - self.accepted_at
        if elapsed >= self.latency:
            return ("Failed", 0) if self.fails else ("Success", self.batch)
        start = self.latency * 0.25
        if elapsed < start:
            return "Pending", 0
        if self.segmenting:
            # The mask is cut before any picture is drawn: no results while segmenting.
            if elapsed < self.latency * 0.45:
                return "Segmenting", 0
            start = self.latency * 0.45
        finished = 0 if self.fails else int(self.batch * (elapsed - start) / (self.latency - start))
        return "Running", min(finished, self.batch - 1)

    def change_times(self) -> list[float]:
        """Moments (epoch seconds) when the status word changes."""
        moments = [0.25, 0.45, 1.0] if self.segmenting else [0.25, 1.0]
        return [self.accepted_at + self.latency * share for share in moments]

    def view(self, now: float) -> dict[str, Any]:
        """The execution as a query reply shows it."""
        status, finished = self.progress(now)
        results = []
        if status not in ("Pending", "Segmenting"):
            for slot in range(self.batch):
                if slot < finished:
                    image = f"{self.host_url}files/results/{self.id}-{slot}.png"
                    if self.output == "video":
                        video = f"{self.host_url}files/videos/{self.id}-{slot}.webp"
                        results.append({"status": "Success", "video": video, "videoPoster": image})
                        if self.last_frame:
                            results[-1]["lastFrame"] = f"{self.host_url}files/frames/{self.id}-{slot}.png"
                    else:
                        results.append({"status": "Success", "image": image})
                else:
                    results.append({"status": "Failed" if status == "Failed" else "Running", "image": ""})
        shown: dict[str, Any] = {
            "executionId": self.id,
            "executionTime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.accepted_at)),
            "status": status,
            "params": dict(self.params),
            "result": results,
        }
        if status == "Failed":
            shown["message"] = "Generation failed (the emulator was asked to fail this execution)."
        return shown


def _holds_two(init: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether a run's ``images`` (its input's, else the params' copy) hold a second picture."""
    images = init.get("images") or params.get("images")
    return isinstance(images, list) and len(images) > 1


@dataclass
class TaskRecord:
    id: str
    account: str
    agent_name: str
    agent_version: str
    init_params: dict[str, Any]
    executions: list[ExecutionRecord] = field(default_factory=list)

    def view(self, executions: list[ExecutionRecord], now: float) -> dict[str, Any]:
        # Newest first on purpose: clients must sort by executionTime, not trust position.
        return {
            "agentName": self.agent_name,
            "agentVersion": self.agent_version,
            "initParams": dict(self.init_params),
            "executions": [e.view(now) for e in sorted(executions, key=lambda e: -e.accepted_at)],
        }


class Store:
    """Thread-safe state shared by every request of one emulator."""

    def __init__(self, *, latency: float | tuple[float, float], failure_rate: float, seed: int | None) -> None:
        self._lock = threading.RLock()
        self._rng = random.Random(seed)
        self.latency = latency
        self.failure_rate = failure_rate
        self.tasks: dict[str, TaskRecord] = {}
        self.executions: dict[str, ExecutionRecord] = {}
        self.counters: Counter[str] = Counter()

    def new_id(self) -> str:
        with self._lock:
            return f"{self._rng.getrandbits(128):032x}"

    def _draw_latency(self) -> float:
        if isinstance(self.latency, (tuple, list)):
            low, high = self.latency
            return self._rng.uniform(low, high)
        return float(self.latency)

    def create_task(self, account: str, agent: str, version: str, init: dict[str, Any]) -> TaskRecord:
        task = TaskRecord(self.new_id(), account, agent, version, init)
        with self._lock:
            self.tasks[task.id] = task
            self.counters["tasks_created"] += 1
        return task

    def task(self, account: str, task_id: Any) -> TaskRecord:
        with self._lock:
            task = self.tasks.get(str(task_id)) if isinstance(task_id, (str, int)) else None
        if task is None or task.account != account:
            raise Refusal(f"Task {task_id!r} not found (it never existed or was deleted).", status=404, code=40400)
        return task

    def execute(
        self,
        task: TaskRecord,
        params: dict[str, Any],
        host_url: str,
        callback_url: str | None,
        *,
        segmenting: bool = False,
    ) -> ExecutionRecord:
        spec = contract.spec(task.agent_name)
        with self._lock:
            fails = self._rng.random() < self.failure_rate or FAIL_MARKER in str(params.get("textDescription", ""))
            record = ExecutionRecord(
                id=self.new_id(),
                task_id=task.id,
                params=params,
                accepted_at=time.time(),
                latency=self._draw_latency(),
                fails=fails,
                host_url=host_url,
                callback_url=callback_url,
                output=spec.output if spec else "image",
                segmenting=segmenting,
                last_frame=spec is not None and spec.output == "video" and _holds_two(task.init_params, params),
            )
            task.executions.append(record)
            self.executions[record.id] = record
            self.counters["executions_created"] += 1
        return record

    def execution(self, account: str, execution_id: Any) -> tuple[TaskRecord, ExecutionRecord]:
        with self._lock:
            record = self.executions.get(str(execution_id)) if isinstance(execution_id, (str, int)) else None
            task = self.tasks.get(record.task_id) if record else None
        if record is None or task is None or task.account != account:
            raise Refusal(f"Execution {execution_id!r} not found.", status=404, code=40401)
        return task, record

    def recent(self, task: TaskRecord) -> list[ExecutionRecord]:
        with self._lock:
            return sorted(task.executions, key=lambda e: e.accepted_at)[-WINDOW:]

    def delete(self, task: TaskRecord) -> None:
        with self._lock:
            self.tasks.pop(task.id, None)
            for record in task.executions:
                self.executions.pop(record.id, None)
            self.counters["tasks_deleted"] += 1
