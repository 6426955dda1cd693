"""JSON schemas made acceptable to OpenAI's strict structured outputs (pure).

``to_strict_json_schema(schema)`` takes a JSON schema (``msgspec.json.schema(T)`` or a
hand-written dict) and returns a new one that strict mode accepts, never mutating its input:

- every object lists all its properties in ``required`` and has ``additionalProperties: false``;
- a property that was not required becomes nullable (``null`` added to its ``type``, or an
  ``anyOf`` with ``{"type": "null"}``) unless it already admits ``null`` or has a ``default``
  (a msgspec field with a non-``None`` default: the model must then write a value, which decodes
  into the field's own type);
- a root ``$ref`` (what msgspec emits for a Struct) is replaced by the definition it names, the
  ``$defs`` kept for the other references (recursive types keep working);
- a ``$ref`` with sibling keywords (``description``) is merged with its definition, since strict
  mode rejects siblings of ``$ref``;
- ``allOf`` of one schema is merged into its node (pydantic writes it around a ``$ref``); of
  several, refused;
- ``oneOf`` becomes ``anyOf`` (msgspec's tagged unions); keywords strict mode does not support
  (``default``, ``discriminator``, ``minLength``, ``contentEncoding``, unknown ``format`` ...)
  are dropped;
- what strict mode cannot express is refused with ``StrictSchemaError``: an object whose keys are
  free (``dict[str, X]``: ``additionalProperties`` a schema, or ``true``), tuples
  (``prefixItems``), and a root that is not an object.

``schema_name(text)`` makes a ``name`` the API accepts (``^[a-zA-Z0-9_-]{1,64}$``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._exceptions import OdiRouterError

__all__ = ("StrictSchemaError", "schema_name", "to_strict_json_schema")

#: Keywords strict mode accepts (anything else is dropped).
_KEPT = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum",
        "const", "$ref", "$defs", "definitions", "title", "description", "pattern", "format",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minItems", "maxItems",
    }
)  # fmt: skip
#: ``format`` values strict mode accepts.
_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})
#: Keywords that give a node a type (a node with none of them, ``{}``, is refused).
_TYPED = frozenset({"type", "anyOf", "enum", "const", "$ref", "oneOf"})
_NAME_BAD = re.compile(r"[^a-zA-Z0-9_-]+")


class StrictSchemaError(OdiRouterError, ValueError):
    """A schema strict mode cannot express (the message says where and why)."""


def schema_name(text: str) -> str:
    """``text`` as a schema/tool name the API accepts (letters, digits, ``_``, ``-``; 1-64)."""
    name = _NAME_BAD.sub("_", text).strip("_")[:64]
    return name or "schema"


def to_strict_json_schema(schema: Mapping[str, Any], *, nullable_optional: bool = True) -> dict[str, Any]:
    """A strict-mode copy of ``schema`` (see the module docstring); raises ``StrictSchemaError``.

    ``nullable_optional=False`` (the schema of a type the SDK decodes into: an ``UNSET`` or
    ``NotRequired`` field does not take ``null``) keeps a non-required property's own type."""
    defs: dict[str, Any] = dict(schema.get("$defs") or {})
    root: dict[str, Any] = dict(schema)
    ref = root.get("$ref")
    if isinstance(ref, str) and set(root) <= {"$ref", "$defs", "title", "description"}:
        target = _resolve(ref, defs, "#")
        root = {**target, **{k: v for k, v in root.items() if k in ("title", "description")}}
    root.pop("$defs", None)
    if root.get("type") != "object":
        raise StrictSchemaError(
            "#: the root of a strict schema must be an object (a Struct or a dict schema)"
        )
    out: dict[str, Any] = _node(root, defs, "#", nullable_optional)
    if defs:
        out["$defs"] = {
            name: _node(d, defs, f"#/$defs/{name}", nullable_optional) for name, d in defs.items()
        }
    return out


def _resolve(ref: str, defs: Mapping[str, Any], path: str) -> dict[str, Any]:
    prefix = "#/$defs/"
    if not ref.startswith(prefix) or ref[len(prefix) :] not in defs:
        raise StrictSchemaError(f"{path}: unresolvable $ref {ref!r} (only '#/$defs/...' is supported)")
    target: dict[str, Any] = defs[ref[len(prefix) :]]
    return target


def _node(node: Any, defs: Mapping[str, Any], path: str, nullable: bool = True) -> Any:
    """One schema node, strict (recursing into its sub-schemas)."""
    if isinstance(node, bool) or not isinstance(node, Mapping):
        raise StrictSchemaError(f"{path}: a boolean or non-object schema is not supported in strict mode")
    if "prefixItems" in node:
        raise StrictSchemaError(
            f"{path}: tuples (prefixItems) are not supported in strict mode; use a list or a Struct"
        )
    if "allOf" in node:
        parts = node["allOf"]
        if not isinstance(parts, list) or len(parts) != 1:
            raise StrictSchemaError(f"{path}: allOf with several schemas is not supported in strict mode")
        node = {**{k: v for k, v in node.items() if k != "allOf"}, **parts[0]}
    if "$ref" in node and len(set(node) - {"$ref"}) > 0:
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**_resolve(node["$ref"], defs, path), **siblings}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _KEPT or key in ("$defs", "definitions"):
            continue
        if key == "format" and value not in _FORMATS:
            continue
        out[key] = value
    if not set(node) & _TYPED:
        raise StrictSchemaError(
            f"{path}: a schema without a type (Any, msgspec.Raw) is not supported in strict mode;"
            " give the field a concrete type"
        )
    if "oneOf" in node:
        out["anyOf"] = [*node.get("anyOf", ()), *node["oneOf"]]
    if "anyOf" in out:
        out["anyOf"] = [_node(s, defs, f"{path}/anyOf/{i}", nullable) for i, s in enumerate(out["anyOf"])]
    if "items" in out:
        out["items"] = _node(out["items"], defs, f"{path}/items", nullable)
    if _is_object(node):
        _object(node, out, defs, path, nullable)
    return out


def _is_object(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind)


def _object(
    node: Mapping[str, Any], out: dict[str, Any], defs: Mapping[str, Any], path: str, nullable: bool
) -> None:
    extra = node.get("additionalProperties", False)
    if extra is not False:
        raise StrictSchemaError(
            f"{path}: an object with free keys (a dict, or additionalProperties) is not supported"
            " in strict mode; use a Struct with named fields"
        )
    props: Mapping[str, Any] = node.get("properties") or {}
    required = set(node.get("required") or ())
    new_props: dict[str, Any] = {}
    for name, prop in props.items():
        sub = _node(prop, defs, f"{path}/properties/{name}", nullable)
        if nullable and name not in required and "default" not in prop and not _admits_null(sub):
            sub = _nullable(sub)
        new_props[name] = sub
    out["properties"] = new_props
    out["required"] = list(new_props)
    out["additionalProperties"] = False


def _admits_null(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(isinstance(s, Mapping) and _admits_null(s) for s in node.get("anyOf", ()))


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    kind = node.get("type")
    if isinstance(kind, str) and "$ref" not in node and "anyOf" not in node and "enum" not in node:
        return {**node, "type": [kind, "null"]}
    if isinstance(kind, list) and "enum" not in node:
        return {**node, "type": [*kind, "null"]}
    return {"anyOf": [node, {"type": "null"}]}
