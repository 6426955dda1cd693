"""``llm.strict_schema``: JSON schemas made acceptable to OpenAI's strict structured outputs."""

from __future__ import annotations

import copy
import datetime
import enum
import uuid
from typing import Any, Literal

import msgspec
import pytest
from hypothesis import given, strategies as st

from odirouter_async import StrictSchemaError, function_tool
from odirouter_async.llm.strict_schema import schema_name, to_strict_json_schema
from odirouter_async.llm.structured import output_format
from odirouter_async.testing._text import schema_value, seeded_rng


class Address(msgspec.Struct):
    """Where someone lives."""

    city: str
    street: str | None = None


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Person(msgspec.Struct):
    """A person."""

    name: str
    age: int
    address: Address
    tags: list[str] = []
    nickname: str | None = None
    color: Color = Color.RED
    kind: Literal["a", "b"] = "a"
    born: datetime.date | None = None
    uid: uuid.UUID | None = None
    friends: list[Person] = []


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema in ``node``, nested ones included."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" or (isinstance(node.get("type"), list) and "object" in node["type"]):
            found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _objects(value)
    return found


def _keys(node: Any) -> set[str]:
    out: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(key)
            if key != "properties":
                out |= _keys(value)
            else:
                for sub in value.values():
                    out |= _keys(sub)
    elif isinstance(node, list):
        for value in node:
            out |= _keys(value)
    return out


def test_struct_schema_is_strict() -> None:
    """Every object requires all its properties and forbids others; the root is the Struct itself."""
    schema = to_strict_json_schema(msgspec.json.schema(Person))
    assert schema["type"] == "object" and "$ref" not in schema
    assert schema["required"] == list(schema["properties"])
    for obj in _objects(schema):
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert "default" not in _keys(schema)
    assert schema["properties"]["friends"]["items"] == {"$ref": "#/$defs/Person"}  # recursion kept
    assert set(schema["$defs"]) >= {"Person", "Address"}


def test_optional_fields_are_nullable_and_defaults_are_required() -> None:
    """``X | None`` fields admit null; a field with another default is required with its own type."""
    schema = to_strict_json_schema(msgspec.json.schema(Person))
    props = schema["properties"]
    assert {"type": "null"} in props["nickname"]["anyOf"]
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["kind"]["enum"] == ["a", "b"]


def test_dict_schema_optional_property_becomes_nullable() -> None:
    """A hand-written schema's non-required property gets ``null`` added to its type."""
    schema = {
        "type": "object",
        "properties": {"q": {"type": "string", "minLength": 1}, "n": {"type": "integer"}},
        "required": ["q"],
    }
    before = copy.deepcopy(schema)
    out = to_strict_json_schema(schema)
    assert schema == before  # the input is not mutated
    assert out["properties"] == {"q": {"type": "string"}, "n": {"type": ["integer", "null"]}}
    assert out["required"] == ["q", "n"] and out["additionalProperties"] is False


def test_ref_with_siblings_is_merged_and_oneof_becomes_anyof() -> None:
    """``$ref`` plus ``description`` is inlined; ``oneOf`` and ``discriminator`` become plain ``anyOf``."""
    schema = {
        "type": "object",
        "properties": {
            "a": {"$ref": "#/$defs/A", "description": "the a"},
            "b": {"oneOf": [{"type": "string"}, {"type": "integer"}], "discriminator": {"propertyName": "x"}},
        },
        "required": ["a", "b"],
        "$defs": {"A": {"type": "object", "properties": {"x": {"type": "string", "format": "base64"}}}},
    }
    out = to_strict_json_schema(schema)
    a = out["properties"]["a"]
    assert a["description"] == "the a" and a["properties"] == {"x": {"type": ["string", "null"]}}
    assert out["properties"]["b"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}


@pytest.mark.parametrize(
    ("tp", "why"),
    [
        (dict[str, int], "free keys"),
        (list[int], "root"),
        (msgspec.defstruct("Free", [("extra", dict[str, int])]), "free keys"),
        (msgspec.defstruct("Tup", [("pair", tuple[int, str])]), "prefixItems"),
        (msgspec.defstruct("Arr", [("x", int)], array_like=True), "root"),
    ],
)
def test_what_strict_mode_cannot_express_is_refused(tp: Any, why: str) -> None:
    """Free-keyed dicts, tuples and non-object roots raise StrictSchemaError naming the problem."""
    with pytest.raises(StrictSchemaError, match=why):
        output_format(tp)
    assert issubclass(StrictSchemaError, ValueError)


