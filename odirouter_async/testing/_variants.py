"""Queue gateway *variants*: the choices the docs leave open, one named preset per behaviour.

The docs do not say how ``GET .../response`` answers a failed or cancelled job, whether the job
URLs stay on the API host, how strictly fields are typed, or what request ids look like.  Each
variant fixes one set of answers; the SDK must behave the same under all of them.

``Emulator(variant="detail_500")`` applies one to every job; ``variant="random"`` picks one per
job from ``QUEUE_VARIANTS`` with a generator seeded by the emulator's ``seed``; a job may also
name its own (``"_emu": {"variant": "loose"}``).  ``None`` / ``"documented"``: the default.
In a test module (or conftest),
``emu = variant_emulator_fixture(job_duration=0.2)`` overrides the ``emu`` fixture so that every
test using it runs once per variant (and once with ``"random"``).

=============  ============================================  ==================================  =====
name           /response of a failed job                     /response of a cancelled job        ids
=============  ============================================  ==================================  =====
documented     400 + status body (COMPLETED + error)         the same                            ulid
detail_500     500 ``{"detail": "Runtime execution failed"}`` 499 ``{"detail": "Request cancelled uuid
                                                             by the client."}``
detail_422     422 ``{"detail": [{loc, msg, type}]}``        409 ``{"detail", "error_type":       long
                                                             "cancelled"}`` (Comfy)
status_200     200 + status body (COMPLETED + error)         the same                            ulid
not_found      404 ``{"detail": "Request not found"}``       the same                            odd
html_502       502 HTML page                                 the same                            ulid
foreign        as documented; status/response/cancel URLs on the second origin (``emu.cdn_url``,    ulid
               no key accepted there)
loose          as documented; numbers as strings (``"width": "1024"``, ``"file_size": "2048"``,    odd
               ``inference_time``), ``1e400``, ``metrics: null``, no ``queue_position``, extra keys
=============  ============================================  ==================================  =====

Ids: ``ulid`` ``mmsu_01h...``; ``uuid`` a bare UUID; ``long`` ``mmsu_`` + 260 characters; ``odd``
``mmsu:<ulid>.v1-é_ü`` (``:``, ``.``, unicode; percent-encoded in the URLs handed out).  The
status route always answers 200 with the status body (``COMPLETED`` + ``error`` on failure).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any, Final

from aiohttp import web

from ._common import JSON, encode, json_response, ulid

__all__ = ("QUEUE_VARIANTS", "QueueVariant", "VariantPicker", "get_variant")


@dataclass(frozen=True, slots=True)
class QueueVariant:
    """One gateway behaviour on the queue (see the module docstring)."""

    name: str
    failed: str = "status400"  # how /response answers a failed job (a key of _ANSWERS)
    cancelled: str = "status400"
    ids: str = "ulid"  # "ulid" | "uuid" | "long" | "odd"
    foreign: bool = False
    loose: bool = False

    def new_id(self, rng: Random) -> str:
        """A fresh request id of this variant's shape."""
        if self.ids == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if self.ids == "long":
            return "mmsu_" + "".join(ulid(rng) for _ in range(10))
        if self.ids == "odd":
            return f"mmsu:{ulid(rng)}.v1-\u00e9_\u00fc"
        return "mmsu_" + ulid(rng)

    def failure(self, status_body: dict[str, Any], cancelled: bool) -> web.Response:
        """The /response answer of a failed (or cancelled) job."""
        return _ANSWERS[self.cancelled if cancelled else self.failed](status_body)


_Answer = Callable[[dict[str, Any]], web.Response]


def _status(code: int) -> _Answer:
    return lambda body: json_response(body, code)


def _detail(code: int, detail: object, **extra: object) -> _Answer:
    return lambda body: json_response({"detail": detail, **extra}, code)


_HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
_ANSWERS: Final[dict[str, _Answer]] = {
    "status400": _status(400),
    "status200": _status(200),
    "detail500": _detail(500, "Runtime execution failed"),
    "detail499": _detail(499, "Request cancelled by the client."),
    "detail422": _detail(
        422, [{"loc": ["body", "prompt"], "msg": "Task execution failed", "type": "value_error"}]
    ),
    "conflict409": _detail(409, "Request was cancelled", error_type="cancelled"),
    "notfound404": _detail(404, "Request not found"),
    "html502": lambda body: web.Response(body=_HTML, status=502, content_type="text/html"),
}

_PRESETS: Final = (
    QueueVariant("documented"),
    QueueVariant("detail_500", failed="detail500", cancelled="detail499", ids="uuid"),
    QueueVariant("detail_422", failed="detail422", cancelled="conflict409", ids="long"),
    QueueVariant("status_200", failed="status200", cancelled="status200"),
    QueueVariant("not_found", failed="notfound404", cancelled="notfound404", ids="odd"),
    QueueVariant("html_502", failed="html502", cancelled="html502"),
    QueueVariant("foreign", foreign=True),
    QueueVariant("loose", loose=True, ids="odd"),
)
_BY_NAME: Final = {v.name: v for v in _PRESETS}
#: Every variant name (without ``"random"``), for ``pytest.mark.parametrize``.
QUEUE_VARIANTS: Final = tuple(v.name for v in _PRESETS)
DEFAULT: Final = _BY_NAME["documented"]


def get_variant(name: str | None) -> QueueVariant:
    """The preset called ``name`` (``None``: ``documented``); ``ValueError`` if unknown."""
    if name is None:
        return DEFAULT
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join((*QUEUE_VARIANTS, "random"))
        raise ValueError(f"unknown queue variant {name!r}; known: {known}") from None


class VariantPicker:
    """Chooses each job's variant: a fixed one, or a seeded random one per job."""

    def __init__(self, name: str | None, seed: int) -> None:
        self.random = name == "random"
        self.fixed = DEFAULT if self.random else get_variant(name)
        self._rng = Random(f"odirouter-variants-{seed}")

    @property
    def any_foreign(self) -> bool:
        """True when some job may get URLs on the second origin."""
        return self.random or self.fixed.foreign

    def pick(self, requested: object = None) -> QueueVariant:
        """The variant of a new job (``requested``: the job's own ``_emu.variant``)."""
        if requested is not None:
            if not isinstance(requested, str):
                raise ValueError("_emu.variant must be a variant name")
            return get_variant(requested)
        if self.random:
            return self._rng.choice(_PRESETS)
        return self.fixed


# -- loose bodies ----------------------------------------------------------------------------------

_HUGE: Final = b'"__emu_huge_number__"'


def loose_status(body: dict[str, Any]) -> dict[str, Any]:
    """A status body with the types the docs leave open bent (strings, nulls, extras)."""
    out = dict(body)
    out.pop("queue_position", None)
    metrics = out.get("metrics")
    if isinstance(metrics, dict):
        out["metrics"] = {"inference_time": str(metrics.get("inference_time")), "extra": None}
    elif out.get("status") == "COMPLETED":
        out["metrics"] = None
    out["logs"] = None
    out["x_gateway"] = {"region": "emu-1", "hops": [1, 2]}
    return out


def loose_result(body: dict[str, Any]) -> web.Response:
    """A result with numbers as strings, a number out of float range and extra keys."""
    outputs = []
    for item in body["outputs"]:
        item = {
            k: (str(v) if k in ("width", "height", "file_size", "duration") else v) for k, v in item.items()
        }
        item["nsfw_score"] = "__emu_huge_number__"
        item["seed"] = 42
        outputs.append(item)
    out = {**body, "outputs": outputs, "timings": {"inference": "1.5"}, "has_nsfw_concepts": [False]}
    raw = encode(out).replace(_HUGE, b"1e400")
    return web.Response(body=raw, status=200, content_type=JSON)
