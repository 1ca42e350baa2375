"""What a conversation turn remembers: recent exchanges and relevant memories, within a budget.

Each turn of `speak` is answered with (1) the conversation's recent exchanges, as the chat messages
they were, and (2) the vector memories closest in meaning to what the person just said — notes, and
older turns of the same conversation — in the system message.  Together they stay within
`settings.context_tokens`, estimated as characters / 4 (the usual rule of thumb for English with
BPE tokenizers; no tokenizer of the configured model is needed).

How the budget is shared: the newest exchanges first, up to half of it; then memories, best score
first, down to `MIN_SCORE` (an unrelated memory is never recalled, however much room is left); then
older recent exchanges with what remains.  Anything that does not fit is skipped, not cut, so one
long memory cannot crowd out several short relevant ones.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, Field

from phoenix.store.episodes import Episode
from phoenix.store.vectors import VectorHit

RECENT_TURNS = 6
"""The most recent exchanges considered for the prompt."""
MEMORY_CANDIDATES = 12
MIN_SCORE = 0.3
"""all-MiniLM-L6-v2 scores unrelated English sentences around 0–0.2 and paraphrases above 0.5."""
SYSTEM_PROMPT = "You are Phoenix, an orchestrator of AI agents. Answer briefly and helpfully."


def estimate_tokens(text: str) -> int:
    """Tokens of `text`, estimated as characters / 4, rounded up."""
    return math.ceil(len(text) / 4)


class MemoryCitation(BaseModel):
    id: str
    score: float


class TurnContext(BaseModel):
    """What a turn was answered with, cited in its envelope."""

    conversation: str
    episodes: list[str] = Field(description="Keys of the recent exchanges in the prompt, oldest first.")
    memories: list[MemoryCitation] = Field(description="Recalled memories, best first.")
    tokens: int = Field(description="Estimated tokens of the recalled context (characters / 4).")
    budget: int


def exchange_text(episode: Episode) -> str:
    return f"{episode.user}\n{episode.assistant}"


def memory_line(hit: VectorHit) -> str:
    return f"- {hit.text}"


def choose_context(
    recent: list[Episode], hits: list[VectorHit], budget: int, conversation: str
) -> tuple[list[Episode], list[VectorHit], TurnContext]:
    """The exchanges (newest first in `recent`) and memories that fit `budget`, by the rules above."""
    used = 0
    chosen_turns: list[Episode] = []
    chosen_hits: list[VectorHit] = []

    def take_turns(limit: int) -> None:
        nonlocal used
        for episode in recent:
            if episode in chosen_turns:
                continue
            cost = estimate_tokens(exchange_text(episode))
            if used + cost <= limit:
                chosen_turns.append(episode)
                used += cost

    take_turns(budget // 2)
    for hit in hits:
        cost = estimate_tokens(memory_line(hit))
        if hit.score >= MIN_SCORE and used + cost <= budget:
            chosen_hits.append(hit)
            used += cost
    take_turns(budget)
    chosen_turns.sort(key=lambda episode: episode.key)  # oldest first, as the talk went
    context = TurnContext(
        conversation=conversation,
        episodes=[episode.key for episode in chosen_turns],
        memories=[MemoryCitation(id=hit.id, score=hit.score) for hit in chosen_hits],
        tokens=used,
        budget=budget,
    )
    return chosen_turns, chosen_hits, context


def turn_messages(user_input: str, turns: list[Episode], hits: list[VectorHit]) -> list[dict[str, str]]:
    """The chat messages of a turn: the system prompt with the memories, the exchanges, the input."""
    system = SYSTEM_PROMPT
    if hits:
        lines = "\n".join(memory_line(hit) for hit in hits)
        system += (
            "\n\nThings you remember that may be relevant (notes and earlier conversation turns):\n"
            + lines
        )
    messages = [{"role": "system", "content": system}]
    for episode in turns:
        messages += [
            {"role": "user", "content": episode.user},
            {"role": "assistant", "content": episode.assistant},
        ]
    messages.append({"role": "user", "content": user_input})
    return messages
