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

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from ..contract import FAILED, PENDING, RUNNING, SUCCESS, TERMINAL
from ..contract import spec as _agent_spec
from ._errors import InvalidRequestError
from ._fields import identifier as _identifier
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
    "Estimate",
    "Task",
    "Tag",
    "Location",
    "FashionModel",
    "Background",
    "AgentInfo",
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


def _as_int_or_none(value: Any) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError, OverflowError):
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
            power_consumption=_as_int_or_none(raw.get("powerConsumption")),
            power_balance=_as_int_or_none(raw.get("powerBalanceAmount")),
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


@dataclass(frozen=True)
class Background:
    """A preset background (removeBG) to pass as ``backgroundId``."""

    id: int
    name: str
    image: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    categories: tuple[str, ...] = ()
    tags: tuple[Tag, ...] = ()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Background:
        return cls(
            id=_as_int(raw.get("id")),
            name=str(raw.get("name", "")),
            image=raw.get("image") or None,
            raw=raw,
            categories=tuple(str(c) for c in raw.get("categories") or ()),
            tags=_tags(raw),
        )


_Choice = TypeVar("_Choice", Location, FashionModel, Background)


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


def _entries(raw: Mapping[str, Any], key: str, kind: type[_Choice]) -> tuple[_Choice, ...]:
    return tuple(kind.from_api(x) for x in raw.get(key) or () if isinstance(x, Mapping))


@dataclass(frozen=True)
class AgentInfo:
    """What an agent version offers: its locations, fashion models and (removeBG) backgrounds."""

    agent_name: str
    agent_version: str
    locations: tuple[Location, ...] = ()
    fashion_models: tuple[FashionModel, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    backgrounds: tuple[Background, ...] = ()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], *, agent_name: str, agent_version: str) -> AgentInfo:
        return cls(
            agent_name=str(raw.get("agentName") or agent_name),
            agent_version=str(raw.get("agentVersion") or agent_version),
            locations=_entries(raw, "locations", Location),
            fashion_models=_entries(raw, "fashionModels", FashionModel),
            raw=raw,
            backgrounds=_entries(raw, "backgrounds", Background),
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

    def background(self, key: int | str) -> Background:
        """The background with this id or name (case-insensitive); see :meth:`location`."""
        return _find(self.backgrounds, key, "background")


@dataclass(frozen=True)
class Estimate:
    """What a run would cost, in the service's points; nothing is created or billed to know it.

    ``points`` is the total (None when the API cannot tell: the v1 API has no estimate);
    ``extra`` the points known from the catalogue's price notes (a preset fashion model's
    "Additional cost of 5 points / image"), already in ``points`` when that is known;
    ``enough`` is False when the balance is short (None when not known); ``note`` says in
    words where the figure comes from.
    """

    points: int | None
    note: str
    extra: int | None = None
    enough: bool | None = None
    estimated: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Estimate:
        short = raw.get("paidPowerNotEnough")
        return cls(
            points=_as_int_or_none(raw.get("totalPower")),
            note="the service's estimate" if raw.get("isEstimated", True) else "the service's price",
            enough=None if not isinstance(short, bool) else not short,
            estimated=bool(raw.get("isEstimated", True)),
            raw=raw,
        )

    def __str__(self) -> str:
        figure = "unknown" if self.points is None else f"{self.points} points"
        return f"{figure} ({self.note})"
