"""One agent's form, built from the registry: a widget per parameter, a picker per extra image.

An agent whose main input is a list of several pictures in a fixed order (the person,
then the garment) gets a picker for each place after the first: the studio's source
picture is the first.

What each parameter becomes follows from its kind in :mod:`weshop_nb.contract`: a
dropdown of the allowed values (with "(not set)" when it may be left out), a number
box, a checkbox, or a text box (with the values a rule allows offered as suggestions).
Nothing here checks a value: the registry's rules are checked on the whole launch by the
launch plan, and the form only says which widget holds which key (:meth:`AgentForm.mark`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from ...contract import AgentSpec, AllowedWhen, ImageInput, Param
from ...service._images import ImageFile
from ._shared import layout, make, restyle
from ._upload import SourcePicker

NOT_SET = "(not set)"
_STYLE = {"description_width": "150px"}
_LAYOUT = {"width": "430px"}
_BROKEN = "1px solid #cf222e"
_HINTS = {"#rrggbb": "e.g. #ffffff", "url": "an http(s) URL", "seconds": "e.g. 5s"}


#: Characters of a placeholder that fit in a field's box beside its label.
PLACEHOLDER_FITS = 36


def fit_words(text: str, limit: int = PLACEHOLDER_FITS) -> str:
    """``text`` shortened to ``limit`` characters at a word's end, with "…" (a box cuts mid-word)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:(")
    return cut + "…"


def tooltip(param: Param) -> str:
    """What a field's tooltip says: the service's name for it, then its doc."""
    return f"{param.name}: {param.doc}" if param.doc else param.name


def _range(param: Param) -> str:
    low, high = param.minimum, param.maximum
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"{low} or more"
    return f"up to {high}" if high is not None else "a whole number"


class Field:
    """One parameter: the widget that shows it and the value it sends (None: left out).

    Parameters
    ----------
    param : Param
        The registry's parameter.
    choices : sequence of (label, value), optional
        Entries of the agent's catalogue to choose from (say, removeBG's backgrounds),
        for an integer parameter that holds a catalogue id.
    """

    def __init__(self, param: Param, choices: Sequence[tuple[str, Any]] | None = None) -> None:
        self.param = param
        self.rules: tuple[AllowedWhen, ...] = ()
        # The parameter's words for people; the service's name is in the tooltip.
        label = param.label + (" *" if param.required else "")
        common: dict[str, Any] = {"description": label, "tooltip": tooltip(param), "style": _STYLE, "layout": _LAYOUT}
        self.widget: widgets.ValueWidget
        if param.kind == "enum" or choices is not None:
            options = list(choices) if choices is not None else [(c, c) for c in param.choices]
            first = param.default if param.default is not None else (options[0][1] if param.required else "")
            if not param.required and param.default is None:
                # "" rather than None: a Dropdown whose value is None shows no option at all.
                options.insert(0, (NOT_SET, ""))
            self.widget = make(widgets.Dropdown, options=options, value=first, **common)
        elif param.kind == "bool":
            # Unchecked leaves the flag out (the service's default) rather than sending false.
            self.widget = make(widgets.Checkbox, value=bool(param.default), indent=True, **common)
        elif param.kind == "int" and param.default is not None:
            self.widget = make(widgets.IntText, value=param.default, **common)
        else:
            # Text, so that a number without a documented default can be left blank (not sent);
            # what is typed is checked by the registry (a non-number says it must be an integer).
            hint = _range(param) if param.kind == "int" else _HINTS.get(param.pattern or "", param.doc)
            value = "" if param.default is None else str(param.default)
            self.widget = make(
                widgets.Combobox, value=value, placeholder=fit_words(hint), ensure_option=False, **common
            )

    @property
    def name(self) -> str:
        return self.param.name

    def value(self) -> Any:
        """What this field sends, typed by the parameter's kind; None when nothing is given."""
        value = self.widget.value
        if isinstance(self.widget, widgets.Checkbox):
            return True if value else None
        if not isinstance(self.widget, widgets.Combobox):
            return None if value == "" else value
        text = value.strip()
        if not text:
            return None
        if self.param.kind == "int":
            try:
                return int(text)
            except ValueError:
                return text  # sent to the checks as typed: the registry names the rule
        return text

    def suggest(self, values: Mapping[str, Any]) -> None:
        """Offer the values the rules allow for what the other fields now hold."""
        allowed = next((r.allowed for r in self.rules if values.get(r.when) in r.values), ())
        if isinstance(self.widget, widgets.Combobox) and tuple(self.widget.options) != allowed:
            self.widget.options = allowed


