"""Makefile targets, parsed from the file's text — never by running make.

Parsed, not evaluated: it reads the rules a person could ask make for, skipping what make computes
(variables, conditionals taken or not, included files).  `discover.py` turns the targets into
commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MAKE_ASSIGNMENT = re.compile(r"^(?:(?:export|override|private)\s+)*[^\s:#=]+\s*(?::{1,3}=|[?+!]?=)")
_MAKE_DIRECTIVES = frozenset(
    {
        *("include", "-include", "sinclude", "load", "-load", "vpath"),
        *("ifeq", "ifneq", "ifdef", "ifndef", "else", "endif"),
        *("export", "unexport", "override", "undefine", "private"),
    }
)
_MAKE_CONTINUATION = re.compile(r"\\\r?\n")
_MAKE_COMMENT = re.compile(r"(?<!\\)#")


@dataclass
class MakeTarget:
    """A target of a Makefile and the recipe lines written under its rules."""

    name: str
    recipe: list[str] = field(default_factory=list)
    phony: bool = False


def _rule_colon(line: str) -> int:
    """Index of the colon that separates a rule's targets, skipping `$(...)`/`${...}`; -1 if none."""
    if "$" not in line:
        return line.find(":")
    depth = 0
    for index, char in enumerate(line):
        if char in "({" and index and line[index - 1] == "$":
            depth += 1
        elif char in ")}" and depth:
            depth -= 1
        elif char == ":" and not depth:
            return index
    return -1


def _strip_comment(line: str) -> str:
    """The line without a `#` comment (an escaped `\\#` is kept)."""
    if "#" not in line:
        return line
    match = _MAKE_COMMENT.search(line)
    return line[: match.start()] if match else line


def parse_makefile(text: str) -> list[MakeTarget]:
    """The targets a person can ask make for, in the order the Makefile first names them.

    Parsed, not evaluated: variable assignments, directives and `define` bodies are skipped;
    special targets (`.PHONY`, `.DEFAULT`, suffix rules — anything starting with `.`), pattern rules
    (`%`) and targets made of variables (`$(OUT)/x`) are left out because they are not names one can
    type; lines with a target-specific variable (`debug: CFLAGS += -g`) define no rule.  Both
    branches of a conditional are read, and included makefiles are not followed.
    """
    targets: dict[str, MakeTarget] = {}
    phony: set[str] = set()
    current: list[MakeTarget] = []
    in_define = False
    for raw in _MAKE_CONTINUATION.sub(" ", text).splitlines():
        if in_define:
            in_define = raw.strip() != "endef"
            continue
        if raw.startswith("\t"):
            for target in current:
                target.recipe.append(raw.strip())
            continue
        line = _strip_comment(raw).strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "define":
            in_define = True
            current = []
            continue
        colon = _rule_colon(line)
        # A directive word followed by a colon is a target that happens to share its name.
        is_directive = words[0] in _MAKE_DIRECTIVES and line[len(words[0]) :].lstrip()[:1] != ":"
        if _MAKE_ASSIGNMENT.match(line) or is_directive or colon < 0:
            current = []
            continue
        names, rest = line[:colon], line[colon + 1 :].removeprefix(":")
        if _MAKE_ASSIGNMENT.match(rest.strip()):
            current = []  # a target-specific variable, not a rule
            continue
        prerequisites, _, inline_recipe = rest.partition(";")
        current = []
        for name in names.replace("&", " ").split():
            if name == ".PHONY":
                phony.update(prerequisites.split())
            if name.startswith(".") or "%" in name or "$" in name:
                continue
            current.append(targets.setdefault(name, MakeTarget(name)))
        if inline_recipe.strip():
            for target in current:
                target.recipe.append(inline_recipe.strip())
    for target in targets.values():
        target.phony = target.name in phony
    return list(targets.values())
