"""Static HTML for runs, executions, tasks and the catalogue.

What is drawn here is saved in the notebook as ``text/html``, so it renders on GitHub,
nbviewer and in VS Code without a kernel or widgets. Pictures are embedded (data URIs),
never linked to the service, at the size they are shown: :func:`pixels` of their CSS
width, so they stay sharp on high-density screens and weigh little in the saved file.
A video is the exception: too heavy to embed, it is a ``<video>`` element that refers
to its URL, showing its poster (embedded like a picture) until it is played.
Every string that came from the service or the user is escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from ..contract import FAILED, PENDING, RUNNING, SUCCESS
from ._judgement import star_text

if TYPE_CHECKING:
    from ..service._catalogue import FashionModel, Location
    from ..service._models import Execution, Task
    from ._run import Run, RunItem

__all__ = [
    "run_html",
    "task_html",
    "catalogue_html",
    "comparison_html",
    "banner_html",
    "pixels",
    "DENSITY",
    "LIVE_CARDS",
    "newest_finished",
]

#: Embedded pictures have this many pixels per CSS pixel: sharp on 2x (retina) screens,
#: and no more, since every pixel is saved in the notebook.
DENSITY = 2
#: CSS width of a catalogue thumbnail (the `info` tables and the studio's previews).
ICON_WIDTH = 64
#: CSS width of each picture of one execution shown alone (`%weshop status`).
EXECUTION_WIDTH = 160
#: The most cards a run shows, live or saved. A larger run shows the newest finished ones
#: live, and is saved as one contact sheet of that many pictures with its counts: a
#: notebook holding a 1,000-execution run stays light to save, open and scroll.
LIVE_CARDS = 60
#: Tiles of a large run's contact sheet: CSS (and pixel) width, and how many to a row.
SHEET_TILE = 96
SHEET_COLUMNS = 10

_BADGE_COLORS = {PENDING: "#8a8a8a", RUNNING: "#1f6feb", SUCCESS: "#1a7f37", FAILED: "#cf222e"}
_BOX = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;line-height:1.4"
_CELL = "vertical-align:top;text-align:left;padding:6px;border:1px solid #d0d7de;border-radius:6px;width:{w}px"
# Jupyter's table CSS right-aligns cells; pictures and captions read better from the left.
_LEFT = 'style="text-align:left;vertical-align:top"'


def badge(status: str) -> str:
    color = _BADGE_COLORS.get(status, "#8a8a8a")
    return (
        f'<span style="background:{color};color:#fff;border-radius:8px;padding:0 6px;font-size:11px">'
        f"{escape(status)}</span>"
    )


def pixels(css_width: int) -> int:
    """How many pixels wide a picture shown ``css_width`` CSS pixels wide is embedded."""
    return DENSITY * css_width


def picture_mime(data: bytes) -> str:
    """The MIME type of encoded picture bytes, from their signature (WebP, PNG, else JPEG)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return "image/jpeg"


def image_tag(picture: bytes, width: int, title: str = "", *, margin: bool = True, missing: str = "") -> str:
    """``picture`` (WebP, JPEG or PNG bytes) embedded ``width`` CSS pixels wide; ``missing`` says why there is none."""
    if not picture:
        why = escape(missing or "image unavailable")
        return f'<div style="width:{width}px;height:{width}px;background:#eee;color:#999">{why}</div>'
    data = base64.b64encode(picture).decode()
    # alt only: a title would repeat the caption in every picture's bytes; the card shows it.
    source = f"data:{picture_mime(picture)};base64,{data}"
    style = ' style="margin:1px"' if margin else ""
    return f'<img src="{source}" width="{width}" alt="{escape(title)}"{style}>'


def video_tag(poster: bytes, width: int, url: str, title: str = "") -> str:
    """The video at ``url`` in a player ``width`` CSS pixels wide, its ``poster`` (picture bytes) embedded.

    A link under it opens the video itself, for what the browser's player cannot play
    (the emulator's clips are animated WebP pictures).
    """
    link = escape(url)
    still = f' poster="data:{picture_mime(poster)};base64,{base64.b64encode(poster).decode()}"' if poster else ""
    player = (
        f'<video controls preload="none" width="{width}"{still} src="{link}" aria-label="{escape(title)}">'
        f'<a href="{link}">the video</a></video>'
    )
    opener = f'<a href="{link}" target="_blank" style="font-size:11px">▶ open the video</a>'
    return f'<div style="width:{width}px">{player}<br>{opener}</div>'