class AgentForm(widgets.VBox):
    """The fields of one agent, and pickers for its images beyond the main one.

    Parameters
    ----------
    spec : AgentSpec
        The agent.
    skip : collection of str
        Parameters shown elsewhere (the prompts box, the catalogue lists, the batch box).
    catalogue : mapping, optional
        ``{parameter: [(label, id), ...]}`` for integer parameters chosen from the catalogue.
    start_dir : str, optional
        Where the extra images' file choosers start.
    """

    def __init__(
        self,
        spec: AgentSpec,
        *,
        skip: Collection[str] = (),
        catalogue: Mapping[str, Sequence[tuple[str, Any]]] | None = None,
        start_dir: str | None = None,
    ) -> None:
        self.spec = spec
        self._callbacks: list[Callable[[AgentForm], None]] = []
        catalogue = catalogue or {}
        self.fields = {p.name: Field(p, catalogue.get(p.name)) for p in spec.params if p.name not in skip}
        for rule in spec.rules:
            if isinstance(rule, AllowedWhen) and rule.key in self.fields:
                field = self.fields[rule.key]
                field.rules = (*field.rules, rule)
        self.pickers = {image.name: self._picker(image, start_dir) for image in self.extra_inputs(spec)}
        for key, need, place in self.further_places(spec):
            self.pickers[key] = SourcePicker(start_dir, label=f"{key} ({need}): {place}")
        for field in self.fields.values():
            field.widget.observe(self._on_field_value, names="value")
        for picker in self.pickers.values():
            picker.on_change(lambda _: self._changed())
        grid = make(
            widgets.GridBox,
            [f.widget for f in self.fields.values()],
            layout={"grid_template_columns": "repeat(2, 440px)", "grid_gap": "2px 12px"},
        )
        super().__init__([grid, *self.pickers.values()], layout=layout())
        self._suggest()

    @staticmethod
    def extra_inputs(spec: AgentSpec) -> list[ImageInput]:
        """The images asked for besides the main one (copies of another input are filled from it)."""
        main = spec.main_input
        return [i for i in spec.inputs if i.name != main.name and i.copy_of is None]

    @staticmethod
    def further_places(spec: AgentSpec) -> list[tuple[str, str, str]]:
        """``(key, "required" or "optional", what it holds)`` per place of the main list after the first.

        ``key`` is ``images[1]``: the picker's name; its picture goes to the list ``images``.
        A place is required when the list needs at least that many pictures.
        """
        main = spec.main_input
        if not main.multiple:
            return []
        need = main.min_count if main.required and main.min_count is not None else 0
        return [
            (f"{main.name}[{index}]", "required" if index < need else "optional", place)
            for index, place in enumerate(main.places)
            if index > 0
        ]

    @staticmethod
    def _picker(image: ImageInput, start_dir: str | None) -> SourcePicker:
        need = "required" if image.required else "optional"
        words = f"{image.doc[:1].upper()}{image.doc[1:]}" if image.doc else image.name
        return SourcePicker(start_dir, label=f"{words} ({image.name}, {need})")

    def on_change(self, callback: Callable[[AgentForm], None]) -> None:
        """Call ``callback(form)`` whenever a field or an image changes."""
        self._callbacks.append(callback)

    def _changed(self) -> None:
        for callback in list(self._callbacks):
            callback(self)

    def _on_field_value(self, change: dict[str, Any]) -> None:
        self._suggest()
        self._changed()

    def _suggest(self) -> None:
        values = {**self.spec.defaults(), **self.values()}
        for field in self.fields.values():
            field.suggest(values)

    def values(self) -> dict[str, Any]:
        """The parameters the fields send (those left out are not in it)."""
        found = {name: field.value() for name, field in self.fields.items()}
        return {name: value for name, value in found.items() if value is not None}

    def images(self) -> dict[str, ImageFile]:
        """The extra images chosen and valid, by input name.

        A further place of the main list (``images[1]``) is given under the list's name,
        which the launch appends after the source picture. The registry's lists have at
        most two places, so one picture per name; :meth:`image_pairs` keeps every one.
        """
        return dict(self.image_pairs())

    def image_pairs(self) -> list[tuple[str, ImageFile]]:
        """``(input name, picture)`` per extra image chosen and valid, places of a list in order."""
        return [
            (name.split("[", 1)[0], picker.image) for name, picker in self.pickers.items() if picker.image is not None
        ]

    def refused_images(self) -> list[tuple[str, str]]:
        """``(input, why)`` for extra images chosen but refused by an upload rule (they would be left out)."""
        return [(name, f"{name}: {picker.error}") for name, picker in self.pickers.items() if picker.error]

    def mark(self, keys: Collection[str]) -> None:
        """Outline the fields whose keys a broken rule names; clear the others."""
        for name, field in self.fields.items():
            restyle(field.widget, border=_BROKEN if name in keys else "")
