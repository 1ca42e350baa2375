"""The tools: their schemas, argument checks, the terminal's refusals, the database's read-only
SQL, web search and media generation against real local HTTP servers, mock mode, the tools flow's
assignments, and `phoenix tools exec` from the command line."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from phoenix.errors import BadInput, NotFound
from phoenix.tools.mock import _PNG, _WAV
from phoenix.tools.registry import TOOLS, get_tool
from phoenix.tools.run import run_tool
from phoenix.tools.settings import ToolSettings, load_tool_settings
from tests.conftest import PHOENIX, cli_environment, require_tool


@pytest.fixture
def settings(tmp_path: Path) -> ToolSettings:
    return ToolSettings(home=tmp_path / "home", sandbox_timeout=5)


class Recorder(BaseHTTPRequestHandler):
    """A SearxNG-shaped search endpoint and AUTOMATIC1111/TTS-shaped generators."""

    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.seen.append({"path": url.path, "query": query})
        if url.path == "/broken":
            self._reply(500, b"no", "text/plain")
            return
        if url.path == "/bad-json":
            self._reply(200, b'{"results": [', "application/json")
            return
        results = [
            {
                "title": f"Result {i}",
                "url": f"https://example.org/{i}",
                "content": f"about {query['q'][0]}",
            }
            for i in range(8)
        ]
        self._reply(200, json.dumps({"results": results}).encode(), "application/json")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        if self.path == "/sdapi/v1/txt2img":
            answer = {"images": [base64.b64encode(_PNG).decode()], "info": "{}"}
            self._reply(200, json.dumps(answer).encode(), "application/json")
        elif self.path == "/tts":
            self._reply(200, _WAV, "audio/wav")
        elif self.path == "/tts-json":
            answer = {"audio": base64.b64encode(_WAV).decode()}
            self._reply(200, json.dumps(answer).encode(), "application/json")
        elif self.path == "/bad-json":
            self._reply(200, b'{"audio": "truncated', "application/json")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_registry_holds_the_original_tools_with_valid_schemas() -> None:
    assert list(TOOLS)[:5] == ["web_search", "code_interpreter", "database", "terminal", "sniffer"]
    assert TOOLS["image_generation"].output_kind == "image"
    assert TOOLS["audio_generation"].output_kind == "audio"
    for spec in TOOLS.values():
        jsonschema.Draft202012Validator.check_schema(spec.parameters)
        assert spec.as_openai_tool()["function"]["name"] == spec.name
    assert TOOLS["code_interpreter"].parameters["properties"]["language"]["enum"] == [
        "python",
        "javascript",
    ]
    with pytest.raises(NotFound, match="web_search, code_interpreter"):
        get_tool("shell")


@pytest.mark.parametrize(
    ("tool", "arguments", "why"),
    [
        ("code_interpreter", {}, "'code' is a required property"),
        ("code_interpreter", {"code": "1", "language": "ruby"}, "'ruby' is not one of"),
        ("terminal", {"argv": "ls -l"}, "is not of type 'array'"),
        ("web_search", {"query": "x", "limit": 0}, "less than the minimum"),
        ("database", {"query": "x", "sql": "select 1"}, "valid under each of"),
        ("sniffer", {"raw": True}, "Additional properties"),
    ],
)
def test_bad_arguments_are_a_failed_result_not_an_exception(
    settings: ToolSettings, tool: str, arguments: dict[str, Any], why: str
) -> None:
    result = run_tool(tool, arguments, settings)
    assert not result.ok
    assert result.error and result.error.startswith("Bad arguments") and why in result.error


def test_the_terminal_is_off_by_default(settings: ToolSettings) -> None:
    assert load_tool_settings({}).terminal_enabled is False
    result = run_tool("terminal", {"argv": ["echo", "hi"]}, settings)
    assert not result.ok and "PHOENIX_TERMINAL_ENABLED" in (result.error or "")


INJECTIONS = [
    "a; touch PWNED",
    "$(touch PWNED)",
    "`touch PWNED`",
    "x && touch PWNED",
    "l1\ntouch PWNED",
    "| id",
]


def test_terminal_injection_strings_are_data_never_shell(settings: ToolSettings) -> None:
    enabled = settings.model_copy(update={"terminal_enabled": True})
    result = run_tool("terminal", {"argv": ["echo", *INJECTIONS]}, enabled)
    assert result.ok, result.error
    assert result.output == " ".join(INJECTIONS) + "\n"
    listing = run_tool("terminal", {"argv": ["ls", "-a"]}, enabled)
    assert "PWNED" not in (listing.output or "")
    for argv in (["sh", "-c", "id"], ["/bin/echo", "x"], ["echo; id"]):
        refused = run_tool("terminal", {"argv": argv}, enabled)
        assert not refused.ok and "not an allowed command" in (refused.error or "")


def test_code_interpreter_runs_python_in_the_sandbox(settings: ToolSettings) -> None:
    result = run_tool("code_interpreter", {"code": "print(sum(range(10)))"}, settings)
    assert result.ok and result.output == "45\n"
    assert "network-namespace" in result.isolation
    failed = run_tool("code_interpreter", {"code": "raise SystemExit('boom')"}, settings)
    assert not failed.ok and "boom" in (failed.error or "")


def test_code_interpreter_runs_javascript_where_node_exists(settings: ToolSettings) -> None:
    require_tool("node")
    result = run_tool(
        "code_interpreter",
        {"code": "console.log([1,2,3].map(x => x * 2).join(','))", "language": "javascript"},
        settings,
    )
    assert result.ok, result.error
    assert result.output == "2,4,6\n"


def test_database_sql_is_read_only(phoenix_home: Path, settings: ToolSettings) -> None:
    from phoenix.store import open_store
    from phoenix.store.agents import create_agent

    store = open_store()
    create_agent(store, "reader", "reads")
    settings = settings.model_copy(update={"sql_row_limit": 3})
    found = run_tool("database", {"sql": "SELECT name, mission FROM agents"}, settings)
    assert found.ok and found.output == "name\tmission\nreader\treads"
    capped = run_tool("database", {"sql": "SELECT * FROM range(10)"}, settings)
    assert capped.ok and capped.details["rows"] == 3 and capped.details["truncated"]
    refusals = {
        "DELETE FROM agents": "Only SELECT",
        "COPY agents TO '/tmp/agents.csv'": "Only SELECT",
        "SELECT 1; DELETE FROM agents": "One statement",
        "SELECT * FROM read_csv('/etc/passwd')": "disabled",
        "SELECT * FROM '/etc/passwd'": "does not exist",
        "ATTACH '/tmp/other.duckdb'": "Only SELECT",
    }
    for sql, why in refusals.items():
        result = run_tool("database", {"sql": sql}, settings)
        assert not result.ok and why in (result.error or ""), (sql, result.error)
    again = run_tool("database", {"sql": "SELECT count(*) FROM agents"}, settings)
    assert again.output == "count_star()\n1"
    # ~600 MB of strings in one list: past the memory limit, and no spilling to disk.
    huge = "SELECT length(list(repeat('x', 100) || i::VARCHAR)) FROM range(5000000) t(i)"
    hungry = run_tool("database", {"sql": huge}, settings)
    assert not hungry.ok and "Out of Memory" in (hungry.error or ""), hungry


def test_database_query_searches_the_knowledge_base_by_meaning(
    phoenix_home: Path, settings: ToolSettings
) -> None:
    from phoenix.settings import load_settings
    from phoenix.store import open_store
    from phoenix.store.vectors import store_text

    phoenix = load_settings()
    store_text(open_store(phoenix), phoenix, "The cat sleeps on the warm windowsill.")
    store_text(open_store(phoenix), phoenix, "Quarterly tax filings are due in April.")
    result = run_tool("database", {"query": "where does the kitten nap?", "k": 2}, settings)
    assert result.ok, result.error
    first = json.loads((result.output or "").splitlines()[0])
    assert "cat" in first["text"]


def test_web_search_reads_a_searxng_endpoint(server: str, settings: ToolSettings) -> None:
    unset = run_tool("web_search", {"query": "duckdb"}, settings)
    assert not unset.ok and "PHOENIX_SEARCH_URL" in (unset.error or "")
    configured = settings.model_copy(update={"search_url": f"{server}/search"})
    result = run_tool("web_search", {"query": "duckdb arrays", "limit": 3}, configured)
    assert result.ok, result.error
    assert [hit["url"] for hit in result.details["results"]] == [
        f"https://example.org/{i}" for i in range(3)
    ]
    assert "about duckdb arrays" in (result.output or "")
    assert Recorder.seen[-1]["query"] == {"q": ["duckdb arrays"], "format": ["json"]}
    broken = run_tool(
        "web_search", {"query": "x"}, settings.model_copy(update={"search_url": f"{server}/broken"})
    )
    assert not broken.ok and "500" in (broken.error or "")
    for url in (f"{server}/search\x00", f"{server}/bad-json"):  # never an exception
        failed = run_tool("web_search", {"query": "x"}, settings.model_copy(update={"search_url": url}))
        assert not failed.ok and "search endpoint" in (failed.error or ""), failed


def test_media_generation_parses_the_original_responses(server: str, settings: ToolSettings) -> None:
    from pydantic import SecretStr

    configured = settings.model_copy(update={
        "image_api_url": f"{server}/sdapi/v1/txt2img", "image_api_key": SecretStr("sd-key"),
        "tts_api_url": f"{server}/tts",
    })  # fmt: skip
    image = run_tool("image_generation", {"prompt": "a phoenix"}, configured)
    assert image.ok and image.kind == "image", image.error
    assert Path(image.output or "").read_bytes() == _PNG and image.output.endswith(".png")
    assert Path(image.output).parent == settings.home / "media"
    assert Recorder.seen[-1]["body"] == {"prompt": "a phoenix", "width": 512, "height": 512}
    assert Recorder.seen[-1]["auth"] == "Bearer sd-key"
    audio = run_tool("audio_generation", {"text": "hello"}, configured)
    assert audio.ok and Path(audio.output or "").read_bytes() == _WAV and audio.output.endswith(".wav")
    as_json = configured.model_copy(update={"tts_api_url": f"{server}/tts-json"})
    decoded = run_tool("audio_generation", {"text": "hello"}, as_json)
    assert decoded.ok and Path(decoded.output or "").read_bytes() == _WAV
    for url, why in ((f"{server}/bad-json", "not JSON"), (f"{server}/tts\n", "could not be")):
        failed = run_tool(
            "audio_generation", {"text": "hi"}, as_json.model_copy(update={"tts_api_url": url})
        )
        assert not failed.ok and why in (failed.error or ""), failed


def test_mock_mode_gives_deterministic_outputs_for_every_tool(settings: ToolSettings) -> None:
    mock = settings.model_copy(update={"mock": True})
    examples = {
        "web_search": {"query": "q"}, "code_interpreter": {"code": "print(1)"},
        "database": {"sql": "SELECT 1"}, "terminal": {"argv": ["ls"]}, "sniffer": {},
        "image_generation": {"prompt": "p"}, "audio_generation": {"text": "t"},
    }  # fmt: skip
    assert set(examples) == set(TOOLS)
    for name, arguments in examples.items():
        first, second = run_tool(name, arguments, mock), run_tool(name, arguments, mock)
        assert first.ok and first.mock and first.output == second.output, name
    other = run_tool("code_interpreter", {"code": "print(2)"}, mock)
    assert other.output != run_tool("code_interpreter", {"code": "print(1)"}, mock).output


def test_assign_and_unassign_through_the_tools_flow(phoenix_home: Path) -> None:
    from flows import run_flow
    from phoenix.store import open_store
    from phoenix.store.agents import create_agent

    agent = create_agent(open_store(), "researcher", "finds things")
    first = run_flow("tools", {"action": "assign", "agent": "researcher", "tool": "web_search"})
    assert first["changed"] and first["tools"] == ["web_search"] and first["agent_id"] == agent.id
    again = run_flow("tools", {"action": "assign", "agent": agent.id, "tool": "web_search"})
    assert not again["changed"] and again["tools"] == ["web_search"]
    with pytest.raises(BadInput, match="the tools are: web_search"):
        run_flow("tools", {"action": "assign", "agent": "researcher", "tool": "shell"})
    with pytest.raises(NotFound):
        run_flow("tools", {"action": "assign", "agent": "nobody", "tool": "sniffer"})
    listed = run_flow("tools", {"action": "list", "agent": "researcher"})
    assert [item["name"] for item in listed["items"] if item["assigned"]] == ["web_search"]
    gone = run_flow("tools", {"action": "unassign", "agent": "researcher", "tool": "web_search"})
    assert gone["changed"] and gone["tools"] == []


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, chat_server_url: str) -> Iterator[dict[str, str]]:
    with cli_environment(tmp_path_factory, chat_server_url, "tools", COLUMNS="160") as environment:
        yield environment


def phoenix(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PHOENIX, *arguments], env=env, capture_output=True, text=True, timeout=300)


def test_tools_exec_from_the_command_line(env: dict[str, str]) -> None:
    human = phoenix(env, "tools", "exec", "code_interpreter", '{"code": "print(6 * 7)"}')
    assert human.returncode == 0, human.stderr
    assert human.stdout == "42\n"
    machine = phoenix(env, "--json", "tools", "exec", "terminal", '{"argv": ["ls"]}')
    assert machine.returncode == 1
    document = json.loads(machine.stdout)
    assert document["tool"] == "terminal" and document["ok"] is False and document["output"] is None
    assert "PHOENIX_TERMINAL_ENABLED" in document["error"]
    bad = phoenix(env, "tools", "exec", "terminal", "{not json")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "ARGS_JSON" in bad.stderr
