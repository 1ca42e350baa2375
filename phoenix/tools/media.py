"""Image and audio generation through the original system's endpoints, saved under
PHOENIX_HOME/media/.

* Images: `POST STABLE_DIFFUSION_API_URL` with `{"prompt", "width", "height"}` — the shape of
  AUTOMATIC1111's `/sdapi/v1/txt2img` — answering JSON whose `images` is a list of base64 images
  (the original's parsing); an OpenAI-style `data: [{"b64_json"}]` and a raw `image/*` body are
  read too.
* Audio: `POST TTS_API_URL` with `{"text", "voice"}`, answering audio bytes (`audio/*`, or any
  body that is not JSON) or JSON with base64 audio under `audio` (or `audio_base64`, `data`).

A key (`STABLE_DIFFUSION_API_KEY`, `TTS_API_KEY`) goes in an `Authorization: Bearer` header.  The
result's `output` is the saved file's path; the file's type comes from its first bytes.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from phoenix.tools.run import ToolFailed, ToolResult
from phoenix.tools.sandbox import sandbox_home
from phoenix.tools.settings import ToolSettings

MOST_BYTES = 50 * 1024 * 1024
_SIGNATURES = [
    (b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpg"), (b"GIF8", "gif"), (b"RIFF", "wav"),
    (b"ID3", "mp3"), (b"\xff\xfb", "mp3"), (b"\xff\xf3", "mp3"), (b"OggS", "ogg"),
    (b"fLaC", "flac"),
]  # fmt: skip


def _extension(data: bytes, fallback: str) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return next((ext for magic, ext in _SIGNATURES if data.startswith(magic)), fallback)


def _post(url: str, key: SecretStr | None, body: dict[str, Any], timeout: float) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPStatusError as error:
        raise ToolFailed(f"The generation endpoint answered {error.response.status_code}") from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:  # InvalidURL is no HTTPError
        raise ToolFailed(f"The generation endpoint could not be reached: {error}") from None
    if len(response.content) > MOST_BYTES:
        raise ToolFailed(f"The generated file is larger than {MOST_BYTES // (1024 * 1024)} MB")
    return response


def _decode(text: Any) -> bytes:
    if not isinstance(text, str) or not text:
        raise ToolFailed("The endpoint's answer holds no base64 data where it should")
    if text.startswith("data:") and "," in text:  # a data URL
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        raise ToolFailed("The endpoint's answer is not valid base64") from None


def parse_image_response(response: httpx.Response) -> bytes:
    """The first image of an answer (A1111's `images`, OpenAI's `data[].b64_json`, raw bytes)."""
    if response.headers.get("content-type", "").startswith("image/"):
        return response.content
    try:
        data = response.json()
    except ValueError:
        raise ToolFailed("The image endpoint answered neither an image nor JSON") from None
    if isinstance(data, dict) and isinstance(data.get("images"), list) and data["images"]:
        return _decode(data["images"][0])
    if isinstance(data, dict) and isinstance(data.get("data"), list) and data["data"]:
        first = data["data"][0]
        return _decode(first.get("b64_json") if isinstance(first, dict) else first)
    raise ToolFailed("The image endpoint's answer has no `images` (base64) list")


def parse_audio_response(response: httpx.Response) -> bytes:
    """The audio of an answer: the body itself, or base64 under `audio`/`audio_base64`/`data`."""
    kind = response.headers.get("content-type", "")
    if not kind.startswith("application/json"):
        if not response.content:
            raise ToolFailed("The speech endpoint answered an empty body")
        return response.content
    try:
        data = response.json()
    except ValueError:
        raise ToolFailed("The speech endpoint's answer is labelled JSON but is not JSON") from None
    for key in ("audio", "audio_base64", "data"):
        if isinstance(data, dict) and data.get(key):
            return _decode(data[key])
    raise ToolFailed("The speech endpoint's JSON has no `audio` (base64)")


def save_media(settings: ToolSettings, data: bytes, fallback_extension: str) -> Path:
    folder = sandbox_home(settings) / "media"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex[:16]}.{_extension(data, fallback_extension)}"
    path.write_bytes(data)
    return path


def run_image(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    if not settings.image_api_url:
        raise ToolFailed("Image generation is not configured: set STABLE_DIFFUSION_API_URL")
    body = {k: arguments[k] for k in ("prompt", "width", "height") if k in arguments}
    response = _post(settings.image_api_url, settings.image_api_key, body, settings.http_timeout)
    path = save_media(settings, parse_image_response(response), "png")
    return ToolResult(
        tool="image_generation", ok=True, output=str(path), kind="image",
        details={"bytes": path.stat().st_size},
    )  # fmt: skip


def run_audio(arguments: dict[str, Any], settings: ToolSettings) -> ToolResult:
    if not settings.tts_api_url:
        raise ToolFailed("Speech generation is not configured: set TTS_API_URL")
    body = {k: arguments[k] for k in ("text", "voice") if k in arguments}
    response = _post(settings.tts_api_url, settings.tts_api_key, body, settings.http_timeout)
    path = save_media(settings, parse_audio_response(response), "wav")
    return ToolResult(
        tool="audio_generation", ok=True, output=str(path), kind="audio",
        details={"bytes": path.stat().st_size},
    )  # fmt: skip
