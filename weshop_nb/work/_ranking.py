"""Ranking what people preferred: stars into means with intervals, blind pairs into strengths.

Two rankings, both one row per value of the ``by`` columns, best first, with ``n``,
``mean``, ``low`` and ``high``; ``low``..``high`` is a 95 % interval, so two values whose
intervals overlap are not yet told apart.

**Stars** (:func:`rank_stars`). ``mean`` is the plain mean of the ratings. The interval is
Student's t interval of the mean, with the spread estimated as in a conjugate normal
model whose prior is one pseudo-rating half a star away from the mean. Why: the plain t
interval claims certainty when a few ratings agree (three 5s give a zero-width interval)
and is undefined for one rating; one pseudo-rating of spread keeps a handful of identical
ratings honest (three 5s: 4.47 to 5; one rating: 1 to 5) and fades as ratings accumulate.
The interval is clipped to the scale, 1 to 5.

**Pairs** (:func:`rank_pairs`). Blind judgements are fitted with the Bradley-Terry model
(each value has a strength; value i beats j with chance s_i / (s_i + s_j)); a tie counts
half a win for each. Fitted by Hunter's MM iterations with one virtual tie of every
value against an average one, so a value that always won keeps a finite strength.
``mean`` is the chance of beating a value of average strength (the geometric mean of
those judged; 0.5 is average); its interval comes from the standard error of the
log-strength about that average (the inverse of the model's information). ``wins``, ``losses`` and ``ties`` are counted
as judged.

Only pandas and numpy: no statistics library is needed for these two closed forms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["STAR_RANGE", "RANK_COLUMNS", "PAIR_COLUMNS", "rank_stars", "rank_pairs", "t_quantile"]

#: The stars a picture can be given.
STAR_RANGE = (1, 5)
#: The columns of a ranking, after the ``by`` columns.
RANK_COLUMNS = ("n", "mean", "low", "high")
#: A pairwise ranking's extra columns.
PAIR_COLUMNS = ("wins", "losses", "ties")

# Student's t, 97.5th percentile, for 1..30 degrees of freedom (two-sided 95 %).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975 = 1.959964
#: The prior spread of the stars model: one pseudo-rating this many stars from the mean (half a star).
_PRIOR_SPREAD = 0.5


def t_quantile(df: float) -> float:
    """Student's t 97.5th percentile for ``df`` degrees of freedom (a table, then Cornish-Fisher)."""
    if df < 1:
        return math.inf
    if df <= len(_T975):
        return _T975[int(df) - 1]
    z = _Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def _empty(by: Sequence[str], extra: Sequence[str] = ()) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame({column: pd.Series(dtype="object") for column in by})
    for column in RANK_COLUMNS[:1] + tuple(extra):
        frame[column] = pd.Series(dtype="int64")
    for column in RANK_COLUMNS[1:]:
        frame[column] = pd.Series(dtype="float64")
    return frame[[*by, *RANK_COLUMNS, *extra]]


