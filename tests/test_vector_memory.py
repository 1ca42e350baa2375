"""Vector memory with the real embedding model: meaning, dedupe, filters, k, and every surface.

The ranking tests use paraphrases that share almost no words with what they should find, so a
keyword match or a hash "embedding" (the original system's, where every unrelated text scored 0.5)
cannot pass them.  One module-wide PHOENIX_HOME: the model loads once, the store is shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flows import run_flow
from phoenix.errors import BadInput
from phoenix.settings import PhoenixSettings, load_settings
from phoenix.store import StateStore, open_store
from phoenix.store import vectors as vec
from tests.conftest import PHOENIX, in_process_api
from tests.postgres_server import fresh_database, postgres_server

__all__ = ["postgres_server"]  # the session fixture, imported for pytest

TOKEN = "test-vector-token"  # noqa: S105 - the test API's own token

# (stored text, a query meaning the same in other words)
PARAPHRASES = [
    ("The physician prescribed antibiotics for the infection.",
     "A doctor gave medicine to treat a bacterial illness."),
    ("Our quarterly revenue grew by ten percent.",
     "Sales income rose during the last three months."),
    ("The kitten is sleeping on the sofa.", "A young cat naps on the couch."),
    ("Heavy rain flooded the streets of the town.", "Downpours left the city roads under water."),
    ("He repaired the bicycle's flat tyre.", "Someone fixed a punctured wheel on his bike."),
]  # fmt: skip


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("vector-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PHOENIX_HOME", str(folder))
        patch.delenv("PHOENIX_EMBEDDING_MODEL", raising=False)
        patch.delenv("PHOENIX_STORE_URL", raising=False)
        yield folder


@pytest.fixture(scope="module")
def settings(home: Path) -> PhoenixSettings:
    return load_settings()


@pytest.fixture(scope="module")
def store(settings: PhoenixSettings) -> StateStore:
    chosen = open_store(settings)
    for text, _ in PARAPHRASES:
        vec.store_text(chosen, settings, text, {"kind": "fact"})
    return chosen


def test_a_paraphrase_finds_its_text_first_and_scores_it_above_every_unrelated_one(
    store: StateStore, settings: PhoenixSettings
) -> None:
    for text, query in PARAPHRASES:
        hits = vec.semantic_search(store, settings, query, k=len(PARAPHRASES)).items
        assert hits[0].text == text, (query, [(hit.text, hit.score) for hit in hits])
        unrelated = [hit.score for hit in hits[1:]]
        assert hits[0].score > max(unrelated) + 0.15, (query, hits[0].score, unrelated)
        assert hits == sorted(hits, key=lambda hit: -hit.score)


def test_identical_text_is_stored_once_and_keeps_its_first_metadata(
    store: StateStore, settings: PhoenixSettings
) -> None:
    before = vec.count(store, settings)
    first = vec.store_text(store, settings, "Dedupe me, please.", {"round": 1})
    again = vec.store_text(store, settings, "  Dedupe me, please.\n", {"round": 2})
    assert first.created and not again.created
    assert again.id == first.id and again.metadata == {"round": 1}
    assert vec.count(store, settings) == before + 1
    assert vec.all_vectors(store, settings, limit=1).items[0].id == first.id  # newest first


def test_metadata_filters_match_exactly_on_each_key(
    store: StateStore, settings: PhoenixSettings
) -> None:
    vec.store_text(store, settings, "Buy oat milk on the way home.", {"kind": "todo", "n": 3})
    vec.store_text(store, settings, "Groceries: bread, eggs and milk.", {"kind": "note", "ok": True})

    def texts(**filters: str) -> list[str]:
        return [hit.text for hit in vec.semantic_search(store, settings, "milk", 50, filters).items]

    assert texts(kind="todo") == ["Buy oat milk on the way home."]
    assert texts(kind="note", ok="true") == ["Groceries: bread, eggs and milk."]
    assert texts(n="3") == ["Buy oat milk on the way home."]
    assert texts(kind="nothing") == [] and texts(missing="x") == []
    assert len(texts()) > 2
    with pytest.raises(BadInput, match="string, number or boolean"):
        vec.store_text(store, settings, "nested", {"a": {"b": 1}})


def test_k_is_clamped_into_1_to_50_and_a_blank_query_finds_nothing(
    store: StateStore, settings: PhoenixSettings
) -> None:
    texts = [f"Numbered filler sentence about topic {i}." for i in range(50)]
    for text in texts:
        vec.store_text(store, settings, text)
    assert vec.count(store, settings) > 50
    assert vec.semantic_search(store, settings, "topic", k=0).count == 1
    assert vec.semantic_search(store, settings, "topic", k=-3).count == 1
    assert vec.semantic_search(store, settings, "topic", k=500).count == 50
    assert vec.semantic_search(store, settings, "topic").count == 5
    assert vec.semantic_search(store, settings, "  \n").items == []
    with pytest.raises(BadInput):
        vec.store_text(store, settings, "   ")


def test_a_text_stored_by_another_process_is_found_at_once(
    store: StateStore, settings: PhoenixSettings
) -> None:
    # The search keeps the vectors in memory: a write by anyone must make it read them again.
    assert vec.semantic_search(store, settings, "lighthouse keeper").items[0].text != "x"
    script = (
        "from phoenix.settings import load_settings; from phoenix.store import open_store;"
        "from phoenix.store.vectors import store_text; s = load_settings();"
        "store_text(open_store(s), s, 'The lighthouse keeper watched ships in the storm.')"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=dict(os.environ), timeout=120)
    hit = vec.semantic_search(store, settings, "a man guarding a beacon by the sea").items[0]
    assert hit.text == "The lighthouse keeper watched ships in the storm."


def test_a_refresh_leaves_the_matrix_a_search_holds_unchanged_and_puts_new_rows_first(
    store: StateStore, settings: PhoenixSettings
) -> None:
    # A search uses the cached matrix outside the cache's lock: a refresh growing it in place
    # under that search broke filtered searches (arrays of different lengths) and stale memos.
    held = vec._matrix(store, settings.embedding_model)
    ids, shape, kinds = list(held.ids), held.vectors.shape, held.column("kind").copy()
    added = vec.store_text(store, settings, "Copy-on-write keeps readers safe.", {"kind": "cow"})
    hits = vec.semantic_search(store, settings, "readers safe", 1, {"kind": "cow"}).items
    assert [hit.id for hit in hits] == [added.id]
    assert held.ids == ids and held.vectors.shape == shape
    assert list(held.column("kind")) == list(kinds)
    fresh = vec._matrix(store, settings.embedding_model)
    assert fresh is not held and fresh.ids == [added.id, *ids]  # newest first
    assert fresh.vectors.shape == (shape[0] + 1, shape[1])


def test_the_router_stores_and_searches_by_meaning(store: StateStore) -> None:
    stored = run_flow("router", {"command": "memory vector-store Penguins cannot fly."})
    assert stored["type"] == "memory" and stored["created"] is True
    found = run_flow("router", {"command": "memory vector-search birds unable to take off --limit 2"})
    assert found["count"] == 2 and found["items"][0]["text"] == "Penguins cannot fly."
    assert "Penguins cannot fly." in found["message"]
    listed = run_flow("router", {"command": "memory vector-all --limit 1"})
    assert listed["items"][0]["text"] == "Penguins cannot fly." and listed["total"] > 50


# --- the HTTP API and the CLI -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(store: StateStore) -> Iterator[httpx.Client]:
    """The API on a loopback port, its flows run in this process (as `phoenix api` runs them)."""
    with in_process_api(TOKEN) as client:
        yield client


def test_the_api_stores_searches_filters_and_lists(api: httpx.Client) -> None:
    body = {"text": "The violinist tuned her instrument.", "metadata": {"source": "api", "n": 1}}
    first = api.post("/api/memory/vector/store", json=body)
    assert first.status_code == 200 and first.json()["created"] is True
    assert first.json()["metadata"] == {"source": "api", "n": 1}
    again = api.post("/api/memory/vector/store", json=body).json()
    assert again["created"] is False and again["id"] == first.json()["id"]

    found = api.get("/api/memory/vector/search", params={"q": "a musician preparing a fiddle"})
    assert found.status_code == 200
    top = found.json()["items"][0]
    assert top["text"] == body["text"] and 0 < top["score"] <= 1
    filtered = api.get(
        "/api/memory/vector/search", params={"q": "music", "k": 50, "filter": ["source:api", "n:1"]}
    ).json()
    assert [item["text"] for item in filtered["items"]] == [body["text"]]
    assert api.get("/api/memory/vector/search", params={"q": "music", "k": 0}).json()["count"] == 1
    assert api.get("/api/memory/vector/search", params={"q": " "}).json() == {"items": [], "count": 0}

    listed = api.get("/api/memory/vector/all", params={"limit": 2}).json()
    assert listed["count"] == 2 and listed["items"][0]["text"] == body["text"]

    for text in ["", "   "]:
        refused = api.post("/api/memory/vector/store", json={"text": text})
        assert refused.status_code == 400 and refused.json()["code"] == "bad_input"
    nested = api.post("/api/memory/vector/store", json={"text": "x", "metadata": {"a": [1]}})
    assert nested.status_code == 422
    bad_filter = api.get("/api/memory/vector/search", params={"q": "x", "filter": "nocolon"})
    assert bad_filter.status_code == 400 and "key:value" in bad_filter.json()["message"]


def test_the_cli_shows_a_search_as_a_table_with_scores(home: Path, store: StateStore) -> None:
    environment = dict(os.environ) | {"PHOENIX_CLI_IN_PROCESS": "1"}

    def phoenix(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PHOENIX), *arguments], env=environment, capture_output=True, text=True, timeout=180
        )

    stored = phoenix(
        "--json", "memory", "vector-store", "Glaciers are melting faster each decade.",
        "--metadata", '{"topic": "climate"}',
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    assert json.loads(stored.stdout)["metadata"] == {"topic": "climate"}
    shown = phoenix(
        "memory", "vector-search", "ice sheets shrinking quickly", "-k", "2", "--filter", "topic=climate"
    )
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("Showing the 1 memory close to 'ice sheets shrinking quickly'")
    assert lines[1].split()[:2] == ["SCORE", "TEXT"]
    assert lines[2].split()[1] == "Glaciers" and 0 < float(lines[2].split()[0]) <= 1
    assert not shown.stdout.lstrip().startswith("{")
    bad = phoenix("memory", "vector-store", "x", "--metadata", "[1, 2]")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stdout == ""


def test_the_shared_store_keeps_and_searches_vectors_too(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """DuckLake has no fixed-size arrays (vectors are FLOAT[] there) and no unique keys."""
    server = request.getfixturevalue("postgres_server")
    lake_settings = load_settings(
        {
            "PHOENIX_HOME": str(tmp_path / "home"),
            "PHOENIX_STORE_URL": server.store_url(fresh_database(server)),
            "PHOENIX_STORE_DATA_PATH": str(tmp_path / "lake-data"),
        }
    )
    lake = open_store(lake_settings)
    assert lake.lake
    for text, _ in PARAPHRASES[:3]:
        assert vec.store_text(lake, lake_settings, text, {"kind": "fact"}).created
    again = vec.store_text(lake, lake_settings, PARAPHRASES[0][0])
    assert not again.created and vec.count(lake, lake_settings) == 3
    for text, query in PARAPHRASES[:3]:
        hits = vec.semantic_search(lake, lake_settings, query, k=3, filters={"kind": "fact"}).items
        assert hits[0].text == text and len(hits) == 3
