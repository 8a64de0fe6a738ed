"""The README and docs/ point at things that exist: example photos, linked files and sections."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#+\s+(.+)$", re.M)


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_anchor(heading) for heading in HEADING.findall(page.read_text())}


def _local_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(page.read_text()) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_local_link_resolves(page: Path) -> None:
    broken = []
    for target in _local_links(page):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.is_file() or (anchor and anchor not in _anchors(linked)):
            broken.append(target)
    assert not broken, f"{page.name} links to what is not there: {broken}"


def test_the_readme_links_every_doc_and_shows_its_picture() -> None:
    readme = ROOT / "README.md"
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in _local_links(readme)}
    docs = {page.resolve() for page in PAGES[1:]}
    assert docs <= linked, f"not linked from the README: {sorted(p.name for p in docs - linked)}"
    picture = ROOT / "docs" / "studio.png"
    assert picture.resolve() in linked
    assert picture.stat().st_size < 150_000  # small enough for a README; docs/screenshot.py makes it


@pytest.mark.parametrize("page", [ROOT / "README.md", ROOT / "docs" / "usage.md", ROOT / "docs" / "client.md"])
def test_the_example_photos_are_where_a_reader_stands(page: Path) -> None:
    # The examples run from the repository root, so their local photos are paths from there.
    text = page.read_text()
    photos = re.findall(r"--image (\S+)|--input \w+=(\S+)|upload_image\(\"([^\"]+)\"\)|Image\": \"([^\"]+)\"", text)
    paths = [next(p for p in found if p) for found in photos]
    assert paths, f"{page.name} has no example photo"
    # A folder is a garment set (every picture directly inside it): it must hold some.
    missing = [path for path in paths if not (ROOT / path).is_file() and not any((ROOT / path).glob("*.jpg"))]
    assert not missing, f"{page.name}'s examples use photos that are not in the repository: {missing}"
