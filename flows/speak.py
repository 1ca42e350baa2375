"""speak: a conversation turn with the LLM that remembers, kept as an episodic memory.

Each turn is answered with the conversation's recent exchanges and the memories closest in meaning
to what was said (within PHOENIX_CONTEXT_TOKENS; `phoenix.conversation` says how the budget is
shared), and the reply's envelope cites them under `context`.  The turn is then kept, as a
key-value episode and as a vector memory, so "what did I ask you before?" works later.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from blocks.llm import resolve_settings
from flows.run_names import speak_run_name
from phoenix.errors import BadInput
from phoenix.store.episodes import DEFAULT_CONVERSATION
from tasks.conversation import answer_turn
from tasks.memory import recall_context, remember_episode


@flow(name="speak", flow_run_name=speak_run_name, validate_parameters=True)
def speak(user_input: str, conversation: str = DEFAULT_CONVERSATION) -> dict[str, Any]:
    """Answer `user_input` with what this conversation remembers, then remember the exchange.

    Args:
        user_input: what the user says; the reply and the input are kept as an episode.
        conversation: which conversation this turn belongs to (one default conversation).
    """
    text = (user_input or "").strip()
    if not text:
        raise BadInput("Say something: the input is empty")
    conversation = (conversation or "").strip() or DEFAULT_CONVERSATION
    settings = resolve_settings()
    messages, context = recall_context(text, conversation, settings)
    reply = answer_turn(messages, settings)
    episode = remember_episode(text, reply, conversation)
    return {
        "type": "speak",
        "message": reply,
        "episode_key": episode.key,
        "conversation": conversation,
        "context": context.model_dump(),
    }
