"""A method's request fields -> its JSON body: the fields given, then the extra keywords.

The generated chat and Responses methods take their request fields by name; each collects them in
a generated ``fields`` dict (``tools/gen_params.py``, a ``NOT_GIVEN`` value means "not given") and
hands it here, with the caller's other keywords (``**extra_fields``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._config import NOT_GIVEN

__all__ = ("request_body",)


def request_body(head: dict[str, Any], fields: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``head``, then each of ``fields`` that holds a value (``NOT_GIVEN`` left out), then ``extra``."""
    head.update({name: value for name, value in fields.items() if value is not NOT_GIVEN})
    head.update(extra)
    return head
