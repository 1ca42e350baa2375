"""Conversations remember: each turn is answered with earlier turns and relevant memories.

The scripted chat server records every prompt it receives, so the tests read exactly what the LLM
was shown; the memories are found by the real embedding model.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from flows import run_flow
from phoenix.settings import load_settings
from phoenix.store import open_store
from phoenix.store import vectors as vec
from tests.conftest import ChatServer


def speak(text: str, **extra: Any) -> dict[str, Any]:
    return run_flow("speak", {"user_input": text, **extra})


def prompt_text(request: dict[str, Any]) -> str:
    return "\n".join(str(message.get("content")) for message in request["messages"])


def test_a_later_turn_is_answered_with_the_earlier_one(chat: ChatServer) -> None:
    chat.control(replies=["Noted: your cat is called Biscuit.", "You asked me about your cat."])
    first = speak("My cat is called Biscuit and she is three years old.")
    assert first["context"]["episodes"] == [] and first["conversation"] == "default"
    second = speak("What did I ask you before?")
    assert second["message"] == "You asked me about your cat."
    assert second["context"]["episodes"] == [first["episode_key"]]
    messages = chat.requests()[-1]["messages"]
    assert messages[1:] == [
        {"role": "user", "content": "My cat is called Biscuit and she is three years old."},
        {"role": "assistant", "content": "Noted: your cat is called Biscuit."},
        {"role": "user", "content": "What did I ask you before?"},
    ]
    # Another conversation does not see it, but recalls nothing of this one either.
    speak("What did I ask you before?", conversation="work")
    assert "Biscuit" not in prompt_text(chat.requests()[-1])


def test_an_older_turn_is_recalled_by_meaning_and_unrelated_memory_stays_out(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOENIX_CONTEXT_TOKENS", "120")  # room for about 480 characters
    settings = load_settings()
    store = open_store(settings)
    long_unrelated = "Quarterly tax filing procedure for corporate accounts. " * 40  # ~550 tokens
    vec.store_text(store, settings, long_unrelated, {"kind": "note"})
    vec.store_text(store, settings, "The garage door code is 4512.", {"kind": "note"})
    chat.control(replies=["Understood."])
    first = speak("My sister Maria lives in Lisbon and works as an architect.")
    fillers = ["Tell me a joke.", "How are you?", "Thanks!", "Tokyo's time zone?", "Hi.", "Ok."]
    for filler in fillers:  # as many as the recent exchanges considered: the first is older
        speak(filler, conversation="default")

    reply = speak("Where does my sibling live?")
    context = reply["context"]
    prompt = prompt_text(chat.requests()[-1])
    assert "Maria lives in Lisbon" in prompt
    assert "Quarterly tax filing" not in prompt and "garage door" not in prompt
    assert context["tokens"] <= context["budget"] == 120
    recalled = [item["id"] for item in context["memories"]]
    sister = vec.text_id(
        "User: My sister Maria lives in Lisbon and works as an architect.\nPhoenix: Understood.",
        settings.embedding_model,
    )
    # Older than the recent exchanges, the first turn came back by its meaning.
    assert first["episode_key"] not in context["episodes"] and len(context["episodes"]) == 6
    assert recalled[0] == sister
    assert all(item["score"] >= 0.3 for item in context["memories"])
    assert json.loads(json.dumps(reply))  # the envelope is plain JSON


def test_the_router_and_blank_input(chat: ChatServer) -> None:
    chat.control(replies=["Hello!"])
    reply = run_flow("router", {"command": "hello there"})
    assert reply["type"] == "speak" and reply["context"]["conversation"] == "default"
    with pytest.raises(Exception, match="empty"):
        speak("   ")
