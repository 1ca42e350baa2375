"""The router grammar of docs/design.md ("Router grammar"), parsed."""

from __future__ import annotations

import pytest

from phoenix.commands import (
    CAPABILITIES,
    DEFAULT_PROPOSALS,
    ECOSYSTEM_USAGE,
    HELP_TEXT,
    NOT_AVAILABLE_MARK,
    EcosystemCommand,
    HelpCommand,
    MemoryCommand,
    ProposeCommand,
    SpawnCommand,
    SpeakCommand,
    StatusCommand,
    SystemCommand,
    capabilities,
    not_available,
    parse_command,
)
from phoenix.errors import UsageError
from phoenix.settings import MAX_ORCHS


@pytest.mark.parametrize("text", ["help", "HELP", "  Help  "])
def test_help_matches_case_insensitively(text: str) -> None:
    assert parse_command(text) == HelpCommand()


def test_status() -> None:
    assert parse_command("Status") == StatusCommand()


def test_ecosystem_keeps_argument_case_and_splits_args() -> None:
    assert parse_command("ECOSYSTEM MyRepo Build --Release 'two words'") == EcosystemCommand(
        repo_id="MyRepo", command="Build", args=["--Release", "two words"]
    )


@pytest.mark.parametrize("text", ["ecosystem", "ecosystem abc", "Ecosystem  abc  "])
def test_ecosystem_with_fewer_than_three_words_is_the_usage_error(text: str) -> None:
    with pytest.raises(UsageError) as error:
        parse_command(text)
    assert error.value.message == ECOSYSTEM_USAGE


def test_spawn_agent_with_name_and_description() -> None:
    assert parse_command("spawn agent Scraper: Fetch pages: politely") == SpawnCommand(
        name="Scraper", description="Fetch pages: politely"
    )


def test_spawn_agent_with_description_only() -> None:
    assert parse_command("Spawn Agent watch the logs and alert me") == SpawnCommand(
        name=None, description="watch the logs and alert me"
    )


@pytest.mark.parametrize("text", ["spawn agent", "spawn agent  ", "spawn agent x:"])
def test_spawn_agent_without_description_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="spawn agent"):
        parse_command(text)


def test_memory_store_keeps_the_rest_as_value() -> None:
    assert parse_command("MEMORY store Project Phoenix  rises again") == MemoryCommand(
        action="store", key="Project", value="Phoenix  rises again"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("memory get Some Key", MemoryCommand(action="get", key="Some Key")),
        ("memory delete k", MemoryCommand(action="delete", key="k")),
        ("memory search Foo", MemoryCommand(action="search", query="Foo")),
        ("memory search foo --limit 3", MemoryCommand(action="search", query="foo", limit=3)),
        ("memory vector-store some text", MemoryCommand(action="vector-store", value="some text")),
        ("memory vector-search q", MemoryCommand(action="vector-search", query="q")),
        ("memory vector-search q --limit 3", MemoryCommand(action="vector-search", query="q", limit=3)),
        ("memory vector-all", MemoryCommand(action="vector-all")),
        ("memory vector-all --limit 7", MemoryCommand(action="vector-all", limit=7)),
    ],
)
def test_memory_actions(text: str, expected: MemoryCommand) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "memory",
        "memory store",
        "memory store k",
        "memory get",
        "memory search",
        "memory search x --limit many",
        "memory forget k",
    ],
)
def test_memory_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="Usage: memory"):
        parse_command(text)


def test_system_command() -> None:
    assert parse_command("SYSTEM Status") == SystemCommand(action="status")
    assert parse_command("system exec echo 'a b' ; rm -rf /") == SystemCommand(
        action="exec", argv=["echo", "a b", ";", "rm", "-rf", "/"]
    )
    assert parse_command('system read-file "my notes.txt"') == SystemCommand(
        action="read-file", path="my notes.txt"
    )
    assert parse_command("system write-file a/b.txt Two  spaces\nand a line") == SystemCommand(
        action="write-file", path="a/b.txt", content="Two  spaces\nand a line"
    )
    for text in ["system", "system Restart all", "system status now", "system exec"]:
        with pytest.raises(UsageError, match="Usage: system"):
            parse_command(text)
    for text in ["system read-file", "system read-file a b", "system write-file a.txt"]:
        with pytest.raises(UsageError, match="Usage: system"):
            parse_command(text)
    with pytest.raises(UsageError, match="No closing quotation"):
        parse_command("system exec echo 'unclosed")


def test_propose_with_and_without_n() -> None:
    assert parse_command("Propose 3 improvements for My App") == ProposeCommand(n=3, topic="My App")
    assert parse_command("propose improvements for x") == ProposeCommand(n=DEFAULT_PROPOSALS, topic="x")
    assert parse_command("propose 1 improvement for y") == ProposeCommand(n=1, topic="y")


@pytest.mark.parametrize(
    "text",
    [
        "propose",
        "propose 3 improvements",
        "propose 3 ideas for x",
        "propose many improvements for x",
        "propose 0 improvements for x",
        f"propose {MAX_ORCHS + 1} improvements for x",
    ],
)
def test_propose_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="propose"):
        parse_command(text)


@pytest.mark.parametrize(
    "text", ["hello there", "ecosystems are nice", "memoryless", "proposal please", "helpme"]
)
def test_anything_else_goes_to_the_llm(text: str) -> None:
    assert parse_command(text) == SpeakCommand(text=text)


def test_empty_command_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="Empty"):
        parse_command("   ")


def test_help_marks_every_command_of_a_capability_that_is_not_there_yet() -> None:
    for entry in CAPABILITIES:
        for syntax, _ in entry.commands:
            line = next(line for line in HELP_TEXT.splitlines() if line.strip().startswith(syntax))
            assert line.endswith(NOT_AVAILABLE_MARK) is (not entry.available), line
    assert capabilities()["vector-memory"] is True


def test_an_unavailable_capability_would_say_so_in_a_sentence() -> None:
    # Every capability of this version is available; the sentence is what a later one marked
    # unavailable in CAPABILITIES answers.
    assert all(entry.available for entry in CAPABILITIES)
    message = not_available("system").message
    assert message.startswith("Running system commands is not available yet in Phoenix ")
    assert message.endswith(".")


@pytest.mark.parametrize("text", ["ecosystem abc env TOKEN=s3cret", "ecosystem abc ENV A=1 B=2"])
def test_repository_variables_are_never_set_through_the_router(text: str) -> None:
    with pytest.raises(UsageError, match="phoenix ecosystem env"):
        parse_command(text)


@pytest.mark.parametrize(
    "text", ["ecosystem abc env", "ecosystem abc env TOKEN=", "ecosystem abc run a=b"]
)
def test_listing_unsetting_and_other_verbs_pass_through_the_router(text: str) -> None:
    assert isinstance(parse_command(text), EcosystemCommand)
