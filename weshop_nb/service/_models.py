"""What the service sends back, as frozen dataclasses.

Parsing is tolerant of the reference's quirks: statuses in any case (``Success``),
``executionTime`` as ``"YYYY-MM-DD HH:MM:SS"``, numbers sent as strings, missing
optional keys. Every object keeps the dict it came from in ``raw`` so nothing the
service said is lost, even fields this version does not know yet.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from ..contract import FAILED, PENDING, RUNNING, SUCCESS, TERMINAL
from ._errors import InvalidRequestError

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
    "Tag",
    "Location",
    "FashionModel",
    "AgentInfo",
]


_STATUS_WORDS = {
    PENDING: {"pending", "queued", "queue", "waiting", "wait", "init", "created", "submitted"},
    SUCCESS: {"success", "succeeded", "successful", "succeed", "done", "completed", "finished"},
    FAILED: {"failed", "fail", "failure", "error", "errored", "cancelled", "canceled"},
}
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")


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


def _parse_time(value: Any) -> datetime | None:
    """The service's ``executionTime`` (its local clock, no zone) as a naive datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        # Epoch seconds or milliseconds; the reference uses text, but be forgiving.
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds)
    text = str(value).strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _as_int(value: Any) -> int | Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _message_of(raw: Mapping[str, Any]) -> str | None:
    for key in ("message", "msg", "errorMessage", "errorMsg", "failReason", "reason"):
        if raw.get(key):
            return str(raw[key])
    return None


@dataclass(frozen=True)
class Result:
    """One image slot of an execution."""

    status: str
    image: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Result:
        return cls(status=normalize_status(raw.get("status")), image=raw.get("image") or None, raw=raw)


@dataclass(frozen=True)
class Execution:
    """One run of a task with one set of parameters, and its result images."""

    id: str
    status: str
    params: Mapping[str, Any]
    executed_at: datetime | None
    results: tuple[Result, ...]
    task_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], *, task_id: str | None = None) -> Execution:
        return cls(
            id=str(raw.get("executionId", "")),
            status=normalize_status(raw.get("status")),
            params=dict(raw.get("params") or {}),
            executed_at=_parse_time(raw.get("executionTime")),
            results=tuple(Result.from_api(r) for r in raw.get("result") or () if isinstance(r, Mapping)),
            task_id=task_id,
            raw=raw,
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

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], *, task_id: str) -> Task:
        task_id = str(raw.get("taskId") or task_id)
        executions = (
            Execution.from_api(e, task_id=task_id) for e in raw.get("executions") or () if isinstance(e, Mapping)
        )
        return cls(
            id=task_id,
            agent_name=raw.get("agentName"),
            agent_version=raw.get("agentVersion"),
            init_params=dict(raw.get("initParams") or {}),
            executions=_by_time(executions),
            raw=raw,
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


@dataclass(frozen=True)
class Tag:
    """A label on a location or a fashion model (``Film grain``, ``Smiling``)."""

    id: int
    name: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Tag:
        return cls(id=_as_int(raw.get("id")), name=str(raw.get("name", "")))


def _tags(raw: Mapping[str, Any]) -> tuple[Tag, ...]:
    return tuple(Tag.from_api(t) for t in raw.get("tags") or () if isinstance(t, Mapping))


@dataclass(frozen=True)
class Location:
    """A preset scene (background) to pass as ``locationId``."""

    id: int
    name: str
    image: str | None
    categories: tuple[str, ...] = ()
    tags: tuple[Tag, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Location:
        return cls(
            id=_as_int(raw.get("id")),
            name=str(raw.get("name", "")),
            image=raw.get("image") or None,
            categories=tuple(str(c) for c in raw.get("categories") or ()),
            tags=_tags(raw),
            raw=raw,
        )


@dataclass(frozen=True)
class FashionModel:
    """A preset fashion model to pass as ``fashionModelId``."""

    id: int
    name: str
    image: str | None
    profile: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[Tag, ...] = ()
    type: str | None = None
    categories: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> FashionModel:
        return cls(
            id=_as_int(raw.get("id")),
            name=str(raw.get("name", "")),
            image=raw.get("image") or None,
            profile=dict(raw.get("profile") or {}),
            tags=_tags(raw),
            type=raw.get("type"),
            categories=tuple(str(c) for c in raw.get("categories") or ()),
            raw=raw,
        )

    @property
    def price_description(self) -> str | None:
        """The profile's extra-cost note (``Additional cost of 5 points / image``), if any."""
        return self.profile.get("priceDescription")


_Choice = TypeVar("_Choice", Location, FashionModel)


def _find(choices: tuple[_Choice, ...], key: Any, kind: str) -> _Choice:
    """Resolve an id or a case-insensitive name; a miss lists close and valid names."""
    text = str(key).strip()
    for choice in choices:
        if str(choice.id) == text or choice.name.casefold() == text.casefold():
            return choice
    names = [c.name for c in choices]
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(n) for n in close)}?" if close else ""
    valid = ", ".join(f"{c.name} ({c.id})" for c in choices) or "none"
    raise InvalidRequestError(f"Unknown {kind} {text!r}.{hint} Valid {kind}s: {valid}.")


@dataclass(frozen=True)
class AgentInfo:
    """What an agent version offers: its locations and fashion models."""

    agent_name: str
    agent_version: str
    locations: tuple[Location, ...] = ()
    fashion_models: tuple[FashionModel, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], *, agent_name: str, agent_version: str) -> AgentInfo:
        return cls(
            agent_name=str(raw.get("agentName") or agent_name),
            agent_version=str(raw.get("agentVersion") or agent_version),
            locations=tuple(Location.from_api(x) for x in raw.get("locations") or () if isinstance(x, Mapping)),
            fashion_models=tuple(
                FashionModel.from_api(x) for x in raw.get("fashionModels") or () if isinstance(x, Mapping)
            ),
            raw=raw,
        )

    def location(self, key: int | str) -> Location:
        """The location with this id or name (case-insensitive).

        Raises
        ------
        InvalidRequestError
            When nothing matches; the message lists close matches and every valid name.
        """
        return _find(self.locations, key, "location")

    def fashion_model(self, key: int | str) -> FashionModel:
        """The fashion model with this id or name (case-insensitive); see :meth:`location`."""
        return _find(self.fashion_models, key, "fashion model")
