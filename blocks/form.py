"""What the blocks share: reading a saved block's form as settings fields."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prefect.blocks.core import Block
from pydantic import SecretStr


def is_set(value: Any) -> bool:
    """A field left empty in the UI form (None, blank text, a blank secret) means "not set here"."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return value is not None and not (isinstance(value, str) and not value.strip())


def filled_fields(block: Block, settings_fields: Iterable[str]) -> dict[str, Any]:
    """The block's values of the fields that are also settings, leaving out the empty ones."""
    wanted = set(settings_fields)
    fields = {name: getattr(block, name) for name in type(block).model_fields if name in wanted}
    return {name: value for name, value in fields.items() if is_set(value)}


def saved_block(block_type: type[Block], name: str) -> Block | None:
    """The saved block `name` of `block_type`, or None when there is none (or its type was never
    registered); an unreachable Prefect API is an error, as for `blocks.llm.resolve_settings`."""
    try:
        return block_type.load(name)
    except (ValueError, RuntimeError):
        return None
