"""Which journal strings are PostgreSQL DSNs, and DSNs shown without their passwords (``batch.dsn``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from odirouter_async.batch.dsn import is_postgres_dsn, redact_dsn, redact_text, secrets_of
from odirouter_async.batch.journal_store import is_postgres_dsn as store_is_postgres_dsn

DSNS = [
    "postgresql://u:s3cret@db.example/jobs",
    "postgres://u:s3cret@h1:5432,h2:5433/jobs?sslmode=require",
    "postgresql://u@db/jobs?password=s3cret&application_name=x",
    "postgresql:///jobs?host=/var/run/postgresql&password=s3cret",
    "POSTGRESQL://u:s3cret@db/jobs",
    "host=db.example port=5432 dbname=jobs user=u password=s3cret",
    "dbname=jobs password = 's3cret with spaces' host=db",
    "password='it\\'s s3cret' dbname=jobs",
    "host=db sslpassword=s3cret",
    "service=batchdb",
    "  dbname=jobs",
    "application_name=x password=s3cret",
]
FILES = [
    "run.sqlite",
    "out/journal.sqlite",
    "runs/host=3.sqlite",
    "./dbname",
    "service",
    "C:\\runs\\journal.sqlite",
    "postgresql.sqlite",
    "unknownkey=value",
]


@pytest.mark.parametrize("dsn", DSNS)
def test_libpq_forms_are_dsns(dsn: str) -> None:
    """Both libpq forms (URI and keyword=value, service=) name a database, never a file."""
    assert is_postgres_dsn(dsn)
    assert store_is_postgres_dsn(dsn)


@pytest.mark.parametrize("name", FILES)
def test_file_names_are_files(name: str) -> None:
    """Plain paths (even with '=' inside a path segment) stay sqlite files."""
    assert not is_postgres_dsn(name)


def test_a_path_object_is_always_a_file() -> None:
    """A pathlib.Path is a file even when its name reads like a DSN (the escape hatch)."""
    assert not is_postgres_dsn(Path("host=db dbname=jobs"))
    assert not is_postgres_dsn(None)


@pytest.mark.parametrize("dsn", DSNS)
def test_no_password_survives_redaction(dsn: str) -> None:
    """redact_dsn removes every password form; the rest of the DSN stays readable."""
    shown = redact_dsn(dsn)
    assert "s3cret" not in shown
    if "s3cret" in dsn:
        assert "***" in shown
    else:
        assert shown == dsn


def test_redaction_keeps_the_rest() -> None:
    """Hosts, ports, database and other parameters are shown as given."""
    assert redact_dsn("postgres://u:pw@h1:5432,h2/jobs?sslmode=require&password=x#f") == (
        "postgres://u:***@h1:5432,h2/jobs?sslmode=require&password=***#f"
    )
    assert redact_dsn("host=db password='a b' dbname=jobs") == "host=db password=*** dbname=jobs"
    assert redact_dsn("run.sqlite") == "run.sqlite"


def test_unterminated_quote_hides_the_rest() -> None:
    """A malformed value (no closing quote) is hidden up to the end of the string."""
    shown = redact_dsn("dbname=x password='s3cret host=db")
    assert "s3cret" not in shown and shown.startswith("dbname=x password=")


def test_redact_text_scrubs_driver_messages() -> None:
    """A driver message quoting the DSN or a piece of it (percent-decoded too) leaks nothing."""
    dsn = "postgresql://u:p%40ss@db/jobs"
    assert secrets_of(dsn) == ["p%40ss", "p@ss"] or set(secrets_of(dsn)) == {"p%40ss", "p@ss"}
    text = f'connection to {dsn} failed: missing "=" after "p@ss"'
    scrubbed = redact_text(text, dsn)
    assert "p@ss" not in scrubbed and "p%40ss" not in scrubbed
    assert "postgresql://u:***@db/jobs" in scrubbed
    assert redact_text("no dsn here", "run.sqlite") == "no dsn here"
