"""How the emulator's Sora-style videos answer: one named *variant* of the unconfirmed API.

OdiRouter documents ``/v1/videos`` only as "Sora-style" (``odirouter-api.md`` §6), so the SDK
must cope with every plausible shape.  ``Emulator(video_variant=NAME)`` picks one ("random":
chosen from ``VIDEO_VARIANTS`` by the emulator's ``seed``); ``emu.video_variant`` is the
``VideoVariant`` in use.  Every variant is a usable API: the same prompts complete or fail, so
one test suite runs across all of them.

==================== ============================================================================
``openai``           OpenAI's Videos API: ``error: {code, message}``; content of a failed video 404
``error_string``     a failed video's ``error`` is a plain string; its content answers 409
``loose_types``      ``progress`` and timestamps as numeric strings, ``seconds`` as a number,
                     extra fields (``usage``, ``quality``, ``metadata``); failed content 500
``nulls``            optional fields ``null`` (``size``, ``prompt``, ``seconds``, ``expires_at``,
                     ``progress`` while queued, ...), ``object`` left out
``unknown_status``   status words the SDK does not know while running (``pending``,
                     ``processing``), extra fields
``uuid_ids``         ids are bare UUIDs
``long_ids``         ids are ``video_`` + 240 characters including ``- _ . ~ + = :``
==================== ============================================================================
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from random import Random
from typing import Any, Final

__all__ = ("VIDEO_VARIANTS", "VideoVariant", "pick_video_variant")

_LONG_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+=:"
_NULLABLE: Final = ("size", "prompt", "seconds", "expires_at")


@dataclass(frozen=True, slots=True)
class VideoVariant:
    """One way the videos API may answer (see the module docstring)."""

    name: str
    id_style: str = "hex"
    error_as_string: bool = False
    failed_content_status: int = 404
    loose_types: bool = False
    nulls: bool = False
    status_words: Mapping[str, str] = field(default_factory=dict)
    extra_fields: Mapping[str, Any] = field(default_factory=dict)

    def new_id(self, rng: Random) -> str:
        """A fresh video id in this variant's shape (reproducible from ``rng``)."""
        if self.id_style == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if self.id_style == "long":
            return "video_" + "".join(rng.choice(_LONG_ALPHABET) for _ in range(240))
        return f"video_{rng.getrandbits(192):048x}"

    def shape(self, body: dict[str, Any]) -> dict[str, Any]:
        """This variant's answer for the canonical (``openai``) video object ``body``."""
        status = body["status"]
        if self.error_as_string and isinstance(body.get("error"), dict):
            body["error"] = body["error"]["message"]
        if self.loose_types:
            body["progress"] = str(body["progress"])
            body["seconds"] = int(body["seconds"]) if str(body["seconds"]).isdigit() else body["seconds"]
            for key in ("created_at", "completed_at", "expires_at"):
                if body[key] is not None:
                    body[key] = str(body[key])
        if self.nulls:
            for key in _NULLABLE:
                body[key] = None
            del body["object"]
            if status == "queued":
                body["progress"] = None
        body["status"] = self.status_words.get(status, status)
        body.update(self.extra_fields)
        return body


_ALL: Final = (
    VideoVariant("openai"),
    VideoVariant("error_string", error_as_string=True, failed_content_status=409),
    VideoVariant(
        "loose_types",
        loose_types=True,
        failed_content_status=500,
        extra_fields={"usage": {"seconds": 4, "cost": "0.40"}, "quality": "standard", "metadata": {}},
    ),
    VideoVariant("nulls", nulls=True, extra_fields={"metadata": None, "usage": None}),
    VideoVariant(
        "unknown_status",
        status_words={"queued": "pending", "in_progress": "processing"},
        extra_fields={"status_detail": "rendering frames", "eta_seconds": 3},
    ),
    VideoVariant("uuid_ids", id_style="uuid"),
    VideoVariant("long_ids", id_style="long"),
)
_BY_NAME: Final = {v.name: v for v in _ALL}
#: Every variant's name, ``"openai"`` first.
VIDEO_VARIANTS: Final = tuple(_BY_NAME)


def pick_video_variant(name: str, seed: int) -> VideoVariant:
    """The variant called ``name``; ``"random"`` picks one from ``seed``; ``ValueError`` if unknown."""
    if name == "random":
        name = Random(f"video-variant-{seed}").choice(VIDEO_VARIANTS)
    variant = _BY_NAME.get(name)
    if variant is None:
        raise ValueError(f"unknown video_variant {name!r}; one of {[*VIDEO_VARIANTS, 'random']}")
    return variant
