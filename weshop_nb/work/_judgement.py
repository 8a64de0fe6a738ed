"""What people thought of the pictures: star ratings, blind pairwise judgements, and their rankings.

Both are kept in the history beside the executions that made the pictures, so they
outlive the kernel and carry every parameter: who judged (``WESHOP_NB_RATER``, else the
operating system's user name), which execution and which picture (its place among the
execution's stills, from 0), and when.

* A **rating** is 1 to 5 stars on one picture. A rater's latest rating of a picture is
  the one that counts (two kernels rating at once: the later one wins); ``None`` clears it.
* A **judgement** is one blind pair: two pictures made under the same conditions (same
  source picture, agent, scene, model and other parameters) that differ only in the
  judged columns, shown without saying which is which; the person picks left, right or
  tie. :class:`Judging` chooses the pairs, the one that tells most first.

:mod:`weshop_nb.work._ranking` turns either into a ranking.
"""

from __future__ import annotations

import getpass
import json
import numbers
import os
import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ..config import RATER_VAR
from . import _hooks
from ._history_schema import UPSERT_RATING
from ._ranking import STAR_RANGE, rank_pairs, rank_stars
from ._records import PARAM_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from ._history import History
    from ._run import Run, RunItem

__all__ = [
    "CHOICES",
    "Judging",
    "Pair",
    "Picture",
    "RatingError",
    "by_columns",
    "judge",
    "picture_stars",
    "preferences_frame",
    "rank",
    "rate",
    "rate_item",
    "rater_name",
    "ratings_frame",
    "run_item",
    "star_text",
    "stars_by_execution",
    "stills_shown",
]

#: What a person can answer to a blind pair.
CHOICES = ("left", "right", "tie")

_INSERT_PREFERENCE = """
INSERT INTO preferences (source, by_columns, left_execution, left_picture, right_execution, right_picture, choice,
                         rater, judged_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
#: Columns of the record that are not conditions of a picture but what came of it.
_OUTCOME = (
    "status", "executed_at", "n_images", "images", "videos", "error", "media", "posters", "power_consumption",
    "power_balance", "task_id", "task_name", "execution_id", "stars", "n_ratings",
)  # fmt: skip
#: Record columns read from a parameter under another name (the names of the scene and the model).
_NAMED_PARAMS = {"location_name": "locationId", "fashion_model_name": "fashionModelId"}
#: Columns that say the same thing (an id and its name): judging one leaves both out of the conditions.
_LINKED = {
    "location_id": ("location_id", "location_name"),
    "location_name": ("location_id", "location_name"),
    "fashion_model_id": ("fashion_model_id", "fashion_model_name"),
    "fashion_model_name": ("fashion_model_id", "fashion_model_name"),
}
#: Parameters that change how many pictures come, not how they look.
_COUNT_PARAMS = ("batchCount",)


class RatingError(ValueError):
    """A rating or judgement that cannot be stored (stars out of range, an unknown execution or picture)."""


class Picture(NamedTuple):
    """One picture of a blind pair: its execution, its place among the execution's stills, its URL."""

    execution_id: str
    picture: int
    image: str


class Pair(NamedTuple):
    """The two pictures shown side by side, as shown (which is which is not said)."""

    left: Picture
    right: Picture


