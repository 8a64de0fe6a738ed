"""The emulator's catalogue of locations (scenes) and fashion models.

Ids, names and the shape of each entry follow the reference's agent-info example; the
two first entries of each list are the reference's own. ``colors`` is the emulator's
private drawing palette (top and bottom of the backdrop) and never leaves the server.
"""

from __future__ import annotations

from typing import Any

_TAGS = {
    "Film grain": 1002035,
    "Spot light": 1002036,
    "Outdoor": 1002040,
    "Indoor": 1002041,
    "Natural light": 1002042,
    "Night": 1002043,
    "Smiling": 1002003,
    "Standing": 1002010,
    "Walking": 1002011,
    "Sitting": 1002012,
    "Fashionable": 1002020,
    "Lying": 1002032,
}


def _tags(*names: str) -> list[dict[str, Any]]:
    return [{"id": _TAGS[name], "name": name} for name in names]


def _location(id_: int, name: str, categories: list[str], tags: list[str], colors: tuple[str, str]) -> dict:
    return {"id": id_, "name": name, "categories": categories, "tags": _tags(*tags), "colors": colors}


def _model(id_: int, name: str, nationality: str, style: str, cost: int, tags: list[str], category: str) -> dict:
    price = f"Additional cost of {cost} points / image" if cost else "No additional cost"
    return {
        "id": id_,
        "name": name,
        "profile": {"nationality": nationality, "priceDescription": price, "style": style},
        "tags": _tags(*tags),
        "type": "AI",
        "categories": [category],
    }


LOCATIONS = [
    _location(6000372, "White Studio", ["womenswear"], ["Film grain", "Spot light", "Indoor"], ("#fafafa", "#d6d6d6")),
    _location(
        6000392,
        "French Flagstone Pavement",
        ["menswear"],
        ["Film grain", "Outdoor", "Natural light"],
        ("#cfc6b8", "#7d7265"),
    ),
    _location(6000401, "Sunny Beach", ["womenswear", "kidswear"], ["Outdoor", "Natural light"], ("#8fd3f4", "#f3d9a4")),
    _location(
        6000402, "Neon Street at Night", ["menswear", "womenswear"], ["Night", "Film grain"], ("#1b1035", "#d1307a")
    ),
    _location(6000403, "Autumn Park", ["womenswear", "menswear"], ["Outdoor", "Natural light"], ("#f6c26b", "#8a4b1f")),
    _location(6000404, "Minimal Concrete Loft", ["menswear"], ["Indoor", "Spot light"], ("#b9b9b4", "#6c6c68")),
    _location(6000405, "Paris Café Terrace", ["womenswear"], ["Outdoor", "Film grain"], ("#e9d8c4", "#6e4b3a")),
    _location(
        6000406, "Desert Dunes", ["menswear", "womenswear"], ["Outdoor", "Natural light"], ("#fbe3b0", "#c9823f")
    ),
    _location(6000407, "Tokyo Crosswalk", ["menswear", "womenswear"], ["Outdoor", "Night"], ("#4b5d78", "#20242e")),
    _location(
        6000408, "Flower Garden", ["womenswear", "kidswear"], ["Outdoor", "Natural light"], ("#c6e7b0", "#e58fb4")
    ),
]

FASHION_MODELS = [
    _model(4020082, "Letitia", "Spain", "Chic, Sexy, Sophisticated", 5, ["Smiling", "Lying"], "womenswear"),
    _model(4020095, "Eve", "Poland", "Sweet, Cute", 5, ["Smiling", "Fashionable"], "womenswear"),
    _model(4020101, "Amara", "Nigeria", "Bold, Elegant", 0, ["Standing", "Fashionable"], "womenswear"),
    _model(4020102, "Kenji", "Japan", "Minimal, Street", 0, ["Walking", "Standing"], "menswear"),
    _model(4020103, "Sofia", "Brazil", "Sunny, Sporty", 3, ["Smiling", "Walking"], "womenswear"),
    _model(4020104, "Lars", "Sweden", "Clean, Nordic", 0, ["Standing", "Sitting"], "menswear"),
    _model(4020105, "Mei", "China", "Graceful, Modern", 5, ["Sitting", "Fashionable"], "womenswear"),
    _model(4020106, "Aarav", "India", "Smart, Casual", 0, ["Smiling", "Standing"], "menswear"),
    _model(4020107, "Chloé", "France", "Effortless, Parisian", 5, ["Walking", "Fashionable"], "womenswear"),
]


def public_entry(entry: dict[str, Any], kind: str, base_url: str) -> dict[str, Any]:
    """The entry as the service shows it: drawing colours removed, thumbnail URL added."""
    shown = {key: value for key, value in entry.items() if key != "colors"}
    shown["image"] = f"{base_url}files/catalogue/{kind}-{entry['id']}.png"
    return shown


# removeBG's preset backgrounds (agent info ``backgrounds``): flat colours.
BACKGROUNDS = [
    {"id": 1, "name": "Pure White", "colors": ("#ffffff", "#ffffff")},
    {"id": 2, "name": "Light Grey", "colors": ("#e6e6e6", "#e6e6e6")},
    {"id": 3, "name": "Black", "colors": ("#000000", "#000000")},
    {"id": 4, "name": "Warm Beige", "colors": ("#efe2cf", "#efe2cf")},
    {"id": 5, "name": "Sky Blue", "colors": ("#bfe3ff", "#bfe3ff")},
]
