"""Choosing from an agent's catalogue (locations, fashion models) by category and tag."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["filter_catalogue", "catalogue_choices"]


def filter_catalogue(entries: Sequence[Any], category: str | None, tag: str | None) -> list[Any]:
    """Entries in ``category`` and carrying ``tag`` (both case-insensitive, both optional)."""
    chosen = list(entries)
    if category:
        chosen = [e for e in chosen if category.casefold() in (c.casefold() for c in e.categories)]
    if tag:
        chosen = [e for e in chosen if tag.casefold() in (t.name.casefold() for t in e.tags)]
    return chosen


def catalogue_choices(entries: Sequence[Any]) -> str:
    """The categories and tags of ``entries``, as a sentence for "none match" messages."""
    categories = sorted({c for e in entries for c in e.categories})
    tags = sorted({t.name for e in entries for t in e.tags})
    return f"categories: {', '.join(categories) or 'none'}; tags: {', '.join(tags) or 'none'}."
