"""The pictures of a launch: files, URLs, globs and folders, each once, in the order named."""

from __future__ import annotations

import pandas as pd
import pytest

from weshop_nb.work._pictures import PictureError, expand_pictures


@pytest.fixture
def shoot(tmp_path, monkeypatch, make_image):
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("b.png", "a.jpg", "c.webp", "notes.txt", ".hidden.png"):
        (folder / name).write_bytes(make_image() if name != "notes.txt" else b"not a picture")
    (folder / "inner").mkdir()
    (folder / "inner" / "deeper.png").write_bytes(make_image())
    monkeypatch.chdir(tmp_path)
    return folder


def test_a_folder_gives_its_pictures_sorted_by_name(shoot) -> None:
    assert expand_pictures("shoot") == [str(shoot / n) for n in ("a.jpg", "b.png", "c.webp")]


def test_globs_files_urls_and_series_keep_order_and_come_once(shoot) -> None:
    url = "https://example.com/coat.png"
    found = expand_pictures(pd.Series(["shoot/*.png", url, "shoot/a.jpg", "shoot/b.png"]))
    assert found == [str(shoot / "b.png"), url, str(shoot / "a.jpg")]
    assert expand_pictures(shoot / "c.webp") == [str(shoot / "c.webp")]


def test_every_name_that_matches_nothing_is_named(shoot) -> None:
    with pytest.raises(PictureError) as error:
        expand_pictures(["shoot/*.gif", "shoot/b.pgn", "empty", "shoot/a.jpg"])
    message = str(error.value)
    assert "no picture matches shoot/*.gif" in message
    assert "no file shoot/b.pgn" in message and "Close matches: shoot/b.png" in message
    assert "no file empty" in message


def test_a_folder_without_pictures_says_so(shoot) -> None:
    (shoot / "empty").mkdir()
    with pytest.raises(PictureError, match="holds no picture"):
        expand_pictures("shoot/empty")