def rater_name() -> str:
    """Who is rating: ``WESHOP_NB_RATER``, else the operating system's user name."""
    named = os.environ.get(RATER_VAR, "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        return "someone"


def by_columns(by: str | Sequence[str], known: Sequence[str]) -> list[str]:
    """``by`` as a list of columns (a comma-separated string or a list), each one of ``known``."""
    keys = [b.strip() for b in (by.split(",") if isinstance(by, str) else by) if b and b.strip()]
    unknown = [k for k in keys if k not in known]
    if not keys or unknown:
        shown = ", ".join(unknown) if unknown else "none"
        raise ValueError(f"Rank or judge by one or more of: {', '.join(known)} (got {shown}).")
    return keys


def stills_shown(images: Any, videos: Any, posters: Any) -> list[str]:
    """An execution's pictures as rated and shown: its images, then each video's poster (or the video)."""
    images = images if isinstance(images, list) else []
    if not isinstance(videos, list) or not videos:  # the usual case, and the path of 100k executions compared
        return images
    posters = posters if isinstance(posters, list) and len(posters) == len(videos) else [""] * len(videos)
    return [*images, *(poster or video for video, poster in zip(videos, posters, strict=True))]


def _split(value: Any) -> list[str]:
    return value.split("\n") if value else []


# -- ratings -------------------------------------------------------------------------------


def _check_stars(stars: Any) -> int | None:
    low, high = STAR_RANGE
    if stars is None:
        return None
    if isinstance(stars, bool) or not isinstance(stars, numbers.Real) or stars != int(stars):
        raise RatingError(f"Stars are a whole number from {low} to {high} (or None to clear); got {stars!r}.")
    if not low <= int(stars) <= high:
        raise RatingError(f"Stars are from {low} to {high} (or None to clear); got {int(stars)}.")
    return int(stars)


def _find(history: History, execution_id: str, source: str | None) -> tuple[str, list[str]]:
    """The source and stills of ``execution_id`` in the history; :class:`RatingError` when it is not one."""
    rows = history._read(
        "SELECT source, images, videos, posters FROM executions WHERE execution_id = ? AND (? IS NULL OR source = ?)",
        (str(execution_id), source, source),
    )
    if not rows:
        raise RatingError(
            f"No execution {str(execution_id)!r} in the history at {history.where}"
            + (f" from {source}" if source else "")
            + ": rate an execution the history has seen (History().executions() lists them)."
        )
    if len(rows) > 1:
        sources = ", ".join(sorted(row[0] for row in rows))
        raise RatingError(f"Execution {execution_id!r} was seen at several services ({sources}): pass source=.")
    found, images, videos, posters = rows[0]
    return found, stills_shown(_split(images), _split(videos), _split(posters))


def rate(
    history: History,
    execution_id: str,
    stars: int | None,
    picture: int = 0,
    *,
    rater: str | None = None,
    source: str | None = None,
) -> None:
    """Give ``picture`` of ``execution_id`` 1 to 5 ``stars`` (``None`` clears); checked before anything is stored."""
    stars = _check_stars(stars)
    found, stills = _find(history, execution_id, source)
    if isinstance(picture, bool) or not isinstance(picture, numbers.Integral):
        raise RatingError(f"picture is a picture's place in its execution (0, 1, ...); got {picture!r}.")
    if not 0 <= picture < len(stills):
        has = f"has {len(stills)} picture{'s' if len(stills) != 1 else ''}" if stills else "has no picture yet"
        places = f" (0 to {len(stills) - 1})" if len(stills) > 1 else (" (0)" if stills else "")
        raise RatingError(f"Execution {execution_id} {has}{places}; picture {picture} is not one of them.")
    who = rater or rater_name()
    if stars is None:
        sql = "DELETE FROM ratings WHERE source = ? AND execution_id = ? AND picture = ? AND rater = ?"
        history._write([(sql, (found, str(execution_id), int(picture), who))])
    else:
        history._write([(UPSERT_RATING, (found, str(execution_id), int(picture), who, stars, time.time()))])


def run_item(run: Run, which: Any) -> RunItem:
    """The item of ``run`` named by ``which``: its position, its execution's id, or the item itself."""
    if isinstance(which, bool):
        raise RatingError(f"Name an execution by its position in the run or its id; got {which!r}.")
    count = len(run.items)
    if isinstance(which, numbers.Integral):
        if not -count <= int(which) < count:
            span = f" (0 to {count - 1})" if count else ""
            raise RatingError(f"No execution at position {which}: the run has {count}{span}.")
        return run.items[int(which)]
    if isinstance(which, str):
        found = next((i for i in run.items if i.execution is not None and i.execution.id == which), None)
        if found is None:
            raise RatingError(f"No execution {which!r} in this run; its ids are in run.to_frame()['execution_id'].")
        return found
    found = next((i for i in run.items if i is which), None)
    if found is None:
        raise RatingError(f"Cannot rate {which!r}: give a position in the run, an execution id or one of its items.")
    return found


def rate_item(history: History, item: RunItem, stars: int | None, picture: int = 0, *, source: str) -> None:
    """Rate ``picture`` of ``item``'s execution in ``history`` (see :func:`rate`), then keep it in ``item.stars``."""
    if item.execution is None:
        raise RatingError(f"Nothing to rate: this execution was not launched ({item.error or item.status}).")
    history.rate(item.execution.id, stars, picture, source=source)
    if stars is None:
        item.stars.pop(int(picture), None)
    else:
        item.stars[int(picture)] = int(stars)


def star_text(stars: float) -> str:
    """``stars`` (1 to 5, a mean may fall between) as five stars, the nearest whole number filled: ★★★★☆."""
    low, high = STAR_RANGE
    filled = min(high, max(low, int(stars + 0.5)))
    return "★" * filled + "☆" * (high - filled)


def picture_stars(history: History, executions: pd.DataFrame | None = None) -> dict[str, tuple[float, int]]:
    """``{picture URL: (mean stars, number of ratings)}`` for every rated picture (of ``executions`` when given).

    One query of the ratings (none are read when no one rated); the URL is the still as
    shown (a picture, or a video's poster).
    """
    rows = history._read("SELECT source, execution_id, picture, AVG(stars), COUNT(*) FROM ratings GROUP BY 1, 2, 3")
    if not rows:
        return {}
    wanted: dict[tuple[str, str], dict[int, tuple[float, int]]] = {}
    for source, execution_id, picture, mean, count in rows:
        wanted.setdefault((str(source), str(execution_id)), {})[int(picture)] = (float(mean), int(count))
    if executions is None:
        executions = history.executions()
    found: dict[str, tuple[float, int]] = {}
    columns = executions[["source", "execution_id", "images", "videos", "posters"]]
    for source, execution_id, images, videos, posters in columns.itertuples(index=False, name=None):
        rated = wanted.get((str(source), str(execution_id)))
        if rated:
            stills = stills_shown(images, videos, posters)
            found.update({stills[p]: value for p, value in rated.items() if p < len(stills)})
    return found


def ratings_frame(history: History, rater: str | None = None, **filters: Any) -> pd.DataFrame:
    """One row per rating (a rater's latest of a picture): who, stars, when, the picture, the execution's columns."""
    import pandas as pd

    executions = history.executions(**filters)
    rows = history._read(
        "SELECT source, execution_id, picture, rater, stars, rated_at FROM ratings WHERE (? IS NULL OR rater = ?)",
        (rater, rater),
    )
    ratings = pd.DataFrame(rows, columns=["source", "execution_id", "picture", "rater", "stars", "rated_at"])
    ratings = ratings.astype({"source": "string", "execution_id": "string", "rater": "string"})
    ratings["picture"] = ratings["picture"].astype("int64")
    ratings["stars"] = ratings["stars"].astype("int64")
    ratings["rated_at"] = pd.to_datetime(ratings["rated_at"], unit="s", utc=True).dt.tz_convert(None)
    # An execution's own mean stars would only repeat this frame's: the rating's stars stand alone.
    executions = executions.drop(columns=["stars", "n_ratings"])
    frame = ratings.merge(executions, on=["source", "execution_id"], how="inner")
    stills = [
        stills_shown(*row)[picture] if picture < len(stills_shown(*row)) else None
        for row, picture in zip(
            frame[["images", "videos", "posters"]].itertuples(index=False, name=None), frame["picture"], strict=True
        )
    ]
    frame.insert(4, "image", pd.array(stills, dtype="string"))
    return frame.sort_values("rated_at", kind="stable").reset_index(drop=True)


def stars_by_execution(history: History) -> pd.DataFrame:
    """``stars`` (the mean over an execution's pictures and raters) and ``n_ratings`` per execution."""
    import pandas as pd

    # AVG of whole numbers is a decimal on PostgreSQL: averaged as floats, it is a float on both stores.
    rows = history._read(
        "SELECT source, execution_id, AVG(CAST(stars AS DOUBLE PRECISION)), COUNT(*) FROM ratings "
        "GROUP BY source, execution_id"
    )
    frame = pd.DataFrame(rows, columns=["source", "execution_id", "stars", "n_ratings"])
    return frame.astype({"source": "string", "execution_id": "string", "stars": "float64", "n_ratings": "int64"})


# -- blind pairs ---------------------------------------------------------------------------


def preferences_frame(history: History, rater: str | None = None) -> pd.DataFrame:
    """Every judgement: the pair as shown, the choice, who and when."""
    import pandas as pd

    names = ["source", "by_columns", "left_execution", "left_picture", "right_execution", "right_picture", "choice",
             "rater", "judged_at"]  # fmt: skip
    rows = history._read(f"SELECT {', '.join(names)} FROM preferences WHERE (? IS NULL OR rater = ?)", (rater, rater))
    frame = pd.DataFrame(rows, columns=names)
    frame["judged_at"] = pd.to_datetime(frame["judged_at"], unit="s", utc=True).dt.tz_convert(None)
    return frame


def rank(
    history: History,
    by: str | Sequence[str] = "prompt",
    *,
    method: str = "stars",
    rater: str | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """One row per value of ``by``, best first: ``n``, ``mean``, ``low``, ``high`` (see :mod:`._ranking`)."""
    if method not in ("stars", "pairwise"):
        raise ValueError(f"method is 'stars' (ratings) or 'pairwise' (blind pairs); got {method!r}.")
    executions = history.executions(**filters)
    keys = by_columns(by, [c for c in executions.columns if c not in _OUTCOME])
    if method == "stars":
        return rank_stars(ratings_frame(history, rater, **filters), keys)
    judged = preferences_frame(history, rater)
    values = executions.set_index(["source", "execution_id"])[keys].astype("object")
    values = values[~values.index.duplicated()]
    sides = {}
    for side in ("left", "right"):
        index = list(zip(judged["source"], judged[f"{side}_execution"], strict=True))
        found = values.reindex(index)
        found.columns = [f"{side}_{c}" for c in keys]
        sides[side] = found.reset_index(drop=True)
    import pandas as pd

    pairs = pd.concat([sides["left"], sides["right"], judged[["choice"]].reset_index(drop=True)], axis=1)
    known = pairs.notna().all(axis=1)
    differ = (pairs[[f"left_{c}" for c in keys]].to_numpy() != pairs[[f"right_{c}" for c in keys]].to_numpy()).any(
        axis=1
    )
    return rank_pairs(pairs[known & differ].reset_index(drop=True), keys)


def _conditions(row: Any, params: dict[str, Any], keys: Sequence[str], columns: Sequence[str]) -> str:
    """What a picture was made under, except the judged columns: equal for pictures that may be paired."""
    keys = [linked for key in keys for linked in _LINKED.get(key, (key,))]
    left_out = {PARAM_COLUMNS.get(k) or _NAMED_PARAMS.get(k) for k in keys} | set(_COUNT_PARAMS)
    kept_params = {k: v for k, v in params.items() if k not in left_out}
    kept_columns = {c: row[c] for c in columns if c not in keys and c not in _OUTCOME and c not in PARAM_COLUMNS}
    kept_columns = {c: None if _missing(v) else str(v) for c, v in kept_columns.items()}
    # Parameters not in the record's columns (any agent's) are in ``params``; the named columns are too.
    for key in keys:
        kept_columns.pop(key, None)
    return json.dumps([kept_columns, kept_params], sort_keys=True, default=str)


def _missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class Judging:
    """Blind pairs to judge, the one that tells most first; ``choose`` records and moves on.

    Two pictures are paired only when everything that made them is the same (source
    picture, agent, scene, model, every other parameter) except the ``by`` columns, and
    they differ there. Pictures are paired place by place (the first of one execution with
    the first of the other). The next pair is one of the pair of values compared least so
    far (by anyone), at random among those, on random sides; pairs this rater already
    judged are not shown again.

    In a notebook it shows as a panel with the two pictures and Left, Tie and Right.
    """

    def __init__(
        self,
        history: History,
        by: str | Sequence[str] = "prompt",
        *,
        rater: str | None = None,
        seed: int | None = None,
        **filters: Any,
    ) -> None:
        filters["status"] = "success"
        self.history = history
        self.rater = rater or rater_name()
        executions = history.executions(**filters)
        self.by = by_columns(by, [c for c in executions.columns if c not in _OUTCOME])
        self._key = ",".join(self.by)
        self._random = random.Random(seed)
        self._values: dict[tuple[str, str], tuple[Any, ...]] = {}
        self._candidates = self._pairs(executions)
        self.judged = 0
        self._seen = self._already_judged()
        self._compared = self._compared_so_far()
        self.pair: Pair | None = None
        self._widget: Any = None
        self._advance()

    def __repr__(self) -> str:
        state = "done" if self.done else f"{self.remaining} pair(s) left"
        return f"<Judging by {self._key}: {self.judged} judged here, {state}>"

    # -- choosing pairs ------------------------------------------------------------------

    def _pairs(self, executions: pd.DataFrame) -> list[tuple[Picture, Picture, frozenset[Any]]]:
        params = {
            (row[0], row[1]): json.loads(row[2] or "{}")
            for row in self.history._read("SELECT source, execution_id, params FROM executions")
        }
        groups: dict[str, list[tuple[tuple[str, str], list[str]]]] = {}
        columns = list(executions.columns)
        for row in executions.to_dict("records"):
            key = (str(row["source"]), str(row["execution_id"]))
            stills = stills_shown(row["images"], row["videos"], row["posters"])
            if not stills:
                continue
            self._values[key] = tuple(None if _missing(row[c]) else row[c] for c in self.by)
            groups.setdefault(_conditions(row, params.get(key, {}), self.by, columns), []).append((key, stills))
        candidates = []
        for members in groups.values():
            for i, (a, a_stills) in enumerate(members):
                for b, b_stills in members[i + 1 :]:
                    if self._values[a] == self._values[b]:
                        continue
                    values = frozenset((self._values[a], self._values[b]))
                    for place in range(min(len(a_stills), len(b_stills))):
                        candidates.append(
                            (Picture(a[1], place, a_stills[place]), Picture(b[1], place, b_stills[place]), values)
                        )
        self._sources = {key[1]: key[0] for key in self._values}
        return candidates

    def _already_judged(self) -> set[frozenset[tuple[str, int]]]:
        judged = preferences_frame(self.history, self.rater)
        return {
            frozenset(((str(a), int(i)), (str(b), int(j))))
            for a, i, b, j in judged[["left_execution", "left_picture", "right_execution", "right_picture"]].itertuples(
                index=False, name=None
            )
        }

    def _compared_so_far(self) -> dict[frozenset[Any], int]:
        counts: dict[frozenset[Any], int] = {}
        judged = preferences_frame(self.history)
        for source, a, b in judged[["source", "left_execution", "right_execution"]].itertuples(index=False, name=None):
            left, right = self._values.get((source, a)), self._values.get((source, b))
            if left is not None and right is not None and left != right:
                values = frozenset((left, right))
                counts[values] = counts.get(values, 0) + 1
        return counts

    def _open(self) -> list[tuple[Picture, Picture, frozenset[Any]]]:
        return [c for c in self._candidates if frozenset(((c[0][0], c[0][1]), (c[1][0], c[1][1]))) not in self._seen]

    def _advance(self) -> None:
        open_pairs = self._open()
        if not open_pairs:
            self.pair = None
            return
        fewest = min(self._compared.get(values, 0) for _, _, values in open_pairs)
        first, second, _ = self._random.choice([c for c in open_pairs if self._compared.get(c[2], 0) == fewest])
        self.pair = Pair(first, second) if self._random.random() < 0.5 else Pair(second, first)

    @property
    def done(self) -> bool:
        """True when no pair is left for this rater."""
        return self.pair is None

    @property
    def remaining(self) -> int:
        """How many pairs this rater has not judged yet."""
        return len(self._open())

    def choose(self, choice: str) -> Pair | None:
        """Record ``left``, ``right`` or ``tie`` for the pair shown and show the next; returns it (None when done)."""
        if choice not in CHOICES:
            raise RatingError(f"Choose one of {', '.join(CHOICES)}; got {choice!r}.")
        if self.pair is None:
            raise RatingError("No pair is left to judge: every pair was judged.")
        left, right = self.pair
        values = (
            self._sources[left.execution_id], self._key, left.execution_id, left.picture, right.execution_id,
            right.picture, choice, self.rater, time.time(),
        )  # fmt: skip
        self.history._write([(_INSERT_PREFERENCE, values)])
        self._seen.add(frozenset(((left.execution_id, left.picture), (right.execution_id, right.picture))))
        compared = frozenset(
            (self._values[(values[0], left.execution_id)], self._values[(values[0], right.execution_id)])
        )
        self._compared[compared] = self._compared.get(compared, 0) + 1
        self.judged += 1
        self._advance()
        return self.pair

    # -- showing -------------------------------------------------------------------------

    @property
    def widget(self) -> Any:
        """The panel that shows the pairs (made on first use; None outside a notebook)."""
        if self._widget is None:
            views = _hooks.views()
            make = getattr(views, "judge_panel", None)
            self._widget = make(self) if make is not None else None
        return self._widget

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # The panel where widgets render; text elsewhere (a terminal, a saved notebook without widgets).
        widget = self.widget
        bundle = widget._repr_mimebundle_(include=include, exclude=exclude) if widget is not None else None
        return {"text/plain": repr(self), **(bundle or {})}


def judge(history: History, by: str | Sequence[str] = "prompt", **options: Any) -> Judging:
    """Blind pairs of ``history``'s pictures that differ only in ``by``; see :class:`Judging`."""
    return Judging(history, by, **options)
