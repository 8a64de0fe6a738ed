"""The prompt text of ``%%weshop run``: several prompts, and ``{name}`` from the notebook.

* A line holding only ``---`` separates prompts; each block is one prompt.
* ``{name}`` takes a value from the user's namespace; ``{{`` and ``}}`` are literal braces.
  Only plain names are filled in: ``{x.upper}``, ``{x[0]}``, ``{n:03d}``, ``{x!r}`` and
  ``{0}`` are refused as such (an attribute would send the repr of a method, a format
  spec fails on a string), with the rule named.
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


def _field_problem(field: str, spec: str | None, conversion: str | None) -> str | None:
    """Why ``{field...}`` is not a plain name to fill in, or None when it is one."""
    shown = "{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
    if field == "" or field.isdigit():
        return f"{shown}: braces need a name from the notebook, e.g. {{season}}; write {{{{ }}}} for literal braces."
    if not field.isidentifier():
        return f"{shown}: only plain names are filled in; compute the value first (x = ...) and write {{x}}."
    if spec or conversion:
        return (
            f"{shown}: only plain names are filled in, without a format; format the value first and write {{{field}}}."
        )
    return None


def fill_prompt(template: str, namespace: Mapping[str, Any]) -> str:
    """``template`` with every ``{name}`` replaced from ``namespace``."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:  # "Single '}' encountered", "unmatched '{'", ...
        raise PromptError(f"Unbalanced brace in the prompt ({exc}); write {{{{ or }}}} for a literal brace.") from None
    filled = []
    for literal, field, spec, conversion in parts:
        filled.append(literal)
        if field is None:
            continue
        problem = _field_problem(field, spec, conversion)
        if problem is not None:
            raise PromptError(problem)
        if field not in namespace:
            raise PromptError(
                f"{{{field}}} in the prompt is not defined in the notebook. Define {field} first, "
                f"or write {{{{{field}}}}} to keep the braces literally."
            )
        filled.append(str(namespace[field]))
    return "".join(filled)


def prompts_from_cell(cell: str | None, namespace: Mapping[str, Any]) -> list[str]:
    """Every prompt of a cell body, filled in."""
    return [fill_prompt(block, namespace) for block in split_prompts(cell or "")]