def stars_html(stars: float, count: int = 1) -> str:
    """A rated picture's stars, one line under it: ★★★★☆ (the mean's nearest whole number), the mean in its title."""
    said = f"{stars:g} stars" if count <= 1 else f"{stars:.2f} stars, mean of {count} ratings"
    return (
        f'<div style="color:#9a6700;font-size:12px;line-height:1.1;letter-spacing:1px" title="{escape(said)}">'
        f"{escape(star_text(stars))}</div>"
    )


def with_stars(shown: str, width: int, stars: float | None, count: int = 1) -> str:
    """``shown`` (a picture's tag) with its stars under it when it was rated; as it is otherwise."""
    if stars is None:
        return shown
    return f'<div style="width:{width}px">{shown}{stars_html(stars, count)}</div>'


def media_html(
    thumbs: Sequence[bytes],
    execution: Execution | None,
    width: int,
    title: str = "",
    stars: Mapping[int, float] | None = None,
) -> str:
    """Each result of ``execution``: a picture, or a video's player; ``thumbs`` follow ``execution.stills``.

    ``stars`` maps a still's place to its stars, shown under it (unrated ones show none).
    """
    videos = execution.videos if execution is not None else []
    pictures = len(thumbs) - len(videos) if videos else len(thumbs)  # the stills of videos come last
    stars = stars or {}
    return "".join(
        with_stars(
            image_tag(thumb, width, title, margin=False)
            if index < pictures
            else video_tag(thumb, width, videos[index - pictures], title),
            width,
            stars.get(index),
        )
        for index, thumb in enumerate(thumbs)
    )


def pictures_box(pictures: str, width: int | None = None) -> str:
    """``pictures`` (tags, or boxes of a picture and its stars) side by side, wrapping, one gap
    between them. Each keeps its own height: a flex row would stretch an unrated picture to the
    height of its rated neighbour, stars included, and draw it out of proportion."""
    size = f"width:{width}px;" if width is not None else ""
    return f'<div style="{size}display:flex;flex-wrap:wrap;gap:2px;align-items:flex-start">{pictures}</div>'


def placeholder_html(status: str, width: int) -> str:
    """A grey box the size of a picture, saying the status."""
    return (
        f'<div style="width:{width}px;height:{int(width * 4 / 3)}px;background:#f3f4f6;display:flex;'
        f'align-items:center;justify-content:center;color:#8a8a8a">{escape(status)}…</div>'
    )


