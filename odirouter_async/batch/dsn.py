"""PostgreSQL connection strings: which ``journal=`` strings name a database, and how one is shown.

libpq takes two forms of connection string, and so does every ``journal=`` / ``--journal``:

- a URI, ``postgresql://`` or ``postgres://`` (``user:password@host:port,host2/dbname?k=v``);
- ``keyword=value`` pairs separated by white space (``host=db1 dbname=jobs password='a b'``),
  values optionally single-quoted with ``\\'`` and ``\\\\`` escapes; ``service=NAME`` alone names
  an entry of ``pg_service.conf``.

:func:`is_postgres_dsn` says whether a journal argument is one of those (a ``str`` starting with a
URI prefix, or holding a white-space separated libpq keyword followed by ``=``): such a string is
never a file name.  A ``pathlib.Path`` is always a file.  :func:`redact_dsn` is THE way a DSN is
shown anywhere (messages, reprs, logs, the CLI): every password (``password``, ``sslpassword``; in
the URI's user info, its query or a ``keyword=value`` pair) becomes ``***``.  :func:`redact_text`
scrubs a DSN and its passwords out of any text (a database driver's message, a command line).

Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote

__all__ = ("PG_KEYWORDS", "is_postgres_dsn", "redact_dsn", "redact_text", "secrets_of")

#: Connection keywords libpq knows (PostgreSQL 17); a string holding one and ``=`` is a DSN.
PG_KEYWORDS: Final = frozenset(
    {
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile", "require_auth",
        "channel_binding", "connect_timeout", "client_encoding", "options", "application_name",
        "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "replication", "gssencmode", "sslmode",
        "requiressl", "sslnegotiation", "sslcompression", "sslcert", "sslkey", "sslkeylogfile",
        "sslpassword", "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir", "sslsni",
        "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version", "krbsrvname",
        "gsslib", "gssdelegation", "service", "target_session_attrs", "load_balance_hosts",
        "min_protocol_version", "max_protocol_version",
    }
)  # fmt: skip
_SECRET_KEYS: Final = frozenset({"password", "sslpassword"})
_URI_PREFIXES: Final = ("postgresql://", "postgres://")
_KEYWORD: Final = re.compile(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)\s*=")
_MASK: Final = "***"


def _is_uri(text: str) -> bool:
    return text[:13].lower().startswith(_URI_PREFIXES)


def is_postgres_dsn(journal: object) -> bool:
    """Whether ``journal`` is a PostgreSQL connection string (URI or libpq ``keyword=value``)."""
    if not isinstance(journal, str):
        return False
    if _is_uri(journal.lstrip()):
        return True
    return any(m.group(1) in PG_KEYWORDS for m in _KEYWORD.finditer(journal))


# ----------------------------------------------------------------------------------------------
# keyword=value strings
# ----------------------------------------------------------------------------------------------


def _pairs(text: str) -> list[tuple[str, int, int, str]]:
    """``(keyword, value start, value end, value)`` of each pair; a malformed tail ends the list
    with its keyword and everything after it as the value (so a secret there is still found)."""
    pairs: list[tuple[str, int, int, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return pairs
        start = i
        while i < n and text[i] != "=" and not text[i].isspace():
            i += 1
        key = text[start:i]
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            pairs.append((key, start, n, text[start:]))
            return pairs
        i += 1
        while i < n and text[i].isspace():
            i += 1
        value_start = i
        value: list[str] = []
        quoted = i < n and text[i] == "'"
        if quoted:
            i += 1
        closed = not quoted
        while i < n:
            ch = text[i]
            if ch == "\\" and i + 1 < n:
                value.append(text[i + 1])
                i += 2
                continue
            if quoted and ch == "'":
                i += 1
                closed = True
                break
            if not quoted and ch.isspace():
                break
            value.append(ch)
            i += 1
        if not closed:  # an unterminated quote: the rest of the string is the value
            pairs.append((key, value_start, n, text[value_start:]))
            return pairs
        pairs.append((key, value_start, i, "".join(value)))


def _redact_pairs(text: str) -> str:
    out, last = [], 0
    for key, start, end, _ in _pairs(text):
        if key in _SECRET_KEYS:
            out.append(text[last:start] + _MASK)
            last = end
    return "".join(out) + text[last:]


# ----------------------------------------------------------------------------------------------
# URIs
# ----------------------------------------------------------------------------------------------


def _split_uri(text: str) -> tuple[str, str, str, str]:
    """``(scheme://, netloc, path, ?query#fragment)``, split by hand (several hosts are allowed)."""
    scheme, _, rest = text.partition("://")
    end = len(rest)
    for sep in "/?#":
        at = rest.find(sep)
        if at != -1:
            end = min(end, at)
    netloc, tail = rest[:end], rest[end:]
    q = tail.find("?")
    if q == -1:
        return scheme + "://", netloc, tail, ""
    return scheme + "://", netloc, tail[:q], tail[q:]


def _uri_secrets(text: str) -> list[str]:
    _, netloc, _, query = _split_uri(text)
    found = []
    userinfo, at, _ = netloc.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.partition(":")[2])
    for part in query[1:].split("#", 1)[0].split("&"):
        key, eq, value = part.partition("=")
        if eq and unquote(key) in _SECRET_KEYS:
            found.append(value)
    return found


def _redact_uri(text: str) -> str:
    scheme, netloc, path, query = _split_uri(text)
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:{_MASK}@{hosts}"
    if query:
        body, hash_, fragment = query[1:].partition("#")
        parts = []
        for part in body.split("&"):
            key, eq, _ = part.partition("=")
            parts.append(f"{key}={_MASK}" if eq and unquote(key) in _SECRET_KEYS else part)
        query = "?" + "&".join(parts) + hash_ + fragment
    return scheme + netloc + path + query


# ----------------------------------------------------------------------------------------------
# Public
# ----------------------------------------------------------------------------------------------


def secrets_of(dsn: str) -> list[str]:
    """The password values in ``dsn`` (as written, and percent-decoded for a URI); may be empty."""
    if _is_uri(dsn.lstrip()):
        raw = _uri_secrets(dsn)
        return [s for value in raw for s in {value, unquote(value)} if s]
    return [value for key, _, _, value in _pairs(dsn) if key in _SECRET_KEYS and value]


def redact_dsn(dsn: str) -> str:
    """``dsn`` with every password replaced by ``***`` (both forms; any other text unchanged)."""
    if _is_uri(dsn.lstrip()):
        return _redact_uri(dsn)
    if is_postgres_dsn(dsn):
        return _redact_pairs(dsn)
    return dsn


def redact_text(text: str, dsn: str | None) -> str:
    """``text`` with ``dsn`` shown redacted and none of its passwords left anywhere in it."""
    if not dsn or not is_postgres_dsn(dsn):
        return text
    text = text.replace(dsn, redact_dsn(dsn))
    for secret in sorted(secrets_of(dsn), key=len, reverse=True):
        text = text.replace(secret, _MASK)
    return text
