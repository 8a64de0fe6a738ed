"""The blind judge: two pictures side by side, and Left, Tie, Right.

Nothing says which value of the judged column made which picture (the pair's sides are
drawn at random by :class:`~weshop_nb.work._judgement.Judging`); the pictures' titles
are their places, never their URLs, so hovering does not tell either.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ...config import home_dir
from ...service._thumbnails import ThumbnailCache
from ...work import _html as display
from ...work._save import public_fetch
from ._shared import make

if TYPE_CHECKING:
    from ...work._judgement import Judging

__all__ = ["JudgePanel"]

#: CSS width of each picture of the pair.
PICTURE_WIDTH = 300


class JudgePanel(widgets.VBox):
    """Two pictures made alike but for the judged column; a click records the choice and shows the next pair.

    :attr:`left`, :attr:`tie` and :attr:`right` are the buttons (``.click()`` works as a
    person's click); :attr:`judging` is the :class:`Judging` behind the panel.
    """

    def __init__(self, judging: Judging, *, fetch: Any = None) -> None:
        self.judging = judging
        self._thumbnails = ThumbnailCache(fetch or public_fetch(), directory=home_dir() / "thumbnails")
        self.pictures = make(widgets.HTML)
        self.message = make(widgets.HTML)
        self.left = make(widgets.Button, description="◀ Left is better", tooltip="The left picture is better")
        self.tie = make(widgets.Button, description="Tie", tooltip="Neither is better")
        self.right = make(widgets.Button, description="Right is better ▶", tooltip="The right picture is better")
        for button, choice in ((self.left, "left"), (self.tie, "tie"), (self.right, "right")):
            button.on_click(lambda _button, choice=choice: self.choose(choice))
        buttons = make(widgets.HBox, [self.left, self.tie, self.right])
        super().__init__([self.message, self.pictures, buttons])
        self.refresh()

    def choose(self, choice: str) -> None:
        """Record ``left``, ``right`` or ``tie`` for the pair shown, then show the next."""
        if not self.judging.done:
            self.judging.choose(choice)
        self.refresh()

    def refresh(self) -> None:
        judging = self.judging
        by = ", ".join(judging.by)
        for button in (self.left, self.tie, self.right):
            button.disabled = judging.done
        if judging.pair is None:
            self.pictures.value = ""
            self.message.value = (
                f"<b>No pair left to judge by {escape(by)}</b> ({judging.judged} judged here). "
                f"<code>History().rank(by={by!r}, method='pairwise')</code> ranks them."
            )
            return
        tags = [
            display.image_tag(self._thumbnails.get_or_empty(picture.image, display.pixels(PICTURE_WIDTH)),
                              PICTURE_WIDTH, title=side)
            for side, picture in zip(("left", "right"), judging.pair, strict=True)
        ]  # fmt: skip
        # Side by side at the top: a flex row would stretch the shorter picture out of proportion.
        self.pictures.value = f'<div style="display:flex;gap:8px;align-items:flex-start">{"".join(tags)}</div>'
        self.message.value = (
            f"Which is better? Judging by {escape(by)}, blind: {judging.judged} judged here, {judging.remaining} left."
        )
