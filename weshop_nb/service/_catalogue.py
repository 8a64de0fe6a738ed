"""What an agent offers (its catalogue of scenes, fashion models and backgrounds), and cost estimates.

Frozen dataclasses that keep the raw dict, parsed as tolerantly as the models of
:mod:`._models`. A name or id is resolved case-insensitively; a miss lists the valid ones.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._errors import InvalidRequestError
from ._fields import integer

__all__ = ["Tag", "Location", "FashionModel", "Background", "AgentInfo", "Estimate"]


def _entry_id(value: Any) -> int | Any:
    # Ids are numbers, often sent as text; an id that is not a number is kept as sent.
    number = integer(value)
    return value if number is None else number


@dataclass(frozen=True)
class Tag:
    """A label on a location or a fashion model (``Film grain``, ``Smiling``)."""

    id: int
    name: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Tag:
        return cls(id=_entry_id(raw.get("id")), name=str(raw.get("name", "")))


_E = TypeVar("_E", bound="_Entry")


@dataclass(frozen=True)
class _Entry:
    """What every catalogue entry has: an id to pass, a name, a picture, categories and tags.

    :meth:`from_api` is the one parsing of a catalogue entry; a kind with more fields
    reads them in :meth:`_more`.
    """

    id: int
    name: str
    image: str | None
    categories: tuple[str, ...] = ()
    tags: tuple[Tag, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls: type[_E], raw: Mapping[str, Any]) -> _E:
        """Parse one entry of the catalogue as the service sends it."""
        return cls(
            id=_entry_id(raw.get("id")),
            name=str(raw.get("name", "")),
            image=raw.get("image") or None,
            categories=tuple(str(c) for c in raw.get("categories") or ()),
            tags=tuple(Tag.from_api(t) for t in raw.get("tags") or () if isinstance(t, Mapping)),
            raw=raw,
            **cls._more(raw),
        )

    @classmethod
    def _more(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Location(_Entry):
    """A preset scene (background) to pass as ``locationId``."""


@dataclass(frozen=True)
class FashionModel(_Entry):
    """A preset fashion model to pass as ``fashionModelId``."""

    profile: Mapping[str, Any] = field(default_factory=dict)
    type: str | None = None

    @classmethod
    def _more(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {"profile": dict(raw.get("profile") or {}), "type": raw.get("type")}

    @property
    def price_description(self) -> str | None:
        """The profile's extra-cost note (``Additional cost of 5 points / image``), if any."""
        return self.profile.get("priceDescription")


@dataclass(frozen=True)
class Background(_Entry):
    """A preset background (removeBG) to pass as ``backgroundId``."""


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
            points=integer(raw.get("totalPower")),
            note="the service's estimate" if raw.get("isEstimated", True) else "the service's price",
            enough=None if not isinstance(short, bool) else not short,
            estimated=bool(raw.get("isEstimated", True)),
            raw=raw,
        )

    def __str__(self) -> str:
        figure = "unknown" if self.points is None else f"{self.points} points"
        return f"{figure} ({self.note})"
