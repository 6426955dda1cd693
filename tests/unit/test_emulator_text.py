"""The emulator's text generators: answers are sentences, tool arguments fit any common JSON schema."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, strategies as st

from odirouter_async.testing._text import reply_text, schema_value, seeded_rng

_LEAVES = st.one_of(
    st.just({"type": "string"}),
    st.builds(lambda lo: {"type": "string", "minLength": lo}, st.integers(0, 30)),
    st.builds(lambda hi: {"type": "string", "maxLength": hi}, st.integers(0, 5)),
    st.sampled_from([{"type": "string", "format": f} for f in ("date", "date-time", "email", "uri", "uuid")]),
    st.builds(
        lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
        st.integers(-1000, 1000),
        st.integers(0, 50),
    ),
    st.builds(lambda lo: {"type": "integer", "exclusiveMinimum": lo}, st.integers(-5, 5)),
    st.builds(lambda lo: {"type": "number", "minimum": lo, "maximum": lo + 1.5}, st.floats(-100, 100)),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.just({"type": ["string", "null"]}),
    st.lists(st.one_of(st.text(max_size=5), st.integers()), min_size=1, max_size=4).map(
        lambda e: {"enum": e}
    ),
    st.builds(lambda v: {"const": v}, st.integers()),
)
_KEYS = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


def _compound(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    def obj(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
        return {"type": "object", "properties": props, "required": [k for k in required if k in props]}

    return st.one_of(
        st.builds(obj, st.dictionaries(_KEYS, children, max_size=4), st.lists(_KEYS, max_size=4)),
        st.builds(
            lambda items, lo: {"type": "array", "items": items, "minItems": lo, "maxItems": lo + 3},
            children,
            st.integers(0, 3),
        ),
        st.builds(lambda a, b: {"anyOf": [{"type": "null"}, a, b]}, children, children),
    )


SCHEMAS = st.recursive(_LEAVES, _compound, max_leaves=12)


def validates(value: Any, schema: dict[str, Any]) -> bool:
    """A JSON-schema check covering the keywords the strategy uses."""
    if "const" in schema:
        return bool(value == schema["const"])
    if "enum" in schema:
        return value in schema["enum"]
    if "anyOf" in schema:
        return any(validates(value, s) for s in schema["anyOf"])
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return any(_validates_type(value, kind, schema) for kind in kinds)


def _validates_type(value: Any, kind: str, schema: dict[str, Any]) -> bool:
    if kind == "object":
        props = schema["properties"]
        return (
            isinstance(value, dict)
            and set(schema["required"]) <= set(value) <= set(props)
            and all(validates(v, props[k]) for k, v in value.items())
        )
    if kind == "array":
        return (
            isinstance(value, list)
            and schema["minItems"] <= len(value) <= schema["maxItems"]
            and all(validates(v, schema["items"]) for v in value)
        )
    if kind == "integer":
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and schema.get("minimum", value) <= value <= schema.get("maximum", value)
            and value > schema.get("exclusiveMinimum", value - 1)
        )
    if kind == "number":
        return isinstance(value, (int, float)) and schema["minimum"] <= value <= schema["maximum"]
    if kind == "string":
        return isinstance(value, str) and schema.get("minLength", 0) <= len(value) <= schema.get(
            "maxLength", 1e9
        )
    if kind == "boolean":
        return isinstance(value, bool)
    return kind == "null" and value is None


@given(schema=SCHEMAS, seed=st.integers(0, 2**32), prompt=st.text(max_size=30))
@example(  # a value rounded to two decimals once stepped past its maximum
    schema={
        "type": "array",
        "items": {
            "anyOf": [
                {"type": "null"},
                {"type": "number", "minimum": 1.515625, "maximum": 3.015625},
                {"type": "string"},
            ]
        },
        "minItems": 0,
        "maxItems": 3,
    },
    seed=2867638,
    prompt="",
)
def test_schema_values_validate_and_are_deterministic(schema: dict[str, Any], seed: int, prompt: str) -> None:
    """Arguments generated for any common schema validate against it, the same for the same seed."""
    value = schema_value(schema, seeded_rng(seed), prompt=prompt)
    assert validates(value, schema), value
    assert schema_value(schema, seeded_rng(seed), prompt=prompt) == value


def test_schema_value_uses_property_names_and_formats() -> None:
    """Names and formats give plausible strings: a city for location, the prompt for query."""
    schema = {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "query": {"type": "string"},
            "when": {"type": "string", "format": "date"},
        },
        "required": ["location", "query", "when"],
    }
    value = schema_value(schema, seeded_rng(1), prompt="  cheap   flights  ")
    assert value["location"][0].isupper() and value["query"] == "cheap flights"
    assert len(value["when"]) == 10 and value["when"][4] == "-"
    assert schema_value(None, seeded_rng(1)) == {}  # a tool without parameters gets {}


@given(prompt=st.text(max_size=80), seed=st.integers(0, 5))
def test_replies_are_sentences(prompt: str, seed: int) -> None:
    """Any prompt gets a non-empty answer of sentences, the same on every call, never an echo."""
    text = reply_text(prompt, "gpt-4.1", seed)
    assert text and text[-1] in ".?" and text == reply_text(prompt, "gpt-4.1", seed)
    assert "You said" not in text


def test_reply_honours_a_sentence_count_and_the_model() -> None:
    """ "In three sentences" gives three; another model answers differently."""
    text = reply_text("In three sentences, explain caching layers", "gpt-4.1", 0)
    assert text.count(".") == 3 and ("caching" in text or "layers" in text)
    others = {
        reply_text("Explain caching layers", model, 0) for model in ("gpt-4.1", "claude-sonnet-4", "o3")
    }
    assert len(others) >= 2