def _shorten(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def thumb_width(count: int, width: int) -> int:
    """CSS width of each picture in a card ``width`` wide: one fills it, several go two per row."""
    return width if count <= 1 else width // 2 - 2


def item_card(item: RunItem, width: int = 192, *, boxed: bool = True) -> str:
    """One execution as a card: its pictures (or a placeholder), caption, status.

    ``boxed=False`` leaves the font to the enclosing box (as in :func:`run_html`): the
    bytes of a card are saved once per execution.
    """
    thumbs = item.thumbnails
    size = thumb_width(max(len(thumbs), item.expected_pictures), width)
    alt = _shorten(item.caption, 40)  # in every picture; the caption under them says it all
    shown = media_html(thumbs, item.execution, size, alt, item.stars)
    pictures = shown or placeholder_html(item.status, width)
    return pictures_box(pictures, width) + item_caption(item, boxed=boxed)


def item_caption(item: RunItem, *, boxed: bool = True) -> str:
    """Status badge, prompt, scene and model names, error and id of one execution."""
    job = item.job
    lines = [f"{badge(item.status)} <b>{escape(_shorten(job.prompt or '(no prompt)'))}</b>"]
    names = [n for n in (getattr(job.location, "name", None), getattr(job.fashion_model, "name", None)) if n]
    if names:
        lines.append(escape(" · ".join(names)))
    if item.error:
        error = escape(item.error)
        lines.append(f'<span style="color:#cf222e" title="{error}">{escape(_shorten(item.error, 200))}</span>')
    for warning in item.warnings:  # fields the service sent that could not be read
        lines.append(f'<span style="color:#9a6700;font-size:11px">{escape(_shorten(warning, 200))}</span>')
    if item.execution is not None:
        lines.append(f'<span style="color:#8a8a8a;font-size:11px">{escape(item.execution.id)}</span>')
    return f'<div style="{_BOX}">{"<br>".join(lines)}</div>' if boxed else f"<div>{'<br>'.join(lines)}</div>"


def _grid(cards: Sequence[str], columns: int, width: int) -> str:
    rows = []
    for start in range(0, len(cards), columns):
        cells = "".join(f'<td style="{_CELL.format(w=width)}">{card}</td>' for card in cards[start : start + columns])
        rows.append(f"<tr>{cells}</tr>")
    return f'<table style="border-collapse:separate;border-spacing:4px">{"".join(rows)}</table>'


def run_html(run: Run, *, width: int | None = None, columns: int = 4) -> str:
    """The run as it stands: a summary line and a grid of cards ``width`` wide (the run's own by default).

    A run of more than :data:`LIVE_CARDS` executions is one contact sheet of its newest
    finished pictures instead, with its counts and how to see or save the rest.
    """
    head = f"<b>WeShop run</b> · {escape(run.summary())}"
    if len(run.items) > LIVE_CARDS:
        return f'<div style="{_BOX}">{head}{_sheet_html(run)}</div>'
    width = width or run.width
    cards = [item_card(item, width, boxed=False) for item in run.items]
    return f'<div style="{_BOX}">{head}{_grid(cards, columns, width)}</div>'


def newest_finished(items: Sequence[RunItem], count: int = LIVE_CARDS) -> list[RunItem]:
    """The ``count`` items seen finished last, newest first."""
    finished = [item for item in items if item.done]
    finished.sort(key=lambda item: item.finished_at or 0.0, reverse=True)
    return finished[:count]


def _sheet_html(run: Run) -> str:
    from ..service._images import sheet_picture

    shown = [item for item in newest_finished(run.items, len(run.items)) if item.thumbnails][:LIVE_CARDS]
    total = len(run.items)
    rest = (
        "<code>run.to_frame()</code> lists every execution (prompt, scene, model, status, picture URLs); "
        "<code>run.save('folder')</code> saves every picture."
    )
    if not shown:
        return f"<div>No pictures yet among {total} executions. {rest}</div>"
    fmt = "webp" if shown[0].thumbnails[0][:4] == b"RIFF" else "jpeg"
    picture = sheet_picture([item.thumbnails[0] for item in shown], columns=SHEET_COLUMNS, tile=SHEET_TILE, format=fmt)
    note = f"The newest {len(shown)} of {total} executions, one picture each. {rest}"
    sheet = image_tag(picture, SHEET_TILE * SHEET_COLUMNS, f"{len(shown)} of {total} executions")
    return f"<div>{note}</div>{sheet}"


def task_html(task: Task) -> str:
    """A task and its recent executions as a table."""
    rows = "".join(
        f"<tr><td {_LEFT}>{escape(e.id)}</td><td {_LEFT}>{badge(e.status)}</td>"
        f"<td {_LEFT}>{escape(str(e.executed_at or ''))}</td>"
        f"<td {_LEFT}>{escape(_shorten(str(e.params.get('textDescription') or ''), 80))}</td>"
        f"<td {_LEFT}>{len(e.images)}</td></tr>"
        for e in reversed(task.executions)
    )
    head = (
        f"<b>Task {escape(task.id)}</b> · {escape(task.agent_name or '')} {escape(task.agent_version or '')}"
        f" · {escape(task.name or '')} · {len(task.executions)} recent execution(s)"
    )
    header = "<tr><th>execution</th><th>status</th><th>time</th><th>prompt</th><th>images</th></tr>"
    return f'<div style="{_BOX}">{head}<table>{header}{rows}</table></div>'


def execution_html(execution: Execution, thumbnails: Iterable[bytes] = (), width: int = EXECUTION_WIDTH) -> str:
    """One execution with its pictures and videos (``thumbnails`` of its ``stills``, :func:`pixels` of ``width``)."""
    pictures = media_html(list(thumbnails), execution, width, execution.id)
    prompt = escape(str(execution.params.get("textDescription") or "(no prompt)"))
    error = f'<br><span style="color:#cf222e">{escape(execution.error)}</span>' if execution.error else ""
    when = escape(str(execution.executed_at or ""))
    head = f"{badge(execution.status)} <b>{escape(execution.id)}</b> · {when}<br>{prompt}{error}"
    return f'<div style="{_BOX}"><div>{head}</div><div>{pictures}</div></div>'


def catalogue_html(entries: Sequence[Location | FashionModel], thumbnails: Sequence[bytes], title: str) -> str:
    """Locations or fashion models as a table with thumbnails."""
    rows = []
    for entry, thumb in zip(entries, thumbnails, strict=True):
        tags = ", ".join(t.name for t in entry.tags)
        profile = " · ".join(str(v) for v in (getattr(entry, "profile", None) or {}).values())
        cells = [image_tag(thumb, ICON_WIDTH, entry.name), f"<b>{escape(entry.name)}</b>", escape(str(entry.id))]
        cells += [escape(", ".join(entry.categories)), escape(tags), escape(profile)]
        rows.append("<tr>" + "".join(f"<td {_LEFT}>{cell}</td>" for cell in cells) + "</tr>")
    header = "<tr><th></th><th>name</th><th>id</th><th>categories</th><th>tags</th><th>profile</th></tr>"
    head = f"<b>{escape(title)}</b> ({len(entries)})"
    return f'<div style="{_BOX}">{head}<table>{header}{"".join(rows)}</table></div>'


def comparison_html(
    table: Any,
    by: Sequence[str],
    thumbnail: Any,
    *,
    width: int = 96,
    per_cell: int = 4,
    videos: Mapping[str, str] | None = None,
    stars: Mapping[str, tuple[float, int]] | None = None,
    row_stars: Mapping[Any, tuple[float, int]] | None = None,
    missing: Mapping[str, str] | None = None,
) -> str:
    """A comparison table: each cell shows up to ``per_cell`` pictures of its executions.

    ``thumbnail(url, pixel_width)`` gives the bytes of a picture; ``videos`` maps a
    poster in the table to its video, shown as a player; ``stars`` maps a rated picture's
    URL to its mean stars and number of ratings, shown under it; ``row_stars`` a row's
    label to the same over the row, shown under its header; ``missing`` says why a picture
    that cannot be had is not there (say "task deleted").
    """
    missing = missing or {}
    videos = videos or {}
    stars = stars or {}
    row_stars = row_stars or {}
    columns = [str(c) for c in table.columns]
    corner = escape(" / ".join(by))
    header = f"<tr><th>{corner}</th>" + "".join(f"<th>{escape(c)}</th>" for c in columns) + "</tr>"
    rows = []
    for label, row in table.iterrows():
        cells = []
        for urls in row:
            urls = urls if isinstance(urls, list) else []
            shown = "".join(
                with_stars(
                    video_tag(thumbnail(u, pixels(width)), width, videos[u], u)
                    if u in videos
                    else image_tag(thumbnail(u, pixels(width)), width, u, missing=missing.get(u, "")),
                    width,
                    *stars.get(u, (None, 0)),
                )
                for u in urls[:per_cell]
            )
            more = f"<br>+{len(urls) - per_cell} more" if len(urls) > per_cell else ""
            if any(u in stars for u in urls[:per_cell]):  # a picture with its stars under it is a box: side by side
                shown = pictures_box(shown)
            cells.append(f"<td {_LEFT}>{shown or '—'}{more}</td>")
        head = _source_header(label, thumbnail, width) if by and by[0] == "input_image" else escape(str(label))
        if label in row_stars:
            mean, count = row_stars[label]
            said = f"{mean:.2f} from {count} rating{'s' if count != 1 else ''}"
            head += stars_html(mean, count) + f'<span style="font-weight:normal;font-size:11px">{said}</span>'
        rows.append(f'<tr><th style="text-align:left;max-width:220px">{head}</th>{"".join(cells)}</tr>')
    return f'<div style="{_BOX}"><table>{header}{"".join(rows)}</table></div>'


def _source_header(label: Any, thumbnail: Any, width: int) -> str:
    """A row of ``compare(by="input_image")``: the source picture itself (a local file read here,
    a URL through ``thumbnail``), with its file name under it."""
    import os

    from ..contract import is_url
    from ..service._images import embed

    named = str(label)
    picture = b""
    if is_url(named):
        picture = thumbnail(named, pixels(width))
    elif os.path.isfile(named):
        try:
            with open(named, "rb") as handle:
                picture = embed(handle.read(), pixels(width))
        except (OSError, ValueError):
            picture = b""
    name = escape(os.path.basename(named.split("?", 1)[0]) or named)
    shown = image_tag(picture, width, named, margin=False) if picture else ""
    return f'{shown}<div style="font-weight:normal" title="{escape(named)}">{name}</div>'


def banner_html(message: str, *, tone: str = "info") -> str:
    """A visible one-line notice (``info`` or ``warning``)."""
    color, background = ("#9a6700", "#fff8c5") if tone == "warning" else ("#0550ae", "#ddf4ff")
    return (
        f'<div style="{_BOX};border-left:4px solid {color};background:{background};padding:8px 12px">'
        f"{escape(message)}</div>"
    )
