"""The repository of a spawned agent, made from the template files in `templates/`.

The template is plain files with `@NAME@` placeholders (autoconf's style: nothing in Rust, TOML,
Markdown or a GitHub Actions `${{ }}` expression looks like one, so the files need no escaping and
stay readable).  Each value is escaped for the file it goes into before it is put in.  Files whose
name begins with a dot are kept as `dot-…` (packaging tools skip dotfiles) and every template ends
in `.tmpl` so that no tool mistakes `Cargo.toml` for a real crate of Phoenix's.

The layout makes `cargo test` mean something: `src/lib.rs` exposes the generated module,
`tests/smoke.rs` calls `generated::run()` and runs the binary (`src/main.rs`), so a module that
does not compile, panics or never returns fails the tests.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from phoenix.agents.naming import AgentName
from phoenix.agents.tiers import Tier, Visibility

TEMPLATES = Path(__file__).parent / "templates"
SUFFIX = ".tmpl"
PLACEHOLDER = re.compile(r"@([A-Z_]+)@")
GENERATED_PATH = Path("src/generated.rs")
DESCRIPTION_PATH = Path("agent.json")
# A fenced block: ``` or ~~~ (three or more), an optional language tag, the body, the same fence.
FENCE = re.compile(
    r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n(?P<body>.*?)"
    r"(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
    re.MULTILINE | re.DOTALL,
)
RUST_TAGS = frozenset({"rust", "rs"})


class AgentSpec(BaseModel):
    """Everything the template needs to know about one agent."""

    name: AgentName
    description: str
    tier: Tier
    visibility: Visibility
    model: str = Field(description="the LLM that wrote the generated code (a litellm model string)")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def strip_code_fences(answer: str) -> str:
    """The code in an LLM's answer: the first Rust fenced block (else the first fenced block),
    or, with no fence, the answer without a leading language-tag line such as `rust`."""
    blocks = list(FENCE.finditer(answer))
    if blocks:
        rust = [block for block in blocks if block["lang"].lower() in RUST_TAGS]
        code = (rust or blocks)[0]["body"]
    else:
        first, newline, rest = answer.lstrip().partition("\n")
        code = rest if newline and first.strip().lower() in RUST_TAGS else answer
    return code.strip("\n").rstrip() + "\n"


def _toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, and non-ASCII stays readable)."""
    return json.dumps(text, ensure_ascii=False)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def placeholders(agent: AgentSpec) -> dict[str, str]:
    """The value of each placeholder, escaped for the one kind of file it appears in."""
    return {
        "CRATE": agent.name.crate,
        "REPO": agent.name.repo,
        "DISPLAY_RUST": _one_line(agent.name.display),
        "DISPLAY_MD": _one_line(agent.name.display),
        "DESCRIPTION_TOML": _toml_string(_one_line(agent.description)),
        "DESCRIPTION_MD": agent.description.strip(),
        "TIER": agent.tier.value,
        "VISIBILITY": agent.visibility.value,
        "MODEL": agent.model.replace("`", "'"),
        "CREATED_AT": agent.created_at.isoformat(timespec="seconds"),
    }


def render(template: str, values: dict[str, str]) -> str:
    """`template` with each `@NAME@` replaced; an unknown name is a bug in the template."""

    def value(match: re.Match[str]) -> str:
        if match[1] not in values:
            raise KeyError(f"the agent template uses an unknown placeholder @{match[1]}@")
        return values[match[1]]

    return PLACEHOLDER.sub(value, template)


def template_files() -> dict[Path, Path]:
    """Each template file and the path it takes in the agent's repository."""
    files = {}
    for source in sorted(TEMPLATES.rglob(f"*{SUFFIX}")):
        relative = source.relative_to(TEMPLATES).as_posix().removesuffix(SUFFIX)
        target = "/".join(
            f".{part.removeprefix('dot-')}" if part.startswith("dot-") else part
            for part in relative.split("/")
        )
        files[source] = Path(target)
    return files


def agent_description(agent: AgentSpec) -> str:
    """agent.json: what the marketplace and `phoenix agents show` read about the agent."""
    document = {
        "name": agent.name.display,
        "repo": agent.name.repo,
        "crate": agent.name.crate,
        "description": agent.description,
        "tier": agent.tier.value,
        "visibility": agent.visibility.value,
        "model": agent.model,
        "created_at": agent.created_at.isoformat(timespec="seconds"),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def assemble(folder: Path, agent: AgentSpec, generated_code: str) -> list[Path]:
    """Write the agent's repository into `folder`: every template file filled in, the generated
    module (fences stripped) and agent.json.  Files already there are overwritten, others left.

    Returns the paths written, sorted (the files a publisher must push).
    """
    values = placeholders(agent)
    written = []
    for source, relative in template_files().items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(source.read_text(), values))
        written.append(target)
    for relative, text in (
        (GENERATED_PATH, strip_code_fences(generated_code)),
        (DESCRIPTION_PATH, agent_description(agent)),
    ):
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(target)
    return sorted(written)
