"""Ratings and blind pairs in a real history: kept, shared between processes, ranked, judged fairly."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from weshop_nb.config import home_dir
from weshop_nb.work._history import History
from weshop_nb.work._judgement import RatingError

PROMPTS = ("golden hour", "plain studio", "rainy street")


@pytest.fixture
def made(store, client, make_image):
    """Three prompts x two scenes, two pictures each, all finished and in the history."""
    task = client.create_task(originalImage=client.upload_image(make_image()), taskName="judged")
    info = client.agent_info()
    ids = {}
    for prompt in PROMPTS:
        for scene in ("Sunny Beach", "White Studio"):
            params = {"textDescription": prompt, "locationId": info.location(scene).id, "batchCount": 2}
            ids[(prompt, scene)] = client.execute(task.id, params).id
    for execution_id in ids.values():
        client.wait(execution_id, poll_interval=0.1, timeout=30)
    return ids


def _env() -> dict:
    import os

    return {**os.environ, "WESHOP_NB_HOME": str(home_dir())}


def test_a_rating_is_kept_changed_and_cleared(made, monkeypatch) -> None:
    monkeypatch.setenv("WESHOP_NB_RATER", "ana")
    history = History()
    first = made[("golden hour", "Sunny Beach")]
    history.rate(first, 4)
    history.rate(first, 5)  # the latest counts
    history.rate(first, 2, picture=1)
    ratings = history.ratings()
    assert sorted(zip(ratings["picture"], ratings["stars"], strict=True)) == [(0, 5), (1, 2)]
    assert set(ratings["rater"]) == {"ana"} and set(ratings["prompt"]) == {"golden hour"}
    assert set(ratings["location_name"]) == {"Sunny Beach"}
    assert ratings["image"].str.startswith("http").all()
    row = history.executions().set_index("execution_id").loc[first]
    assert row["stars"] == pytest.approx(3.5) and row["n_ratings"] == 2
    history.rate(first, None, picture=1)
    assert list(history.ratings()["stars"]) == [5]
    assert history.executions()["n_ratings"].sum() == 1


@pytest.mark.parametrize(
    ("stars", "picture", "words"),
    [(0, 0, "from 1 to 5"), (6, 0, "from 1 to 5"), (True, 0, "whole number"), (2.5, 0, "whole number"),
     (3, 2, "has 2 pictures (0 to 1); picture 2"), (3, -1, "picture -1")],
)  # fmt: skip
def test_a_bad_rating_says_why_and_stores_nothing(made, stars, picture, words) -> None:
    history = History()
    with pytest.raises(RatingError, match=words.replace("(", r"\(").replace(")", r"\)")):
        history.rate(made[("plain studio", "White Studio")], stars, picture=picture)
    assert history.ratings().empty


def test_an_unknown_execution_is_named(made) -> None:
    with pytest.raises(RatingError, match="No execution 'nope'"):
        History().rate("nope", 3)
    assert History().ratings().empty


def test_ratings_outlive_the_process_and_two_raters_at_once_lose_nothing(made) -> None:
    rater = textwrap.dedent(
        """
        import sys
        from weshop_nb.work._history import History
        history = History()
        for n, execution_id in enumerate(sys.argv[2:]):
            for picture in (0, 1):
                history.rate(execution_id, 1 + (n + picture) % 5, picture=picture)
        """
    )
    ids = list(made.values())
    writers = [
        subprocess.Popen([sys.executable, "-c", rater, name, *ids], env={**_env(), "WESHOP_NB_RATER": name})
        for name in ("ana", "ben")
    ]
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    ratings = History().ratings()
    assert len(ratings) == 2 * len(ids) * 2
    assert ratings.groupby("rater").size().to_dict() == {"ana": 12, "ben": 12}
    assert len(History().ratings(rater="ben")) == 12


def test_rank_puts_the_clearly_better_prompt_first(made) -> None:
    history = History()
    for (prompt, _scene), execution_id in made.items():
        for picture in (0, 1):
            stars = {"golden hour": 5, "plain studio": 2, "rainy street": 3}[prompt]
            history.rate(execution_id, stars - picture % 2 * (prompt == "golden hour"), picture=picture)
    ranked = history.rank(by="prompt")
    assert list(ranked["prompt"]) == ["golden hour", "rainy street", "plain studio"]
    assert list(ranked.columns) == ["prompt", "n", "mean", "low", "high"]
    assert (ranked["n"] == 4).all()
    assert ranked.iloc[0]["low"] > ranked.iloc[1]["high"]
    both = history.rank(by="prompt, location_name")
    assert len(both) == 6 and list(both.columns[:2]) == ["prompt", "location_name"]
    with pytest.raises(ValueError, match="Rank or judge by one or more of"):
        history.rank(by="fabric")


def test_the_judge_pairs_only_pictures_alike_but_for_the_judged_column(made, monkeypatch) -> None:
    monkeypatch.setenv("WESHOP_NB_RATER", "ana")
    history = History()
    frame = history.executions().set_index("execution_id")
    judging = history.judge(by="prompt", seed=3)
    # 2 scenes x 3 pairs of prompts x 2 pictures each
    assert judging.remaining == 12 and not judging.done
    shown = []
    while not judging.done:
        left, right = judging.pair
        assert left.picture == right.picture and left.image != right.image
        a, b = frame.loc[left.execution_id], frame.loc[right.execution_id]
        assert a["prompt"] != b["prompt"]
        for column in ("location_name", "location_id", "original_image", "agent_name", "batch_count", "task_id"):
            assert a[column] == b[column], column
        shown.append(frozenset((left.execution_id, right.execution_id, left.picture)))
        winner = "left" if a["prompt"] == "golden hour" else "right" if b["prompt"] == "golden hour" else "tie"
        judging.choose(winner)
    assert len(set(shown)) == 12
    with pytest.raises(RatingError, match="No pair is left"):
        judging.choose("left")
    # A new judging for the same rater has nothing left; another rater has every pair.
    assert History().judge(by="prompt").done
    monkeypatch.setenv("WESHOP_NB_RATER", "ben")
    assert History().judge(by="prompt").remaining == 12
    ranked = history.rank(by="prompt", method="pairwise")
    assert ranked.iloc[0]["prompt"] == "golden hour"
    assert list(ranked.columns) == ["prompt", "n", "mean", "low", "high", "wins", "losses", "ties"]
    golden = ranked.set_index("prompt").loc["golden hour"]
    assert (golden["wins"], golden["losses"], golden["ties"], golden["n"]) == (8, 0, 0, 8)
    assert golden["mean"] > 0.5 > ranked.iloc[-1]["mean"]


def test_the_judge_refuses_a_choice_it_does_not_know(made) -> None:
    judging = History().judge(by="location_name")
    assert judging.remaining == 3 * 2  # each prompt: one pair of scenes, two pictures
    with pytest.raises(RatingError, match="left, right, tie"):
        judging.choose("both")


def test_the_judge_panel_shows_pairs_blind_and_records_clicks(made, monkeypatch) -> None:
    from weshop_nb.notebook.widgets._judge import JudgePanel

    monkeypatch.setenv("WESHOP_NB_RATER", "ana")
    panel = JudgePanel(History().judge(by="prompt", seed=1))
    assert panel.pictures.value.count("<img") == 2 and "image unavailable" not in panel.pictures.value
    for prompt in PROMPTS:  # blind: no word of which prompt made which picture
        assert prompt not in panel.pictures.value and prompt not in panel.message.value
    assert "12 left" in panel.message.value
    first = panel.judging.pair
    panel.left.click()
    assert panel.judging.pair != first and "11 left" in panel.message.value
    for _ in range(11):
        panel.tie.click()
    assert panel.judging.done and panel.left.disabled and "No pair left" in panel.message.value
    judged = History().rank(by="prompt", method="pairwise")
    assert judged["wins"].sum() == 1 and judged["ties"].sum() == 22


def test_rank_and_judge_through_the_magic(made, ip) -> None:
    history = History()
    for (prompt, _scene), execution_id in made.items():
        history.rate(execution_id, 5 if prompt == "golden hour" else 2)
    ip.run_line_magic("load_ext", "weshop_nb")
    ranked = ip.run_line_magic("weshop", "rank --by prompt")
    assert ranked.iloc[0]["prompt"] == "golden hour" and list(ranked["n"]) == [2, 2, 2]
    by_scene = ip.run_line_magic("weshop", "rank --by prompt,location_name --text golden")
    assert set(by_scene["prompt"]) == {"golden hour"} and len(by_scene) == 2
    judging = ip.run_line_magic("weshop", "judge --by location_name")
    assert judging.remaining == 6
    judging.choose("tie")
    pairwise = ip.run_line_magic("weshop", "rank --by location_name --method pairwise")
    assert list(pairwise["ties"]) == [1, 1]
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="Rank or judge by one or more of"):
        ip.run_line_magic("weshop", "rank --by fabric")


@pytest.fixture
def rated_run(client, make_image, monkeypatch):
    """A finished run of two prompts, two pictures each, launched from Python (with thumbnails)."""
    from weshop_nb.service._thumbnails import ThumbnailCache
    from weshop_nb.work._jobs import Job
    from weshop_nb.work._launch import launch

    monkeypatch.setenv("WESHOP_NB_RATER", "ana")
    task = client.create_task(originalImage=client.upload_image(make_image()), taskName="run rated")
    jobs = [Job(task, {"textDescription": prompt, "batchCount": 2}) for prompt in PROMPTS[:2]]
    return launch(client, jobs, poll_interval=0.1, thumbnails=ThumbnailCache(client.fetch_image)).wait(timeout=30)


def test_a_run_rates_by_position_or_id_and_its_cards_show_the_stars(rated_run) -> None:
    run = rated_run
    second = run.items[1].execution.id
    run.rate(0, 4)
    run.rate(second, 2, picture=1)
    run.rate(0, 5)  # changed: the latest counts
    assert run.items[0].stars == {0: 5} and run.items[1].stars == {1: 2}
    ratings = History().ratings()
    assert sorted(zip(ratings["execution_id"], ratings["picture"], ratings["stars"], strict=True)) == sorted(
        [(run.items[0].execution.id, 0, 5), (second, 1, 2)]
    )
    html = run._repr_html_()
    assert html.count("★★★★★") == 1 and html.count("★★☆☆☆") == 1
    run.rate(0, None)  # cleared
    assert run.items[0].stars == {} and "★★★★★" not in run._repr_html_()
    assert len(History().ratings()) == 1


@pytest.mark.parametrize(
    ("which", "stars", "picture", "words"),
    [(2, 3, 0, "No execution at position 2"), ("nope", 3, 0, "No execution 'nope' in this run"),
     (0, 6, 0, "from 1 to 5"), (0, 3, 2, "picture 2 is not one of them"), (True, 3, 0, "position in the run")],
)  # fmt: skip
def test_a_run_refuses_a_bad_rating_and_stores_nothing(rated_run, which, stars, picture, words) -> None:
    with pytest.raises(RatingError, match=words):
        rated_run.rate(which, stars, picture)
    assert History().ratings().empty and all(not item.stars for item in rated_run.items)


def test_stars_are_clicked_in_the_live_grid_and_the_studio_cells(rated_run) -> None:
    from weshop_nb.notebook.widgets._grid import CardRow, ItemCell, RunGrid

    grid = RunGrid(rated_run)  # as %%weshop run shows it: rows of cards, stars under each card
    grid.set_state({"_view_count": 1})  # what a front-end says when it shows the grid
    row = grid.cells[0]
    assert isinstance(row, CardRow) and len(row.stars) == 2 and len(row.stars[0].options) == 10  # 2 pictures x 5
    row.stars[0].click_star(1, 3)  # picture 2, three stars
    assert rated_run.items[0].stars == {1: 3}
    assert [label for label, _ in row.stars[0].options][5:] == ["★", "★", "★", "☆", "☆"]
    assert "★★★☆☆" in row.value  # the card redrawn with them
    row.stars[0].click_star(1, 3)  # the same again: cleared
    assert rated_run.items[0].stars == {} and History().ratings().empty
    studio_grid = RunGrid(rated_run, on_select=lambda item, index: None)  # the studio's cards
    studio_grid.set_state({"_view_count": 1})
    cells = studio_grid.cells
    assert isinstance(cells[1], ItemCell)
    assert [label for label, _ in cells[1].buttons.options] == ["Picture 1", "Picture 2"]
    cells[1].stars.click_star(0, 4)
    assert History().ratings()["stars"].tolist() == [4] and "★★★★☆" in cells[1].card


def test_a_grid_makes_its_stars_when_a_front_end_first_shows_it(rated_run) -> None:
    """No one can click a grid nbclient executes, and nbclient keeps every widget ever opened
    (star bars were most of a finished run's widget state): stars are made once shown."""
    from ipywidgets.widgets.widget import _instances as live_widgets

    from weshop_nb.notebook.widgets._grid import RunGrid, StarBar

    def bars() -> list[StarBar]:
        return [widget for widget in live_widgets.values() if isinstance(widget, StarBar)]

    known = len(bars())
    rows = RunGrid(rated_run)
    cells = RunGrid(rated_run, on_select=lambda item, index: None)
    assert len(bars()) == known and rows._view_count == 0  # not shown yet: no star bar, and asked to be told
    for grid in (rows, cells):
        grid.set_state({"_view_count": 1})  # a front-end shows it
    assert len(bars()) == known + 4  # one per card: 2 executions, in rows and in the studio's cells
    row = rows.cells[0]
    assert list(rows.children) == [rows.progress, row, row.under] and list(row.under.children) == row.stars
    [cell_row] = cells.children[1:]
    assert {cell.stars for cell in cells.cells} <= set(cell_row.children)  # under the studio's cards
    rows.set_state({"_view_count": 2})  # a second view: the same stars
    assert len(bars()) == known + 4
    rows.release()
    assert all(bar.comm is None for bar in row.stars) and len(bars()) == known + 2  # closed with the grid
    unseen = RunGrid(rated_run)
    unseen.release()  # the run ended before a front-end showed it
    unseen.set_state({"_view_count": 1})
    assert len(bars()) == known + 2


def test_comparisons_show_order_and_carry_stars(made, tmp_path) -> None:
    history = History()
    for (prompt, _scene), execution_id in made.items():
        history.rate(execution_id, {"golden hour": 2, "plain studio": 5, "rainy street": 3}[prompt])
    comparison = history.compare(by="prompt,location_name", fetch=lambda url: b"")
    assert list(comparison.sort_by_stars().table.index) == ["plain studio", "rainy street", "golden hour"]
    html = comparison._repr_html_()
    assert html.count("★★★★★") == 2 + 1  # two pictures and the row's mean
    assert html.index("plain studio") < html.index("golden hour")
    frame = comparison.to_frame()
    rated = frame[frame["n_ratings"] > 0]
    assert len(rated) == 6 and set(rated["slot"]) == {0} and frame[frame["slot"] == 1]["stars"].isna().all()
    saved = comparison.save(tmp_path / "compared").read_text()
    assert "★★☆☆☆" in saved and "★★★☆☆" in saved