def test_single_allof_is_merged_and_several_refused() -> None:
    """``allOf: [{$ref}]`` (pydantic's wrapper) is inlined; ``allOf`` of two schemas is refused."""
    defs = {"A": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}}
    one = {
        "type": "object",
        "properties": {"a": {"allOf": [{"$ref": "#/$defs/A"}], "description": "d"}},
        "$defs": defs,
    }
    out = to_strict_json_schema(one)
    assert out["properties"]["a"]["description"] == "d" and out["properties"]["a"]["required"] == ["x"]
    two = {"type": "object", "properties": {"a": {"allOf": [{"type": "string"}, {"minLength": 1}]}}}
    with pytest.raises(StrictSchemaError, match="allOf"):
        to_strict_json_schema(two)


def test_unresolvable_ref_is_refused() -> None:
    """A ``$ref`` outside ``#/$defs`` is refused, not sent half-resolved."""
    schema = {"type": "object", "properties": {"a": {"$ref": "#/definitions/X", "title": "t"}}}
    with pytest.raises(StrictSchemaError, match="unresolvable"):
        to_strict_json_schema(schema)


def test_schema_names_fit_the_api_pattern() -> None:
    """Names keep letters, digits, ``_`` and ``-`` and are 1-64 characters."""
    assert schema_name("My Schema!") == "My_Schema"
    assert schema_name("") == "schema"
    assert len(schema_name("x" * 100)) == 64


def test_output_format_params_and_function_tool() -> None:
    """The chat and Responses format shapes, and a strict function tool named after the Struct."""
    fmt = output_format(Address)
    assert fmt.chat_param()["json_schema"]["name"] == "Address"
    assert fmt.chat_param()["json_schema"]["strict"] is True
    flat = fmt.responses_param()
    assert flat["type"] == "json_schema" and flat["name"] == "Address" and flat["strict"] is True
    tool = function_tool(Address, name="lookup", description="Find it.")
    assert tool["function"]["name"] == "lookup" and tool["function"]["strict"] is True
    assert tool["function"]["description"] == "Find it."
    assert tool.for_responses()["name"] == "lookup" and "function" not in tool.for_responses()
    assert function_tool(Address)["function"]["description"] == "Where someone lives."
    assert output_format(Address) is output_format(Address)  # built once per type


# ----------------------------------------------------------------------------------------------
# Properties: random Structs -> strict schema -> a value generated from it decodes into the Struct

_LEAVES: list[Any] = [
    str,
    int,
    float,
    bool,
    str | None,
    int | None,
    list[str],
    list[int] | None,
    Literal["x", "y"],
]


@st.composite
def structs(draw: st.DrawFn, depth: int = 0) -> type[msgspec.Struct]:
    """A random Struct type: leaf fields, optional fields with defaults, nested Structs and lists of them."""
    count = draw(st.integers(1, 5))
    fields: list[Any] = []
    for i in range(count):
        nested = depth < 2 and draw(st.booleans()) and draw(st.booleans())
        tp: Any = draw(structs(depth + 1)) if nested else draw(st.sampled_from(_LEAVES))
        if nested and draw(st.booleans()):
            tp = list[tp]  # type: ignore[valid-type]
        if draw(st.booleans()):
            fields.append((f"f{i}", tp | None, None))
        else:
            fields.append((f"f{i}", tp))
    fields.sort(key=lambda f: len(f) == 3)  # required fields first
    return msgspec.defstruct(f"S{depth}_{draw(st.integers(0, 10**6))}", fields)


@given(structs(), st.integers(0, 2**32))
def test_random_structs_round_trip_through_the_strict_schema(tp: type[msgspec.Struct], seed: int) -> None:
    """Any Struct's strict schema is strict everywhere, idempotent, and what fits it decodes into it."""
    schema = to_strict_json_schema(msgspec.json.schema(tp))
    for obj in _objects(schema):
        assert obj["additionalProperties"] is False and obj["required"] == list(obj["properties"])
    assert to_strict_json_schema(schema) == schema
    value = schema_value(schema, seeded_rng(seed))
    assert set(value) == set(schema["properties"])  # every property written
    msgspec.convert(value, tp)  # raises if the value does not fit the type


class DuckModel:
    """Quacks like a pydantic v2 model (pydantic is not a dependency; its API is duck-typed)."""

    def __init__(self, x: int) -> None:
        self.x = x

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        return {
            "title": "DuckModel",
            "type": "object",
            "properties": {"x": {"type": "integer"}},
            "required": ["x"],
        }

    @classmethod
    def model_validate_json(cls, text: str) -> DuckModel:
        return cls(msgspec.json.decode(text)["x"])


def test_pydantic_like_models_use_their_own_schema_and_validator() -> None:
    """A class with model_json_schema/model_validate_json is described and decoded by them."""
    fmt = output_format(DuckModel)
    assert fmt.name == "DuckModel" and fmt.schema["additionalProperties"] is False
    assert fmt.decode('{"x": 4}').x == 4
