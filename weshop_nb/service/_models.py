"""What the service sends back, as frozen dataclasses.

Parsing is tolerant of the reference's quirks: statuses in any case (``Success``),
``executionTime`` as ``"YYYY-MM-DD HH:MM:SS"``, numbers sent as strings, missing
optional keys. Every object keeps the dict it came from in ``raw`` so nothing the
service said is lost, even fields this version does not know yet.

Parsing never raises on what the service sends: a field of the wrong kind (an
``executionTime`` that is not a time, ``params`` that is not an object, an image URL
that is a number) is left empty and a sentence saying so goes to the object's
``warnings``. Watcher threads parse every reply, and one bad record must cost that
record a field, not the thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..contract import FAILED, PENDING, RUNNING, SUCCESS, TERMINAL
from ..contract import spec as _agent_spec
from ._fields import identifier as _identifier
from ._fields import integer
from ._fields import mapping as _mapping
from ._fields import parse_time as _parse_time
from ._fields import records as _records
from ._fields import text as _text
from ._fields import url as _url

__all__ = [
    "PENDING",
    "RUNNING",
    "SUCCESS",
    "FAILED",
    "TERMINAL",
    "normalize_status",
    "Result",
    "Execution",
    "Task",
]


_STATUS_WORDS = {
    PENDING: {"pending", "queued", "queue", "waiting", "wait", "init", "created", "submitted"},
    # The runs API's masked agents pass through Segmenting (cutting the mask) before Running.
    RUNNING: {"running", "segmenting", "processing", "generating"},
    SUCCESS: {"success", "succeeded", "successful", "succeed", "done", "completed", "finished"},
    FAILED: {"failed", "fail", "failure", "error", "errored", "cancelled", "canceled"},
}


def normalize_status(value: Any) -> str:
    """Map a service status word to ``pending | running | success | failed``.

    The service capitalises its words and only documents the terminal ones, so any
    unknown word is taken to mean the work is still under way (``running``).
    """
    word = str(value or "").strip().lower()
    for status, words in _STATUS_WORDS.items():
        if word in words:
            return status
    return RUNNING


def _message_of(raw: Mapping[str, Any]) -> str | None:
    for key in ("message", "msg", "errorMessage", "errorMsg", "failReason", "reason"):
        if raw.get(key):
            return str(raw[key])
    return None


@dataclass(frozen=True)
class Result:
    """One result slot of an execution: an image, or a video with a still ``poster``."""

    status: str
    image: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    video: str | None = None
    poster: str | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], warnings: list[str] | None = None) -> Result:
        """A result slot; a URL that is not text becomes None and a sentence in ``warnings``."""
        said = warnings if warnings is not None else []
        return cls(
            status=normalize_status(raw.get("status")),
            image=_url(raw.get("image"), said),
            raw=raw,
            video=_url(raw.get("video"), said),
            poster=_url(raw.get("videoPoster"), said),
        )


@dataclass(frozen=True)
class Execution:
    """One run of a task with one set of parameters, and its results.

    ``power_consumption`` (points this execution costs) and ``power_balance`` (points
    left) are the billing figures a runs-API start returns; None when not known.
    ``agent_name`` is the agent of its task, when the reply named it.
    """

    id: str
    status: str
    params: Mapping[str, Any]
    executed_at: datetime | None
    results: tuple[Result, ...]
    task_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    agent_name: str | None = None
    power_consumption: int | None = None
    power_balance: int | None = None
    #: What could not be read from the service's record (each field left empty), in words.
    warnings: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_api(
        cls, raw: Mapping[str, Any], *, task_id: str | None = None, agent_name: str | None = None
    ) -> Execution:
        """Parse one execution record; never raises (see the module docstring)."""
        warnings: list[str] = []
        return cls(
            id=_identifier(raw, "executionId", warnings),
            status=normalize_status(raw.get("status")),
            params=_mapping(raw, "params", warnings),
            executed_at=_parse_time(raw.get("executionTime"), warnings),
            results=tuple(Result.from_api(r, warnings) for r in _records(raw, "result", warnings)),
            task_id=task_id,
            raw=raw,
            agent_name=agent_name,
            power_consumption=integer(raw.get("powerConsumption")),
            power_balance=integer(raw.get("powerBalanceAmount")),
            warnings=tuple(warnings),
        )

    @property
    def done(self) -> bool:
        """True once the execution is ``success`` or ``failed``."""
        return self.status in TERMINAL

    @property
    def images(self) -> list[str]:
        """URLs of the result images that succeeded, in the service's order."""
        return [r.image for r in self.results if r.image and r.status == SUCCESS]

    @property
    def videos(self) -> list[str]:
        """URLs of the result videos that succeeded, in the service's order."""
        return [r.video for r in self.results if r.video and r.status == SUCCESS]

    @property
    def posters(self) -> list[str | None]:
        """The still image of each video in :attr:`videos` (None where the service sent none)."""
        return [r.poster for r in self.results if r.video and r.status == SUCCESS]

    @property
    def stills(self) -> list[str]:
        """What shows each result as a picture: the images, then each video's poster (the video without one)."""
        return [*self.images, *(poster or video for video, poster in zip(self.videos, self.posters, strict=True))]

    @property
    def media(self) -> str | None:
        """``"image"`` or ``"video"``: what this execution makes (by its agent, else by its results)."""
        spec = _agent_spec(self.agent_name) if self.agent_name else None
        if spec is not None:
            return spec.output
        if any(r.video for r in self.results):
            return "video"
        return "image" if any(r.image for r in self.results) else None

    @property
    def error(self) -> str | None:
        """The service's reason for a failure, when it gave one."""
        return _message_of(self.raw)


def _by_time(executions: Iterable[Execution]) -> tuple[Execution, ...]:
    # Oldest first, newest last; list position from the service means nothing.
    return tuple(sorted(executions, key=lambda e: e.executed_at or datetime.min))


@dataclass(frozen=True)
class Task:
    """A task: one agent, one source image, and its most recent executions (at most 20)."""

    id: str
    agent_name: str | None
    agent_version: str | None
    init_params: Mapping[str, Any]
    executions: tuple[Execution, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: What could not be read from the task's own fields, in words (executions keep their own).
    warnings: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], *, task_id: str) -> Task:
        """Parse a task query reply; never raises (see the module docstring)."""
        warnings: list[str] = []
        task_id = _identifier(raw, "taskId", warnings) or str(task_id)
        agent = _text(raw.get("agentName"))
        executions = (
            Execution.from_api(e, task_id=task_id, agent_name=agent) for e in _records(raw, "executions", warnings)
        )
        return cls(
            id=task_id,
            agent_name=_text(raw.get("agentName")),
            agent_version=_text(raw.get("agentVersion")),
            init_params=_mapping(raw, "initParams", warnings),
            executions=_by_time(executions),
            raw=raw,
            warnings=tuple(warnings),
        )

    @property
    def name(self) -> str | None:
        """The ``taskName`` given at creation, if any."""
        return self.init_params.get("taskName")

    @property
    def latest(self) -> Execution | None:
        """The most recent execution by ``executionTime``, or None."""
        return self.executions[-1] if self.executions else None

    def execution(self, execution_id: str) -> Execution | None:
        """The execution with this id among the ones the service returned, or None."""
        return next((e for e in self.executions if e.id == str(execution_id)), None)
