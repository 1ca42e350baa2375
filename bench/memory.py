"""Benchmark: vector memory — embedding throughput, search latency at 10k and 100k, recall@10.

1. Embedding: generated English sentences (subject, verb, object, place from word lists; all
   distinct) through `embed_texts` in batches and one by one, in texts per second.
2. A corpus of `--size` memories (100k) in a fresh DuckDB file store.  Embedding 100k sentences
   would take ~7 minutes on one core, so the corpus is built from the B embedded sentences (B =
   `--base`, 2000): memory i is base sentence i mod B, its vector that sentence's plus Gaussian noise
   (cosine ~0.85 to it), normalised — clusters of near-duplicates, a hard case for any
   approximate index.  Rows are inserted in bulk from NumPy, with ids and hashes as
   `store_text` makes them.
3. At 10k and at 100k memories: `semantic_search` (Phoenix's search, query embedding included)
   over `--queries` new sentences, p50/p99; the baseline measured in the same run is DuckDB's exact
   top-10 in SQL (`array_cosine_similarity … ORDER BY … LIMIT 10`, query vector as a literal, one
   connection per search as every unit of work opens one) plus the same query embedding.  Recall@10
   is Phoenix's top-10 against the baseline's.  Also the first search after each of 5 writes, which
   reads the new rows into a new matrix for the process.

    python bench/memory.py [--size 100000] [--base 2000] [--queries 100] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from phoenix.llm.embeddings import EMBEDDING_DIM, embed_texts  # noqa: E402
from phoenix.settings import PhoenixSettings, load_settings  # noqa: E402
from phoenix.store import Store, open_store  # noqa: E402
from phoenix.store import vectors as vec  # noqa: E402

SUBJECTS = [
    "The engineer",
    "A teacher",
    "My neighbour",
    "The old sailor",
    "A young doctor",
    "The chef",
    "Our manager",
    "The farmer",
    "A student",
    "The pilot",
    "The artist",
    "A nurse",
    "The librarian",
    "The mechanic",
    "A journalist",
    "The gardener",
]
VERBS = [
    "repaired",
    "painted",
    "sold",
    "described",
    "photographed",
    "cleaned",
    "borrowed",
    "ordered",
    "measured",
    "hid",
    "delivered",
    "tested",
    "admired",
    "lost",
    "designed",
]
OBJECTS = [
    "a wooden boat",
    "the kitchen table",
    "an electric guitar",
    "a leather wallet",
    "the garden fence",
    "a vintage camera",
    "the school bus",
    "a silver necklace",
    "the broken laptop",
    "a map of the coast",
    "the red bicycle",
    "a jar of honey",
    "the solar panels",
    "a winter coat",
    "the violin",
    "a chess set",
    "the printer",
]
PLACES = ["near the harbour", "after lunch", "in the rain", "before the meeting", "at the market",
          "on Sunday morning", "in the basement", "during the storm", "at the airport",
          "behind the library", "late at night", "in the mountains", "at the station"]  # fmt: skip
NOISE = 0.03  # per dimension: ‖noise‖ ≈ 0.03·√384 ≈ 0.6, so cosine to the base ≈ 0.85


def sentences(count: int, seed: int) -> list[str]:
    """`count` distinct sentences, in a random order that `seed` fixes."""
    combos = list(itertools.product(SUBJECTS, VERBS, OBJECTS, PLACES))
    random.Random(seed).shuffle(combos)
    if count > len(combos):
        raise ValueError(f"at most {len(combos)} distinct sentences")
    return [f"{s} {v} {o} {p}." for s, v, o, p in combos[:count]]


def embedding_throughput(settings: PhoenixSettings, texts: list[str], single: int) -> dict[str, Any]:
    embed_texts(texts[:8], settings)  # load the model: not timed
    start = time.perf_counter()
    vectors = embed_texts(texts, settings)
    batched = time.perf_counter() - start
    start = time.perf_counter()
    for text in texts[:single]:
        embed_texts([text], settings)
    one_by_one = time.perf_counter() - start
    return {
        "vectors": vectors,
        "batched_texts_per_s": round(len(texts) / batched, 1),
        "single_texts_per_s": round(single / one_by_one, 1),
        "single_ms_per_text": round(one_by_one / single * 1000, 2),
    }


def insert_bulk(store: Store, model: str, texts: list[str], vectors: np.ndarray) -> None:
    """Rows as `store_text` writes them, inserted from NumPy columns in one statement."""
    ids = np.array([vec.text_id(text, model) for text in texts], dtype=object)
    hashes = np.array([hashlib.sha256(text.encode()).hexdigest() for text in texts], dtype=object)
    columns: dict[str, Any] = {"id": ids, "text": np.array(texts, dtype=object), "hash": hashes}
    columns |= {f"d{j}": np.ascontiguousarray(vectors[:, j]) for j in range(EMBEDDING_DIM)}
    array = "array_value(" + ", ".join(f"d{j}" for j in range(EMBEDDING_DIM)) + ")"

    def insert(connection: Any) -> None:
        connection.register("incoming", columns)
        connection.execute(
            "INSERT INTO memory_vectors (id, text, text_hash, model, vec) "  # noqa: S608
            f"SELECT id, text, hash, ?, {array}::FLOAT[{EMBEDDING_DIM}] FROM incoming",
            [model],
        )
        connection.unregister("incoming")

    store.transaction(insert)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def duckdb_exact(store: Store, model: str, query_vector: np.ndarray, k: int) -> list[str]:
    literal = vec.vector_literal(query_vector)
    return store.read(
        lambda c: [
            row[0]
            for row in c.execute(
                "SELECT id FROM memory_vectors WHERE model = ? "  # noqa: S608 - a numeric literal
                f"ORDER BY array_cosine_similarity(vec, {literal}) DESC, id LIMIT {k}",
                [model],
            ).fetchall()
        ]
    )


def measure_search(
    store: Store, settings: PhoenixSettings, queries: list[str], baseline_queries: int
) -> dict[str, Any]:
    model = settings.embedding_model
    vec.semantic_search(store, settings, queries[0], k=10)  # warm the matrix: the reload is below
    phoenix_ms, found = [], []
    for query in queries:
        start = time.perf_counter()
        hits = vec.semantic_search(store, settings, query, k=10).items
        phoenix_ms.append((time.perf_counter() - start) * 1000)
        found.append([hit.id for hit in hits])
    baseline_ms, recalls = [], []
    for query, ids in zip(queries[:baseline_queries], found, strict=False):
        start = time.perf_counter()
        exact = duckdb_exact(store, model, embed_texts([query], settings)[0], 10)
        baseline_ms.append((time.perf_counter() - start) * 1000)
        recalls.append(len(set(ids) & set(exact)) / len(exact))
    embed_ms = []
    for query in queries[:baseline_queries]:
        start = time.perf_counter()
        embed_texts([query], settings)
        embed_ms.append((time.perf_counter() - start) * 1000)
    phoenix_p50, baseline_p50 = percentile(phoenix_ms, 0.5), percentile(baseline_ms, 0.5)
    return {
        "memories": vec.count(store, settings),
        "phoenix_p50_ms": round(phoenix_p50, 2),
        "phoenix_p99_ms": round(percentile(phoenix_ms, 0.99), 2),
        "baseline_p50_ms": round(baseline_p50, 2),
        "baseline_p99_ms": round(percentile(baseline_ms, 0.99), 2),
        "query_embedding_p50_ms": round(statistics.median(embed_ms), 2),
        "recall_at_10": round(statistics.mean(recalls), 4),
        "baseline_over_phoenix_p50": round(baseline_p50 / phoenix_p50, 2),
    }


def reload_after_write(store: Store, settings: PhoenixSettings, query: str) -> list[float]:
    """The first search after each of 5 writes (a conversation stores a turn, then searches):
    the process reads the new rows and appends them to its matrix.  The first of the five also
    pays for whatever the bulk load left to DuckDB (its WAL checkpoint)."""
    times = []
    for index in range(5):
        vec.store_text(store, settings, f"A fresh memory, number {index}, written just before a search.")
        start = time.perf_counter()
        vec.semantic_search(store, settings, query, k=10)
        times.append(round((time.perf_counter() - start) * 1000, 1))
    return times


def run(size: int, base: int, queries: int, baseline_queries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="phoenix-bench-memory-") as home:
        settings = load_settings({"PHOENIX_HOME": home})
        store = open_store(settings)
        assert isinstance(store, Store)  # noqa: S101 - the file store is what this measures
        texts = sentences(base + queries, seed=7)
        base_texts, query_texts = texts[:base], texts[base:]
        embedding = embedding_throughput(settings, base_texts, single=min(300, base))
        base_vectors = embedding.pop("vectors")

        rng = np.random.default_rng(7)
        corpus_texts = [f"{base_texts[i % base]} (note {i})" for i in range(size)]
        noisy = base_vectors[np.arange(size) % base] + rng.normal(
            0, NOISE, (size, EMBEDDING_DIM)
        ).astype(np.float32)
        corpus = (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)

        results: dict[str, Any] = {"embedding": embedding, "search": []}
        first = min(10_000, size)
        start = time.perf_counter()
        insert_bulk(store, settings.embedding_model, corpus_texts[:first], corpus[:first])
        results["search"].append(measure_search(store, settings, query_texts, baseline_queries))
        if size > first:
            for low in range(first, size, 30_000):
                high = min(size, low + 30_000)
                insert_bulk(store, settings.embedding_model, corpus_texts[low:high], corpus[low:high])
            results["search"].append(measure_search(store, settings, query_texts, baseline_queries))
        results["load_s"] = round(time.perf_counter() - start, 1)
        results["first_search_after_a_write_ms"] = reload_after_write(store, settings, query_texts[0])
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="memories in the largest store")
    parser.add_argument("--base", type=int, default=2000, help="distinct sentences embedded")
    parser.add_argument("--queries", type=int, default=100, help="searches timed per size")
    parser.add_argument("--baseline-queries", type=int, default=30, help="of which DuckDB's too")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    result = run(options.size, options.base, options.queries, options.baseline_queries)
    if options.json:
        print(json.dumps(result, indent=2))
        return 0
    embedding = result["embedding"]
    print(
        f"embedding: {embedding['batched_texts_per_s']} texts/s batched, "
        f"{embedding['single_texts_per_s']} texts/s one by one "
        f"({embedding['single_ms_per_text']} ms per text)"
    )
    for row in result["search"]:
        print(
            f"{row['memories']:>7} memories: phoenix p50 {row['phoenix_p50_ms']} ms, "
            f"p99 {row['phoenix_p99_ms']} ms (query embedding {row['query_embedding_p50_ms']} ms); "
            f"DuckDB exact p50 {row['baseline_p50_ms']} ms, p99 {row['baseline_p99_ms']} ms; "
            f"recall@10 {row['recall_at_10']}; baseline/phoenix p50 {row['baseline_over_phoenix_p50']}"
        )
    after = result["first_search_after_a_write_ms"]
    print(f"first search after each of 5 writes (the new rows read and added to the matrix): {after} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
