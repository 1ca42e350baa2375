"""What Phoenix asks an LLM when it spawns an agent: the agent's Rust code, and its repairs.

The generated code becomes `src/generated.rs` of the agent's repository: a module exposing
`pub async fn run()`, built with tokio and serde only (the crates Phoenix can build offline).  When
`cargo test` fails, the compiler's errors go back with the code, and the model answers with the whole
module again — a diff would be one more thing a small model gets wrong.
"""

from __future__ import annotations

from phoenix.llm.client import Message

CODE_MAX_TOKENS = 2048
"""A whole module: far more than a one-paragraph proposal (the settings' default)."""

SYSTEM = (
    "You write Rust 2021 code for a small autonomous agent. Answer with one Rust module only, no"
    " explanation: it must define `pub async fn run()` (no arguments, returning `()`), may define"
    " other items, and may use only the standard library, tokio (rt-multi-thread, macros, time) and"
    " serde / serde_json. `run()` must return (its tests wait for it). No `main` function, no"
    " `mod` declarations (the file is already the module), no network or file access."
)


def code_messages(name: str, description: str) -> list[Message]:
    """The first request: the agent's purpose, in the user's words."""
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": f"Agent name: {name}\nWhat it does: {description}\n\nWrite the module.",
        },
    ]


def repair_messages(name: str, description: str, code: str, errors: str) -> list[Message]:
    """A repair: the same request, the code that failed and what `cargo test` said about it."""
    return [
        *code_messages(name, description),
        {"role": "assistant", "content": code},
        {
            "role": "user",
            "content": "`cargo test` failed with these errors:\n\n"
            f"{errors.strip()[-6000:]}\n\nAnswer with the whole corrected module.",
        },
    ]
