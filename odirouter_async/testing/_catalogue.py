"""The emulator's model catalogue: which LLM ids, queue endpoints and video models it serves.

Pure data plus ``ModelCatalogue``, which answers two questions: may a chat / Responses request
use this model id (unknown ids answer 404 ``model_not_found`` like the gateway, unless the
emulator is permissive), and what does ``GET /v1/models`` list.  The LLM ids are a handful of
realistic names; the queue endpoints are the ones documented on OdiRouter's model pages
(``/work/shared/reference/odirouter-api.md`` section 8) with the kind of file each produces.

The queue route (``_queue``) asks ``accepts_endpoint``: a catalogue endpoint, or one configured
with ``emu.set_endpoint(...)``, is served; any other submit answers 404 ``{"detail": "App not
found: <id>"}`` as the gateway does, unless the emulator is permissive.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

__all__ = (
    "LLM_MODELS",
    "MODELS_CREATED",
    "QUEUE_ENDPOINTS",
    "QUEUE_ENDPOINT_KINDS",
    "VIDEO_MODELS",
    "ModelCatalogue",
    "OutputKind",
)

OutputKind = Literal["image", "video", "audio"]
MODELS_CREATED = 1_735_689_600  # 2025-01-01T00:00:00Z, fixed so the list is deterministic

#: (id, owned_by) of the chat / Responses models.
LLM_MODELS: tuple[tuple[str, str], ...] = (
    ("gpt-4.1", "openai"),
    ("gpt-4.1-mini", "openai"),
    ("gpt-4.1-nano", "openai"),
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("o3", "openai"),
    ("o4-mini", "openai"),
    ("claude-sonnet-4", "anthropic"),
    ("claude-opus-4", "anthropic"),
    ("gemini-2.5-pro", "google"),
    ("gemini-2.5-flash", "google"),
    ("deepseek-chat", "deepseek"),
    ("deepseek-reasoner", "deepseek"),
)

#: (id, kind, owned_by) of the queue endpoints documented on OdiRouter (no audio model is).
QUEUE_ENDPOINTS: tuple[tuple[str, OutputKind, str], ...] = (
    ("nano_banana_2", "image", "google"),
    ("nano_banana_pro", "image", "google"),
    ("nano_banana", "image", "google"),
    ("gpt_image_1", "image", "openai"),
    ("gpt_image_1_edit", "image", "openai"),
    ("gpt_image_2_edit", "image", "openai"),
    ("flux_pro_11", "image", "black-forest-labs"),
    ("flux_2_pro", "image", "black-forest-labs"),
    ("flux_kontext_pro", "image", "black-forest-labs"),
    ("flux_kontext_max", "image", "black-forest-labs"),
    ("wan25_i2i_preview", "image", "alibaba"),
    ("qwen_image_edit_plus", "image", "alibaba"),
    ("happyhorse_1.0_t2v", "video", "happyhorse"),
    ("happyhorse_1.0_i2v", "video", "happyhorse"),
)
QUEUE_ENDPOINT_KINDS: dict[str, OutputKind] = {i: kind for i, kind, _ in QUEUE_ENDPOINTS}

#: (id, owned_by) of the Sora-style ``/v1/videos`` models.
VIDEO_MODELS: tuple[tuple[str, str], ...] = (("sora-2", "openai"), ("sora-2-pro", "openai"))


class ModelCatalogue:
    """The LLM ids an emulator accepts and the ``/v1/models`` listing.

    ``extra``: more LLM ids to accept and list (owned by ``"odirouter"``).  ``permissive``: accept
    any model id on chat and Responses and any queue endpoint (the listing is unchanged).
    """

    __slots__ = ("_llm", "permissive")

    def __init__(self, extra: Iterable[str] = (), *, permissive: bool = False) -> None:
        self._llm: dict[str, str] = dict(LLM_MODELS)
        if isinstance(extra, str):
            raise ValueError("models must be a list of model ids, not one string")
        for model in extra:
            if not isinstance(model, str) or not model:
                raise ValueError("extra model ids must be non-empty strings")
            self._llm.setdefault(model, "odirouter")
        self.permissive = permissive

    @property
    def llm_ids(self) -> list[str]:
        """The LLM ids accepted without ``permissive``, in listing order."""
        return list(self._llm)

    def accepts(self, model: str) -> bool:
        """May a chat / Responses request use ``model``?"""
        return self.permissive or model in self._llm

    def accepts_endpoint(self, endpoint: str, configured: Iterable[str] = ()) -> bool:
        """May a queue submit use ``endpoint``?  Catalogue ids, ``configured`` ones; any if permissive."""
        return self.permissive or endpoint in QUEUE_ENDPOINT_KINDS or endpoint in configured

    def listing(self, extra_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The ``data`` of ``GET /v1/models``: LLMs, queue endpoints, video models, then ``extra_ids``."""
        owners = {**self._llm, **{i: o for i, _, o in QUEUE_ENDPOINTS}, **dict(VIDEO_MODELS)}
        for model in extra_ids:
            owners.setdefault(model, "odirouter")
        return [
            {"id": model, "object": "model", "created": MODELS_CREATED, "owned_by": owner}
            for model, owner in owners.items()
        ]
