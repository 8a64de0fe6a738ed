"""``%weshop agents`` and ``%weshop help AGENT``: the agent registry as a person reads it.

Everything shown is derived from :mod:`weshop_nb.contract`; nothing here knows an agent.
"""

from __future__ import annotations

from ..contract import AgentSpec, Param, agents, spec
from ..work._plan import FLAGS

__all__ = ["agents_text", "agent_help"]


def agents_text() -> str:
    """One line per registered agent: name, version, what it makes, what it does."""
    lines = ["Agents (`%weshop help AGENT` shows one; `%%weshop run --agent AGENT` launches it):"]
    width = max(len(name) for name in agents())
    for name in agents():
        found = spec(name)
        assert found is not None
        lines.append(f"  {name:<{width}} {found.version:<5} {found.output:<6} {found.summary}")
    return "\n".join(lines)


def _values(param: Param) -> str:
    if param.choices:
        shown = param.choices if len(param.choices) <= 9 else (*param.choices[:8], "...")
        return "one of " + ", ".join(shown)
    if param.kind == "int":
        low, high = param.minimum, param.maximum
        if low is not None and high is not None:
            return f"integer {low} to {high}"
        if high is not None:
            return f"integer at most {high}"
        return "integer" if low is None else f"integer from {low}"
    if param.kind == "bool":
        return "true or false"
    return f"text, like {param.pattern}" if param.pattern and param.pattern != "url" else "text"


def agent_help(found: AgentSpec) -> str:
    """Every input, parameter and rule of one agent, with the magic's options that set them."""
    options = {param: flag for param, flag in FLAGS.values()}
    main = found.main_input.name
    lines = [
        f"{found.name} {found.version}: {found.summary} Makes {found.output}s.",
        "",
        f"Images (--image fills {main}; the others with --input NAME=PATH|URL):",
    ]
    for image in found.inputs:
        count = image.count_words()
        kind = (f"list of {count}: " if count else "list: ") if image.multiple else ""
        need = "required" if image.required else "optional"
        lines.append(f"  {image.name:<18} {need:<9} {kind}{image.doc}")
        if image.multiple and len(image.places) > 1:
            # How to give each place: the main input's first from --image, the rest from --input.
            needed = image.min_count or 0
            for index, place in enumerate(image.places):
                how = "--image" if image.name == main and index == 0 else f"--input {image.name}=PATH|URL"
                optional = " (optional)" if index >= needed else ""
                lines.append(f"  {'':<18} {'':<9} {image.name}[{index}] {place}{optional}: {how}")
    lines += ["", "Parameters (--param NAME=VALUE; give a name several values to sweep over them):"]
    for param in found.params:
        need = "required" if param.required else "optional"
        if param.required_v1 is False:
            need = "required*"
        default = f"; default {param.default}" if param.default is not None else ""
        flag = options.get(param.name)
        option = "" if flag is None else f"; or {flag}" if flag.startswith("-") else "; or the cell body"
        lines.append(f"  {param.name:<18} {need:<9} {_values(param)}{default}{option}")
        if param.doc:
            lines.append(f"  {'':<18} {'':<9} {param.doc}")
    if any(p.required_v1 is False for p in found.params):
        lines.append("  * required on the runs API; the v1 task API lets it be left out")
    if found.rules:
        lines += ["", "Rules:"] + [f"  {rule.describe()}" for rule in found.rules]
    return "\n".join(lines)
