"""Agent names: one name typed by a person, made into a repository name and a Rust crate name.

A spawn turns free text (`spawn agent Météo Bot/2:…`) into three names that must all be valid at
once: the display name people read, a repository name GitHub accepts (letters, digits, `-`, `_`,
`.`, at most 100 characters, never `.`/`..` or a leading `.`) and a crate name cargo accepts
(lowercase snake_case, not starting with a digit, not a Rust keyword, not a crate the agent itself
depends on).  Unicode is transliterated as far as NFKD can take it (`é` → `e`); what it cannot
(`日本`, `ß`) is dropped rather than guessed.  Input that leaves nothing is refused with a sentence
saying what to type instead.
"""

from __future__ import annotations

import re
import unicodedata

from pydantic import BaseModel

from phoenix.errors import BadInput

REPO_MAX = 100
CRATE_MAX = 64
DISPLAY_MAX = 100
# Words that cannot name a crate: Rust's keywords (strict, reserved and edition-2024 ones), the
# standard crates, and the crates an agent depends on (a package cannot depend on its own name).
RESERVED_CRATE_NAMES = frozenset(
    """as async await break const continue crate dyn else enum extern false fn for if impl in let
    loop match mod move mut pub ref return self static struct super trait true type unsafe use
    where while abstract become box do final macro override priv typeof unsized virtual yield try
    gen test std core alloc proc_macro tokio serde serde_json serde_derive""".split()  # noqa: SIM905
)
# Words skipped when a name is made from a description's first words ("a bot that…").
FILLER_WORDS = frozenset("a an the that which who to for of and or with my our your".split())  # noqa: SIM905
NAME_WORDS = 3
# The most words a name before ':' may have; longer text before ':' is part of the description.
NAME_MAX_WORDS = 6


class AgentName(BaseModel):
    """The three names of one agent."""

    display: str
    repo: str
    crate: str


class SpawnRequest(BaseModel):
    """What `spawn agent …` asked for."""

    name: AgentName
    description: str


def _ascii_words(text: str) -> list[str]:
    """Lowercase ASCII words of `text`: NFKD transliteration, everything else a separator."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z0-9]+", ascii_text.lower())


def _fit(words: list[str], separator: str, limit: int) -> str:
    """Join `words` with `separator`, keeping whole words within `limit` characters (a first word
    longer than the limit is cut)."""
    joined = ""
    for word in words:
        candidate = f"{joined}{separator}{word}" if joined else word
        if len(candidate) > limit:
            break
        joined = candidate
    return joined or words[0][:limit]


_LOOKS_LIKE_AN_ID = re.compile(r"[0-9a-f]{10}")
"""An agent id is `uuid4().hex[:10]` (phoenix.store.agents); a name like that could shadow one."""


def normalise_agent_name(text: str) -> AgentName:
    """The display, repository and crate names made from `text`; BadInput when nothing is left.

    Every run of characters other than ASCII letters and digits becomes one separator (`-` in the
    repository name, `_` in the crate name), so spaces, slashes and dots never reach a path.
    """
    display = " ".join(text.split())[:DISPLAY_MAX]
    words = _ascii_words(text)
    if not words:
        if not display:
            raise BadInput("The agent's name is empty: give a name such as weather-bot.")
        raise BadInput(
            f"{display!r} cannot name an agent: it has no letters or digits that a repository "
            "name can hold (after transliterating accents). Give a name such as weather-bot."
        )
    repo = _fit(words, "-", REPO_MAX)
    if _LOOKS_LIKE_AN_ID.fullmatch(repo):  # `phoenix agents …` finds agents by id or by name
        raise BadInput(
            f"{display!r} cannot name an agent: ten hex digits look like an agent's id."
            " Give a name such as weather-bot."
        )
    crate = _fit(words, "_", CRATE_MAX)
    if crate[0].isdigit():
        crate = f"agent_{crate}"[:CRATE_MAX].rstrip("_")
    if crate in RESERVED_CRATE_NAMES:
        crate = f"{crate}_agent"
    return AgentName(display=display or repo, repo=repo, crate=crate)


def name_from_description(description: str) -> AgentName:
    """A name made from the first words of a description, skipping filler such as "a" or "that"."""
    words = _ascii_words(description)
    meaningful = [word for word in words if word not in FILLER_WORDS] or words
    if not meaningful:
        raise BadInput(
            "No name can be made from that description (no letters or digits): "
            "write `spawn agent NAME: DESCRIPTION`."
        )
    return normalise_agent_name(" ".join(meaningful[:NAME_WORDS]))


SPAWN = re.compile(r"\s*spawn\s+agent\b(?P<rest>.*)\Z", re.IGNORECASE | re.DOTALL)


def parse_spawn_command(text: str) -> SpawnRequest:
    """Parse `spawn agent NAME: DESCRIPTION` or `spawn agent DESCRIPTION`.

    Text before the first `:` is the name when it is short (at most six words); otherwise the whole
    text is the description (`spawn agent a bot that replies: hello` has no name) and the name is
    made from its first words.
    """
    match = SPAWN.match(text)
    if match is None:
        raise BadInput("A spawn command reads `spawn agent NAME: DESCRIPTION`.")
    rest = match["rest"].strip()
    head, colon, tail = rest.partition(":")
    if colon and head.strip() and len(head.split()) <= NAME_MAX_WORDS:
        name_text, description = head.strip(), " ".join(tail.split())
        if not description:
            raise BadInput(
                f"The agent {name_text!r} has no description: write what it should do after ':'."
            )
        return SpawnRequest(name=normalise_agent_name(name_text), description=description)
    description = " ".join(rest.split()).lstrip(":").strip()
    if not description:
        raise BadInput("Say what the agent should do: `spawn agent NAME: DESCRIPTION`.")
    return SpawnRequest(name=name_from_description(description), description=description)
