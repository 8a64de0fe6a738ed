"""Layouts and styles shared by the panels' widgets: each distinct look is one widget model.

Every ipywidgets control owns a layout model, and most a style model, made for it unless
it is given one. A saver that keeps the full state of every widget (nbclient keeps about
1.1 KB per layout) then stores the same box dozens of times per panel. Here each distinct
set of layout or style traits is made once per kernel and given to every widget that
looks that way, so a panel's saved state holds a handful of them.

A shared look is never changed in place (every widget wearing it would change):
:func:`restyle` gives one widget the shared look with its traits changed instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, TypeVar

import ipywidgets as widgets

__all__ = ["discard", "layout", "make", "restyle", "show", "style"]

W = TypeVar("W", bound=widgets.Widget)

_looks: dict[tuple[Any, ...], widgets.Widget] = {}
_lock = threading.Lock()
#: The attribute of a shared look holding the traits it was made with.
_TRAITS = "_weshop_shared_traits"


def _shared_look(kind: type[widgets.Widget], traits: dict[str, Any]) -> Any:
    given = {name: value for name, value in traits.items() if value not in ("", None)}  # "" is the default
    key = (kind, *sorted(given.items()))
    with _lock:
        look = _looks.get(key)
        if look is None or look.comm is None:  # first use, or closed (Widget.close_all)
            look = _looks[key] = kind(**given)
            setattr(look, _TRAITS, given)
    return look


def layout(**traits: Any) -> widgets.Layout:
    """The shared layout with these traits (``layout()``: the default box)."""
    return _shared_look(widgets.Layout, traits)


def style(widget_class: type[widgets.Widget], **traits: Any) -> widgets.Widget:
    """The shared style, of the kind ``widget_class`` takes, with these traits."""
    return _shared_look(widget_class.class_traits()["style"].klass, traits)


def make(widget_class: type[W], *args: Any, layout: dict[str, Any] | None = None, **options: Any) -> W:
    """``widget_class(*args, **options)`` wearing shared looks: ``layout`` (a dict of
    traits) and, for widgets with a style, ``style`` (a dict of traits) name them."""
    looks: dict[str, Any] = {"layout": _shared_look(widgets.Layout, layout or {})}
    if "style" in widget_class.class_trait_names():
        looks["style"] = style(widget_class, **(options.pop("style", None) or {}))
    return widget_class(*args, **looks, **options)


def restyle(widget: widgets.Widget, **changes: Any) -> None:
    """Give ``widget`` the shared layout it has with ``changes`` (``display="none"`` hides it)."""
    current = getattr(widget.layout, _TRAITS, {})
    wanted = layout(**{**current, **changes})
    if widget.layout is not wanted:
        widget.layout = wanted


def show(widget: widgets.Widget, visible: bool) -> None:
    """Show or hide ``widget`` (through :func:`restyle`)."""
    restyle(widget, display="" if visible else "none")


def _is_shared(widget: widgets.Widget) -> bool:
    """True for a shared look, which closing a panel's own widgets must leave open."""
    return hasattr(widget, _TRAITS)


def _tree(widget: Any) -> Iterator[Any]:
    """``widget``, its own layout and style, and the same of every descendant (not shared looks)."""
    yield widget
    for part in ("layout", "style"):
        look = getattr(widget, part, None)
        if isinstance(look, widgets.Widget) and not _is_shared(look):
            yield look
    for child in getattr(widget, "children", ()):
        yield from _tree(child)


def discard(*roots: widgets.Widget) -> None:
    """Empty and close ``roots``, their descendants and their own looks (shared looks stay).

    A front-end drops a closed widget's state, but a saver that keeps closed widgets
    (nbclient) keeps their last state: pictures and HTML are emptied first, so what it
    keeps of them is small.
    """
    for widget in [part for root in roots for part in _tree(root)]:
        if isinstance(widget, (widgets.Image, widgets.Video)):
            widget.value = b""
        elif isinstance(widget, widgets.HTML):
            widget.value = ""
        widget.close()