def rank_stars(ratings: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One row per value of ``by``: ``n`` ratings, their ``mean`` and a 95 % interval, best first.

    ``ratings`` has a ``stars`` column and the ``by`` columns. Rows are ordered by mean,
    then by the lower bound (more ratings first among equal means).
    """
    import numpy as np

    by = list(by)
    if ratings.empty:
        return _empty(by)
    groups = ratings.groupby(by, dropna=False, sort=False)["stars"]
    stats = groups.agg(["count", "mean", "var"]).reset_index()
    n = stats["count"].to_numpy(dtype="float64")
    mean = stats["mean"].to_numpy(dtype="float64")
    squares = np.nan_to_num(stats["var"].to_numpy(dtype="float64")) * np.maximum(n - 1, 0)
    # One pseudo-rating of spread: variance (SS + s0^2) / n with n degrees of freedom.
    variance = (squares + _PRIOR_SPREAD**2) / n
    t = np.array([t_quantile(df) for df in n])
    half = t * np.sqrt(variance / n)
    low, high = STAR_RANGE
    frame = stats[by].copy()
    frame["n"] = stats["count"].astype("int64")
    frame["mean"] = mean
    frame["low"] = np.clip(mean - half, low, high)
    frame["high"] = np.clip(mean + half, low, high)
    return frame.sort_values(["mean", "low"], ascending=False, kind="stable").reset_index(drop=True)


def rank_pairs(judgements: pd.DataFrame, by: Sequence[str], *, iterations: int = 500) -> pd.DataFrame:
    """Bradley-Terry strengths of the values of ``by`` from blind judgements, best first.

    ``judgements`` has, for each judged pair, the left picture's values as
    ``left_<column>``, the right's as ``right_<column>``, and ``choice`` (``left``,
    ``right`` or ``tie``).
    """
    import numpy as np
    import pandas as pd

    by = list(by)
    if judgements.empty:
        return _empty(by, PAIR_COLUMNS)
    left = list(judgements[[f"left_{c}" for c in by]].itertuples(index=False, name=None))
    right = list(judgements[[f"right_{c}" for c in by]].itertuples(index=False, name=None))
    values = sorted(set(left) | set(right), key=repr)
    index = {value: i for i, value in enumerate(values)}
    k = len(values)
    wins = np.zeros((k, k))  # wins[i, j]: how often i beat j, a tie half each
    counted = {name: np.zeros(k, dtype="int64") for name in PAIR_COLUMNS}
    for a, b, choice in zip(left, right, judgements["choice"], strict=True):
        i, j = index[a], index[b]
        if choice == "tie":
            wins[i, j] += 0.5
            wins[j, i] += 0.5
            counted["ties"][[i, j]] += 1
        else:
            winner, loser = (i, j) if choice == "left" else (j, i)
            wins[winner, loser] += 1
            counted["wins"][winner] += 1
            counted["losses"][loser] += 1
    strength = _fit(wins, iterations)
    games = wins + wins.T
    log_s = np.log(strength)
    log_s -= log_s.mean()
    error = _standard_errors(strength, games)
    frame = pd.DataFrame(values, columns=by) if values else _empty(by)
    frame["n"] = counted["wins"] + counted["losses"] + counted["ties"]
    frame["mean"] = _chance(log_s)
    frame["low"] = _chance(log_s - _Z975 * error)
    frame["high"] = _chance(log_s + _Z975 * error)
    for name in PAIR_COLUMNS:
        frame[name] = counted[name]
    return frame.sort_values(["mean", "n"], ascending=False, kind="stable").reset_index(drop=True)


def _fit(wins: Any, iterations: int) -> Any:
    """Hunter's MM updates; each value also ties once with an average value (strength 1)."""
    import numpy as np

    k = len(wins)
    games = wins + wins.T
    won = wins.sum(axis=1) + 0.5
    strength = np.ones(k)
    for _ in range(iterations):
        pair = games / (strength[:, None] + strength[None, :])
        updated = won / (pair.sum(axis=1) + 1.0 / (strength + 1.0))
        if np.max(np.abs(updated - strength)) < 1e-10:
            return updated
        strength = updated
    return strength


def _standard_errors(strength: Any, games: Any) -> Any:
    """Standard error of each log-strength: the diagonal of the inverse of the information."""
    import numpy as np

    p = strength[:, None] / (strength[:, None] + strength[None, :])
    weight = games * p * p.T
    information = -weight
    prior = strength / (strength + 1.0) ** 2  # the virtual tie against an average value
    np.fill_diagonal(information, weight.sum(axis=1) + prior)
    # Strengths are relative: the spread of each log-strength about their mean, not of the
    # common level (which only the virtual ties pin down).
    centre = np.eye(len(strength)) - 1.0 / len(strength)
    covariance = centre @ np.linalg.pinv(information) @ centre
    return np.sqrt(np.clip(np.diag(covariance), 0, None))


def _chance(log_strength: Any) -> Any:
    """The chance of beating a value of average strength (log-strengths are centred)."""
    import numpy as np

    return 1.0 / (1.0 + np.exp(-log_strength))
