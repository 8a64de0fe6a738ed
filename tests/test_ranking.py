"""The two rankings' arithmetic: stars with intervals, blind pairs with Bradley-Terry."""

import numpy as np
import pandas as pd
import pytest

from weshop_nb.work._ranking import rank_pairs, rank_stars, t_quantile


def _stars(spec: dict[str, list[int]]) -> pd.DataFrame:
    rows = [(prompt, stars) for prompt, values in spec.items() for stars in values]
    return pd.DataFrame(rows, columns=["prompt", "stars"])


def test_a_clearly_better_prompt_is_first_and_told_apart():
    ranked = rank_stars(
        _stars({"plain": [2, 3, 2, 3, 2, 3, 2, 3], "golden hour": [5, 4, 5, 5, 4, 5, 5, 4]}), ["prompt"]
    )
    assert list(ranked["prompt"]) == ["golden hour", "plain"]
    best, worst = ranked.iloc[0], ranked.iloc[1]
    assert best["mean"] == pytest.approx(37 / 8)
    assert best["low"] > worst["high"]  # the intervals do not overlap
    assert list(ranked["n"]) == [8, 8]


def test_prompts_rated_alike_are_not_told_apart():
    same = [1, 2, 3, 4, 5, 3, 4, 2]
    ranked = rank_stars(_stars({"a": same, "b": list(reversed(same))}), ["prompt"])
    first, second = ranked.iloc[0], ranked.iloc[1]
    assert first["low"] <= second["high"] and second["low"] <= first["high"]


def test_a_few_identical_ratings_do_not_claim_certainty():
    ranked = rank_stars(_stars({"three fives": [5, 5, 5], "one four": [4]}), ["prompt"])
    three = ranked.set_index("prompt").loc["three fives"]
    assert three["high"] == 5 and three["low"] < 4.6  # never a zero-width interval
    one = ranked.set_index("prompt").loc["one four"]
    assert (one["low"], one["high"]) == (1, 5)  # one rating says nothing of the spread


def test_rank_by_two_columns_and_empty():
    frame = pd.DataFrame({"prompt": ["a", "a", "b"], "location_name": ["x", "y", "x"], "stars": [5, 1, 3]})
    ranked = rank_stars(frame, ["prompt", "location_name"])
    assert list(ranked.columns) == ["prompt", "location_name", "n", "mean", "low", "high"]
    assert list(zip(ranked["prompt"], ranked["location_name"], strict=True)) == [("a", "x"), ("b", "x"), ("a", "y")]
    empty = rank_stars(frame.iloc[:0], ["prompt"])
    assert list(empty.columns) == ["prompt", "n", "mean", "low", "high"] and empty.empty


def test_t_quantile_table_and_tail():
    assert t_quantile(1) == pytest.approx(12.706)
    assert t_quantile(30) == pytest.approx(2.042)
    assert t_quantile(60) == pytest.approx(2.000, abs=2e-3)
    assert t_quantile(10_000) == pytest.approx(1.96, abs=1e-3)


def _pairs(results: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(results, columns=["left_prompt", "right_prompt", "choice"])


def test_pairs_rank_the_usual_winner_first_with_counts():
    judged = _pairs([("a", "b", "left")] * 12 + [("b", "a", "right")] * 6 + [("a", "b", "tie")] * 2)
    ranked = rank_pairs(judged, ["prompt"])
    assert list(ranked["prompt"]) == ["a", "b"]
    a, b = ranked.iloc[0], ranked.iloc[1]
    assert (a["wins"], a["losses"], a["ties"], a["n"]) == (18, 0, 2, 20)
    assert (b["wins"], b["losses"], b["ties"]) == (0, 18, 2)
    assert a["low"] > b["high"]
    assert a["mean"] == pytest.approx(1 - b["mean"])  # two values: each other's chance


def test_pairs_with_no_preference_overlap():
    judged = _pairs([("a", "b", "left"), ("a", "b", "right"), ("b", "a", "tie")] * 4)
    ranked = rank_pairs(judged, ["prompt"])
    assert ranked["mean"].to_numpy() == pytest.approx([0.5, 0.5])
    assert ranked.iloc[0]["low"] < ranked.iloc[1]["high"]


def test_pairs_recover_an_order_of_three():
    rng = np.random.default_rng(7)
    strength = {"a": 4.0, "b": 2.0, "c": 1.0}
    rows = []
    for _ in range(300):
        left, right = rng.choice(list(strength), 2, replace=False)
        won = rng.random() < strength[left] / (strength[left] + strength[right])
        rows.append((left, right, "left" if won else "right"))
    ranked = rank_pairs(_pairs(rows), ["prompt"])
    assert list(ranked["prompt"]) == ["a", "b", "c"]
