"""What the emulated models write: plausible answers and tool arguments that fit the tool's schema.

Everything here is deterministic: the same seed, model and prompt give the same answer, and the
same seed, tool and prompt the same arguments (a ``random.Random`` seeded from a hash of them).

``reply_text``: two to four sentences (or the "in N sentences" the prompt asks for) assembled from
small word lists, the first about the longest keyword of the prompt.  ``schema_value``: a JSON value that
validates against a JSON schema's common keywords (``type`` (or a list of types), ``properties``,
``required``, ``enum``, ``const``, ``default``, ``anyOf`` / ``oneOf`` / ``allOf``, ``items``,
``minItems`` / ``maxItems``, ``minimum`` / ``maximum`` (and the exclusive ones), ``minLength`` /
``maxLength``, string ``format`` date / date-time / time / email / uri / uuid, ``$ref`` into the root's
``$defs``, recursive ones included: deep down, arrays are empty and nullable values ``null``);
``pattern`` is not followed.  Optional properties are filled about half the time.

Values come from the prompt where it says them: a place-like string property (``city``,
``location`` ...) takes the capitalised place the prompt names ("weather in Lisbon" ->
``"Lisbon"``), a person-like one (``name``, ``author`` ...) a capitalised name, an ``enum``
the member the prompt mentions; anything else comes from the schema and the seed.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from random import Random
from typing import Any

__all__ = ("prompt_entities", "reply_text", "schema_value", "seeded_rng")

_STOP = frozenset({
    "about", "after", "also", "been", "being", "could", "does", "doing", "from", "have", "into",
    "just", "like", "make", "more", "most", "much", "only", "over", "please", "some", "such", "than",
    "that", "their", "them", "then", "there", "these", "they", "this", "those", "very", "what",
    "when", "where", "which", "while", "will", "with", "would", "your", "yours", "explain", "tell",
    "write", "give", "short", "sentence", "sentences", "words", "brief", "briefly",
})  # fmt: skip
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_COUNT = re.compile(r"\b(one|two|three|four|five|six|[1-6])\s+sentences?\b", re.I)
_SUBJECTS = (
    "the client", "each request", "the event loop", "a small cache", "the system", "this approach",
    "the gateway", "a careful design", "the scheduler", "your code", "the runtime", "a simple test",
)  # fmt: skip
_VERBS = (
    "keeps", "reduces", "handles", "improves", "avoids", "spreads", "balances", "simplifies",
    "measures", "limits", "hides", "overlaps",
)  # fmt: skip
_OBJECTS = (
    "the waiting time", "latency", "many tasks at once", "the overall cost", "idle resources",
    "the number of round trips", "errors early", "the load", "the moving parts", "throughput",
    "slow responses", "the work in flight",
)  # fmt: skip
_TAILS = (
    "", "", " in practice", " without extra threads", " for most workloads", " when the network is slow",
    " at scale", " over time", " by design",
)  # fmt: skip
_KW_TEMPLATES = (
    "When it comes to {kw}, {s} {v} {o}.",
    "For {kw}, {s} {v} {o} and {v2} {o2}.",
    "The point of {kw} is that {s} {v} {o}{t}.",
)
_TEMPLATES = (
    "This matters because {s} {v} {o}{t}.",
    "In practice, {s} {v} {o}{t}.",
    "{S} {v} {o}, so {s2} {v2} {o2}.",
    "This means {s} {v} {o}{t}.",
    "When it comes to {kw}, {s} {v} {o}.",
    "As a result, {s} {v} {o}{t}.",
    "For {kw}, {s} {v} {o} and {v2} {o2}.",
)
_OPENERS = ("", "", "Sure! ", "Good question! ", "In short: ")
_WORDS = (
    "amber", "harbor", "quiet", "signal", "maple", "orbit", "river", "copper", "meadow", "lantern",
    "summit", "cobalt", "willow", "ember", "delta", "granite",
)  # fmt: skip
_CITIES = ("Oslo", "Lisbon", "Kyoto", "Toronto", "Nairobi", "Lima", "Tallinn", "Hobart")
_NAMES = ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov")
_MAX_DEPTH = 8


def seeded_rng(*parts: object) -> Random:
    """A ``Random`` seeded from a stable hash of ``parts`` (never Python's salted ``hash``)."""
    digest = hashlib.blake2b("\x00".join(map(str, parts)).encode(), digest_size=8).digest()
    return Random(int.from_bytes(digest, "big"))


def _keywords(prompt: str) -> list[str]:
    words = [w.strip(".,;:!?\"'()[]{}").lower() for w in prompt.split()]
    found = [w for w in words if len(w) >= 4 and w.isalpha() and w not in _STOP]
    return sorted(dict.fromkeys(found), key=len, reverse=True)[:2]


@functools.lru_cache(maxsize=1024)
def reply_text(prompt: str, model: str, seed: int) -> str:
    """A plausible answer to ``prompt`` (deterministic in all three arguments)."""
    prompt = " ".join(prompt.split())
    if not prompt:
        return "Hello! How can I help you today?"
    rng = seeded_rng("reply", seed, model, prompt)
    keywords = _keywords(prompt) or ["this"]
    asked = _COUNT.search(prompt)
    count = rng.randint(2, 4)
    if asked:
        word = asked.group(1).lower()
        count = _NUMBERS.get(word) or int(word)
    sentences = []
    for i in range(count):
        kw = keywords[i % len(keywords)]
        sentence = rng.choice(_KW_TEMPLATES if i == 0 else _TEMPLATES).format(
            kw=kw,
            s=rng.choice(_SUBJECTS),
            S=rng.choice(_SUBJECTS).capitalize(),
            v=rng.choice(_VERBS),
            o=rng.choice(_OBJECTS),
            t=rng.choice(_TAILS),
            s2=rng.choice(_SUBJECTS),
            v2=rng.choice(_VERBS),
            o2=rng.choice(_OBJECTS),
        )
        sentences.append(sentence)
    return rng.choice(_OPENERS) + " ".join(sentences)


def _first_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if isinstance(k, str)]
        kind = next((k for k in kinds if k != "null"), kinds[0] if kinds else None)
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _number(schema: Mapping[str, Any], rng: Random, integer: bool) -> int | float:
    def bound(key: str, exclusive: str, default: float, step: float) -> float:
        value = schema.get(key)
        excl = schema.get(exclusive)
        if isinstance(excl, (int, float)) and not isinstance(excl, bool):
            return float(excl) + step
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default

    lo = bound("minimum", "exclusiveMinimum", 0.0, 1 if integer else 0.01)
    hi = bound("maximum", "exclusiveMaximum", max(lo, 0.0) + 100.0, -1 if integer else -0.01)
    if hi < lo:
        hi = lo
    if integer:
        lo_i, hi_i = int(-(-lo // 1)), int(hi // 1)
        return rng.randint(lo_i, max(lo_i, hi_i))
    value = round(rng.uniform(lo, hi), 2)
    return value if lo <= value <= hi else min(max(value, lo), hi)  # rounding may step past a bound


_PLACE_KEYS = frozenset({"location", "city", "place", "destination", "origin", "town"})
_PERSON_KEYS = frozenset({"name", "author", "person", "user", "username", "who", "full_name"})
_PREPOSITIONS = frozenset({"in", "at", "for", "to", "from", "near", "of", "around", "visit", "visiting"})
_CAPITALISED = re.compile(r"[A-Z][a-zA-Z'\-]+(?:\s+[A-Z][a-zA-Z'\-]+)*")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)$")


@functools.lru_cache(maxsize=1024)
def prompt_entities(prompt: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The capitalised names in ``prompt``: (after a preposition: places, anywhere else: names).

    A capitalised word that only starts a sentence ("What", "Tell") is not a name.
    """
    places: list[str] = []
    names: list[str] = []
    for match in _CAPITALISED.finditer(prompt):
        words = match.group(0).split()
        if _SENTENCE_START.search(prompt[: match.start()]):
            words = words[1:]  # the sentence's first word is capitalised anyway
        if not words:
            continue
        before = prompt[: match.start()].split()
        after_prep = bool(before) and before[-1].lower().strip(",;:") in _PREPOSITIONS
        (places if after_prep else names).append(" ".join(words))
    return tuple(places), tuple(names)


def _from_prompt(key: str, prompt: str) -> str | None:
    """The value the prompt gives a place- or person-like property, if it names one."""
    if not prompt:
        return None
    places, names = prompt_entities(prompt)
    base = key.rsplit("_", 1)[-1] if key not in _PLACE_KEYS | _PERSON_KEYS else key
    if base in _PLACE_KEYS:
        return places[0] if places else (names[0] if names else None)
    if base in _PERSON_KEYS:
        return names[0] if names else (places[0] if places else None)
    return None


def _string(schema: Mapping[str, Any], rng: Random, name: str, prompt: str) -> str:
    fmt = schema.get("format")
    key = name.lower()
    if fmt == "date":
        text = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    elif fmt == "date-time":
        text = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
    elif fmt == "time":
        text = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"
    elif fmt == "email" or "email" in key:
        text = f"{rng.choice(_WORDS)}@example.com"
    elif fmt in ("uri", "url") or key.endswith("url") or key == "uri":
        text = f"https://example.com/{rng.choice(_WORDS)}"
    elif fmt == "uuid" or key.endswith("uuid"):
        a, b, c, d, e = (rng.getrandbits(bits) for bits in (32, 16, 12, 12, 48))
        text = f"{a:08x}-{b:04x}-4{c:03x}-8{d:03x}-{e:012x}"
    elif (said := _from_prompt(key, prompt)) is not None:
        text = said
    elif key in _PLACE_KEYS:
        text = rng.choice(_CITIES)
    elif key in ("name", "author", "person", "user", "username"):
        text = rng.choice(_NAMES)
    elif key in ("query", "q", "prompt", "text", "question", "message", "input", "search") and prompt:
        text = " ".join(prompt.split())[:200]
    else:
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))
    lo, hi = schema.get("minLength"), schema.get("maxLength")
    if isinstance(lo, int) and len(text) < lo:
        text += "x" * (lo - len(text))
    if isinstance(hi, int) and hi >= 0:
        text = text[:hi]
    return text


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Any:
    ref = schema.get("$ref")
    defs = root.get("$defs") or root.get("definitions")
    if not isinstance(ref, str) or not isinstance(defs, Mapping):
        return schema
    target = defs.get(ref.rsplit("/", 1)[-1])
    return (
        {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        if isinstance(target, Mapping)
        else schema
    )


def _enum_choice(enum: list[Any], rng: Random, prompt: str) -> Any:
    lowered = prompt.lower()
    for member in enum:
        if isinstance(member, str) and member and re.search(rf"\b{re.escape(member.lower())}\b", lowered):
            return member
    return rng.choice(enum)


def _admits_null(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    kind = schema.get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


def schema_value(
    schema: Any,
    rng: Random,
    *,
    prompt: str = "",
    name: str = "",
    depth: int = 0,
    root: Mapping[str, Any] | None = None,
) -> Any:
    """A JSON value that fits ``schema`` (see the module docstring for the keywords honoured)."""
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return {} if depth == 0 else _string({}, rng, name, prompt)
    root = schema if root is None else root
    if "$ref" in schema:
        schema = _resolve(schema, root)
        if not isinstance(schema, Mapping):
            return {}
    if "const" in schema:
        return schema["const"]
    deep = depth >= _MAX_DEPTH - 3
    if deep and _admits_null(schema):
        return None
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return _enum_choice(enum, rng, prompt)
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            nulls = [o for o in options if _admits_null(o)]
            if deep and nulls:
                return None
            usable = [o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")]
            return schema_value(
                (usable or options)[0], rng, prompt=prompt, name=name, depth=depth + 1, root=root
            )
    kind = _first_type(schema)
    if kind == "object":
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        required = schema.get("required")
        needed = set(required) if isinstance(required, list) else set()
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if key in needed or rng.random() < 0.5:
                out[key] = schema_value(sub, rng, prompt=prompt, name=key, depth=depth + 1, root=root)
        return out
    if kind == "array":
        lo_raw, hi_raw = schema.get("minItems"), schema.get("maxItems")
        lo = lo_raw if isinstance(lo_raw, int) and lo_raw >= 0 else (0 if deep else 1)
        hi = hi_raw if isinstance(hi_raw, int) and hi_raw >= lo else max(lo, 0 if deep else 3)
        count = rng.randint(lo, max(lo, min(hi, lo + 2)))
        singular = name[:-1] if name.endswith("s") else name
        items = schema.get("items")
        return [
            schema_value(items, rng, prompt=prompt, name=singular, depth=depth + 1, root=root)
            for _ in range(count)
        ]
    if kind == "integer":
        return _number(schema, rng, integer=True)
    if kind == "number":
        return _number(schema, rng, integer=False)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, rng, name, prompt)
