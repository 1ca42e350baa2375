"""The queen's synthesis of a propose run: near-duplicate proposals grouped, the ideas ranked.

Pure logic, no I/O: the Prefect tasks (`tasks.proposals.group_proposals`, `tasks.llm.judge_ideas`)
embed the proposals and ask the judge; this module clusters the vectors, writes the judge's prompt
and reads its answer.

Grouping is average-linkage agglomerative clustering on the cosine similarity of the proposals'
sentence embeddings (`phoenix.llm.embeddings`, all-MiniLM-L6-v2 by default): two groups merge while
the mean similarity between their members is at least `SIMILARITY_THRESHOLD`.  Average linkage, not
single linkage, so that a chain of loosely related proposals does not collapse into one idea.

The threshold, measured with the local model on proposals for one project:
- paraphrases of one idea (three wordings of "cache hot database queries in Redis", two of "run
  end-to-end login tests in CI"): 0.655 to 0.834 with each other (short paraphrases such as "put a
  caching layer before the DB": 0.81 to 0.91);
- distinct ideas: at most 0.549, and that for two ideas about the same thing (query caching and
  database indexes, both "make the database faster"); unrelated ideas 0.0 to 0.35.
0.6 sits in the gap: paraphrases merge, neighbouring but different ideas stay apart.

The judge sees one representative per group (the medoid: the member closest on average to the
others), numbered, and answers with an order as JSON.  Its answer is read leniently (a fenced or
embedded JSON object or list; numbers or numeric strings); numbers it leaves out follow in the
default order.  An answer with no usable number is `JudgeUnparsable`, and the caller keeps the
default order: by size, largest group first, then by the first ORCH that proposed it.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from phoenix.llm.client import TokenUsage

if TYPE_CHECKING:
    import numpy as np

SIMILARITY_THRESHOLD = 0.6
"""Least mean cosine similarity at which two groups of proposals are one idea (see the module)."""

MAX_JUDGED_GROUPS = 20
"""The judge ranks at most this many groups (the largest); the rest follow them by size.

A fan-out of hundreds of ORCHs can give hundreds of ideas: a prompt holding them all would not fit
a small model's context, and a judge asked to order 300 items does not order them well."""

MAX_IDEA_CHARS = 600
"""How much of each representative proposal the judge's prompt quotes."""

RankedBy = Literal["judge", "size"]


class IdeaGroup(BaseModel):
    """One idea: the ORCHs whose proposals say it, and the proposal that stands for them."""

    rank: int = Field(ge=1, description="Its place in the synthesis, 1 = best.")
    orchs: list[int] = Field(description="Indices of the ORCHs that proposed it, ascending.")
    representative_orch: int = Field(description="The ORCH whose proposal represents the group.")
    representative: str = Field(description="That proposal's text.")


class Synthesis(BaseModel):
    """The ranked ideas of a run, and how they were ranked."""

    groups: list[IdeaGroup]
    ranked_by: RankedBy = Field(
        description='"judge" when the LLM judge ordered the groups, "size" for the default order.'
    )
    judge_error: str | None = Field(
        default=None, description="Why the judge's order is not used (its call failed, or its answer)."
    )
    grouping_error: str | None = Field(
        default=None,
        description="Why the proposals could not be embedded; each is then a group of its own.",
    )
    threshold: float = SIMILARITY_THRESHOLD
    usage: TokenUsage = Field(
        default_factory=TokenUsage, description="What the judge's call used (grouping is local)."
    )
    wall_s: float = Field(default=0.0, ge=0, description="Time spent grouping and judging.")


class JudgeUnparsable(ValueError):
    """The judge answered, but not with an order of the ideas that can be read."""


def cluster(vectors: np.ndarray, threshold: float = SIMILARITY_THRESHOLD) -> list[list[int]]:
    """Average-linkage clusters of the unit row `vectors`: lists of row numbers, ascending.

    Merges the two most similar groups while their mean pairwise cosine is at least `threshold`
    (Lance-Williams update of the similarity matrix, O(n²) per merge in numpy: ~0.1 s at n = 512).
    """
    import numpy as np

    count = len(vectors)
    if count == 0:
        return []
    similarity = np.asarray(vectors, dtype=np.float64) @ np.asarray(vectors, dtype=np.float64).T
    np.fill_diagonal(similarity, -np.inf)
    sizes = np.ones(count)
    members: list[list[int]] = [[row] for row in range(count)]
    while count > 1:
        flat = int(np.argmax(similarity))
        first, second = divmod(flat, similarity.shape[1])
        if not similarity[first, second] >= threshold:
            break
        first, second = min(first, second), max(first, second)
        weights = sizes[first] + sizes[second]
        merged = (sizes[first] * similarity[first] + sizes[second] * similarity[second]) / weights
        similarity[first, :] = merged
        similarity[:, first] = merged
        similarity[first, first] = -np.inf
        similarity[second, :] = -np.inf
        similarity[:, second] = -np.inf
        sizes[first] = weights
        members[first].extend(members[second])
        members[second] = []
        count -= 1
    return [sorted(group) for group in members if group]


