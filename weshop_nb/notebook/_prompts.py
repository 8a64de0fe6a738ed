"""The prompt text of ``%%weshop run``: several prompts, and ``{name}`` from the notebook.

* A line holding only ``---`` separates prompts; each block is one prompt.
* ``{name}`` (also ``{name.attr}``, ``{name[0]}`` and format specs like ``{n:03d}``)
  takes a value from the user's namespace; ``{{`` and ``}}`` are literal braces.
* A name that is not defined, or a brace without its pair, is an error that says which,
  never a silent blank.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

__all__ = ["PromptError", "split_prompts", "fill_prompt", "prompts_from_cell"]

_SEPARATOR = re.compile(r"^[ \t]*---[ \t]*$", re.MULTILINE)


class PromptError(ValueError):
    """A prompt template that cannot be filled in."""


def split_prompts(text: str) -> list[str]:
    """The prompt blocks of a cell, stripped, empty blocks dropped."""
    return [block.strip() for block in _SEPARATOR.split(text or "") if block.strip()]


class _NamespaceFormatter(string.Formatter):
    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if isinstance(key, int) or key == "":
            raise PromptError("Empty {} in the prompt: write {name} to insert a variable, or {{ }} for braces.")
        if key not in self.namespace:
            raise PromptError(
                f"{{{key}}} in the prompt is not defined in the notebook. Define {key} first, "
                f"or write {{{{{key}}}}} to keep the braces literally."
            )
        return self.namespace[key]


def fill_prompt(template: str, namespace: Mapping[str, Any]) -> str:
    """``template`` with every ``{name}`` replaced from ``namespace``."""
    try:
        return _NamespaceFormatter(namespace).format(template)
    except PromptError:
        raise
    except ValueError as exc:  # "Single '}' encountered", "unmatched '{'", ...
        raise PromptError(f"Unbalanced brace in the prompt ({exc}); write {{{{ or }}}} for a literal brace.") from None
    except (AttributeError, IndexError, KeyError, TypeError) as exc:
        raise PromptError(f"Could not fill the prompt: {type(exc).__name__}: {exc}") from None


def prompts_from_cell(cell: str | None, namespace: Mapping[str, Any]) -> list[str]:
    """Every prompt of a cell body, filled in."""
    return [fill_prompt(block, namespace) for block in split_prompts(cell or "")]
