"""Choosing the source pictures: files on the kernel's machine, or from the user's own.

An ipyfilechooser ``FileChooser`` browses the kernel's files (filtered to png, jpg, jpeg,
webp), made when *Browse* is first clicked (it is some thirty widgets, which a saved
notebook would otherwise keep for every picker); a ``FileUpload`` takes a file from the
user's computer (the only way on Binder), several at once.
Either way each picture is previewed at once and checked against the upload rules
locally; a broken rule is shown in plain words, and :attr:`SourcePicker.image` stays
``None`` until a picture is valid. Every valid picture chosen since the last
:meth:`~SourcePicker.clear` is kept in :attr:`SourcePicker.images`: the studio launches
them as one set (a garment set, one task per picture).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets
from ipyfilechooser import FileChooser

from ...service._errors import ImageValidationError
from ...service._images import ImageFile, check_upload_rules, embed
from ...work._html import picture_mime, pixels
from ._shared import layout, make, show

_PREVIEW_WIDTH = 160
PATTERNS = ["*.png", "*.jpg", "*.jpeg", "*.webp", "*.PNG", "*.JPG", "*.JPEG", "*.WEBP"]


def _read(path: str) -> bytes:
    with open(os.path.expanduser(path), "rb") as handle:
        return handle.read()


class SourcePicker(widgets.VBox):
    """The source picture of a task, checked as soon as it is chosen.

    Attributes
    ----------
    image : ImageFile or None
        The first chosen picture that passes every upload rule (the one previewed first).
    images : dict of str to ImageFile
        Every valid picture chosen, by the name the user knows it by (the absolute path of a
        file on the kernel's machine, the file name of an upload), in the order chosen.
    error : str or None
        Why the last picture chosen was refused (None when it passed, or none was chosen).
    chooser : FileChooser or None
        The browser of the kernel's files, once *Browse* was clicked (:meth:`browse`).
    """

    def __init__(self, start_dir: str | None = None, *, label: str = "a garment photo", several: bool = False) -> None:
        #: Whether pictures chosen add up to a set (the studio's source); otherwise each choice
        #: replaces the last, a refused one included (an agent's second picture).
        self.several = several
        self.image: ImageFile | None = None
        self.images: dict[str, ImageFile] = {}
        self.error: str | None = None
        self._callbacks: list[Callable[[SourcePicker], None]] = []
        self.start_dir = start_dir
        self.chooser: FileChooser | None = None
        self.browse_button = make(
            widgets.Button, description="Browse the kernel's files", icon="folder-open", layout={"width": "auto"}
        )
        self.browse_button.on_click(lambda _: self.browse())
        self.upload = make(
            widgets.FileUpload,
            accept="image/png,image/jpeg,image/webp",
            multiple=several,
            # The front-end adds the count: "Pictures from your computer (2)".
            description="Pictures from your computer" if several else "Picture from your computer",
            icon="upload",
            layout={"width": "auto"},
        )
        self.upload.observe(self._on_upload_value, names="value")
        self.clear_button = make(
            widgets.Button, description="Clear", icon="times", layout={"width": "auto", "display": "none"}
        )
        self.clear_button.on_click(lambda _: self.clear())
        self.preview = make(widgets.Image, format="webp", width=_PREVIEW_WIDTH, layout={"display": "none"})
        self.label = make(widgets.HTML)
        self.message = make(widgets.HTML)
        self.describe(label)
        # Few boxes: each is state a saved notebook keeps (the chooser goes above the row).
        self._row = make(widgets.HBox, [self.browse_button, self.upload, self.clear_button, self.preview])
        super().__init__([self.label, self._row, self.message], layout=layout())

    def browse(self) -> FileChooser:
        """Show the browser of the kernel's files (made on the first call), where *Browse* was."""
        if self.chooser is None:
            self.chooser = FileChooser(
                self.start_dir or os.getcwd(),
                title="On the kernel's machine",
                filter_pattern=PATTERNS,
                layout={"width": "420px"},
            )
            self.chooser.register_callback(self._on_chooser_select)
            self._row.children = tuple(w for w in self._row.children if w is not self.browse_button)
            self.children = (self.label, self.chooser, self._row, self.message)
            self.browse_button.close()
        return self.chooser

    def describe(self, label: str) -> None:
        """Say what picture this is (the agent's input it fills); the message follows until one is chosen."""
        self.label.value = f"<b>{escape(label)}</b>"
        if self.image is None and self.error is None:
            self.message.value = "png, jpeg or webp, both sides above 512 px."

    def on_change(self, callback: Callable[[SourcePicker], None], remove: bool = False) -> None:
        """Call ``callback(picker)`` whenever the chosen picture changes (valid or not)."""
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    def clear(self) -> None:
        """Forget every chosen picture (the next ones start a new set)."""
        self.image, self.images, self.error = None, {}, None
        show(self.preview, False)
        show(self.clear_button, False)
        self.message.value = "png, jpeg or webp, both sides above 512 px."
        for callback in list(self._callbacks):
            callback(self)

    def _set_words(self) -> str:
        """What the set holds, once it holds more than one picture (HTML, after the last picture's line)."""
        count = len(self.images)
        return f" · {count} pictures chosen: one task each, launched as one set." if count > 1 else ""

    def choose_paths(self, paths: list[str]) -> None:
        """Choose several files on the kernel's machine: each is checked and added to the set."""
        for path in paths:
            self.choose_path(path)

    def choose_path(self, path: str) -> None:
        """Choose a file on the kernel's machine, as a click in the file chooser would (added to the set)."""
        folder, name = os.path.split(os.path.abspath(os.path.expanduser(path)))
        if self.chooser is not None:  # shown: it shows the file as chosen
            self.chooser.reset(path=folder, filename=name)
            # reset() only fills the form; applying it shows the file as chosen, as a click on Select does.
            apply = getattr(self.chooser, "_apply_selection", None)
            if apply is not None:
                apply()
        self._load(lambda: _read(path), name, key=os.path.join(folder, name))

    def choose_bytes(self, data: bytes, name: str = "upload") -> None:
        """Choose a picture given as bytes, as an upload from the user's computer would."""
        self._load(lambda: data, name)

    def _on_chooser_select(self, chooser: Any) -> None:
        if chooser.selected:
            self.choose_path(chooser.selected)

    def _on_upload_value(self, change: dict[str, Any]) -> None:
        for item in change["new"] or ():
            self.choose_bytes(bytes(item["content"]), item.get("name", "upload"))

    def _load(self, read: Callable[[], bytes], name: str, key: str | None = None) -> None:
        if not self.several:
            self.image, self.images = None, {}
        try:
            data = read()
            image = check_upload_rules(data, name)
        except (ImageValidationError, OSError) as exc:
            self.error = str(exc)
            if not self.images:
                self.image = None
                show(self.preview, False)
            said = self._set_words()
            self.message.value = f'<span style="color:#cf222e">✗ {escape(name)}: {escape(str(exc))}</span>{said}'
        else:
            self.error = None
            self.images[key or name] = image
            if self.image is None or len(self.images) == 1:
                self.image = image
                picture = embed(data, pixels(_PREVIEW_WIDTH))
                self.preview.format, self.preview.value = picture_mime(picture).split("/")[1], picture
                show(self.preview, True)
            show(self.clear_button, bool(self.images))
            self.message.value = (
                f'<span style="color:#1a7f37">✓ {escape(name)}: {image.format}, {image.width}x{image.height}, '
                f"{len(data) / 1024:.0f} KB</span>{self._set_words()}"
            )
        for callback in list(self._callbacks):
            callback(self)
