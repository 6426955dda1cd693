"""``queue.map`` and ``odirouter batch``: many jobs, bounded, journaled, resumable.

Pure: ``dsn`` (journal locations and their redaction).  Shell: ``map`` / ``map_runner`` (the
bounded fan-out), ``map_types`` / ``map_kinds``, the journal (``journal`` and its ``journal_*``
parts: schema, codec, store, worker thread, hooks) and its PostgreSQL store (``pg_*``).
"""