def medoid(vectors: np.ndarray, rows: list[int]) -> int:
    """The row of `rows` with the highest mean similarity to the others (the first on a tie)."""
    import numpy as np

    if len(rows) <= 2:
        return rows[0]
    block = np.asarray(vectors)[rows]
    scores = (block @ block.T).sum(axis=1)
    return rows[int(np.argmax(scores))]


def make_groups(
    proposals: list[tuple[int, str]], vectors: np.ndarray | None, threshold: float = SIMILARITY_THRESHOLD
) -> list[IdeaGroup]:
    """The ideas in `proposals` ((ORCH index, text), rows of `vectors`), in the default order.

    Without vectors (the embedding failed) every proposal is an idea of its own.
    """
    if not proposals:
        return []
    if vectors is None:
        clusters = [[row] for row in range(len(proposals))]
    else:
        clusters = cluster(vectors, threshold)
    found: list[tuple[list[int], int]] = []
    for rows in clusters:
        chosen = medoid(vectors, rows) if vectors is not None else rows[0]
        found.append(([proposals[row][0] for row in rows], chosen))
    found.sort(key=lambda item: (-len(item[0]), min(item[0])))
    return [
        IdeaGroup(
            rank=place,
            orchs=sorted(orchs),
            representative_orch=proposals[chosen][0],
            representative=proposals[chosen][1],
        )
        for place, (orchs, chosen) in enumerate(found, start=1)
    ]


def judge_messages(seed: str, groups: list[IdeaGroup]) -> list[dict[str, str]]:
    """The judge's prompt: the project, then the first `MAX_JUDGED_GROUPS` ideas, numbered from 1."""
    judged = groups[:MAX_JUDGED_GROUPS]
    ideas = "\n".join(
        f"{number}. {_one_line(group.representative)}" for number, group in enumerate(judged, start=1)
    )
    return [
        {
            "role": "system",
            "content": (
                "You are the queen of a hive of expert sub-agents. They each proposed an improvement"
                " to a project; proposals saying the same thing are already merged into one idea."
                " Rank the ideas by how much each would improve the project, most valuable first."
                ' Answer with JSON only, in the form {"ranking": [idea numbers, most valuable'
                " first]}, naming every idea number once."
            ),
        },
        {
            "role": "user",
            "content": f"Project: {seed}\n\nRank these {len(judged)} ideas:\n{ideas}",
        },
    ]


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_IDEA_CHARS else flat[: MAX_IDEA_CHARS - 1] + "…"


_ORDER_KEYS = ("ranking", "order", "ranked", "rank", "ideas", "result")
_ITEM_KEYS = ("idea", "number", "id", "index")


def parse_ranking(text: str, count: int) -> list[int]:
    """The judge's order of ideas 1..`count` as 0-based positions, every position once.

    Reads the JSON objects and lists in `text` that name at least one idea number and takes the
    likeliest answer: an object with a "ranking"/"order" list first, then the one naming the most
    ideas, then the last (so prose such as "idea [3] is risky" before the answer is not read as
    the order).  An object without those keys gives its first list.  Numbers out of range and
    repeats are ignored, and the ideas the answer does not name follow in their given order.

    Raises:
        JudgeUnparsable: no such JSON in `text`.
    """
    decoder = json.JSONDecoder()
    best: tuple[bool, int, int] | None = None
    chosen: list[int] = []
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        numbers = _valid_numbers(_order_in(value), count)
        if not numbers:
            continue
        keyed = isinstance(value, dict) and any(isinstance(value.get(key), list) for key in _ORDER_KEYS)
        rank = (keyed, len(numbers), match.start())
        if best is None or rank > best:
            best, chosen = rank, numbers
    if chosen:
        return chosen + [position for position in range(count) if position not in chosen]
    shown = " ".join(text.split())[:200]
    raise JudgeUnparsable(f"The judge's answer holds no JSON order of ideas 1-{count}: {shown!r}")


def _order_in(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in _ORDER_KEYS:
            if isinstance(value.get(key), list):
                return value[key]
        return next((item for item in value.values() if isinstance(item, list)), [])
    return []


def _valid_numbers(items: list[Any], count: int) -> list[int]:
    positions: list[int] = []
    for item in items:
        if isinstance(item, dict):
            item = next((item[key] for key in _ITEM_KEYS if key in item), None)
        if isinstance(item, bool):
            continue
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        if isinstance(item, int) and 1 <= item <= count and item - 1 not in positions:
            positions.append(item - 1)
    return positions


def apply_ranking(groups: list[IdeaGroup], positions: list[int]) -> list[IdeaGroup]:
    """`groups` (the default order) reordered: the judged ones by `positions`, the rest after."""
    judged = groups[:MAX_JUDGED_GROUPS]
    ordered = [judged[position] for position in positions] + groups[MAX_JUDGED_GROUPS:]
    return [group.model_copy(update={"rank": place}) for place, group in enumerate(ordered, start=1)]
