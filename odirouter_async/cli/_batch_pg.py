"""One batch, many machines: ``odirouter batch ... --journal postgresql://...``, ``batch-init``,
``batch-status``.

With a PostgreSQL journal every ``odirouter batch`` process running the same input against the
same database is a *worker* of one batch: the inputs are loaded once (the first worker, or
``odirouter batch-init DSN ENDPOINT INPUTS``), each worker claims inputs (``batch.pg_hooks``),
writes the results it finished to its own ``--out DIR/results.jsonl`` and downloads to its own
``DIR/outputs/``.  A worker ends when nothing is left to claim and no other live worker holds an
unfinished input; a worker that dies is taken over once its lease expires (``--lease``): its
claimed inputs are claimed again, its submitted jobs re-attached, its submits in flight reported
as uncertain (``--resubmit-uncertain`` submits them again, same request id).
``odirouter batch-status DSN`` prints done / failed / running / uncertain, overall and per worker.

The driver (psycopg 3) is the ``postgres`` extra: ``pip install 'odirouter_async[postgres]'``.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import anyio

from .._exceptions import JournalError
from ._batch_io import InputLine, ResultsFile, read_inputs
from ._common import EXIT_FAILED, EXIT_OK, UsageError, make_client, warn
from ._progress import Progress, format_duration

if TYPE_CHECKING:
    from ..batch.pg_hooks import PgJournalHooks
    from ..batch.pg_store import PgJournal

__all__ = ("add_parsers", "run_shared")

_RUNNING = ("claimed", "intent", "submitted")


def _driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise UsageError(
            "a PostgreSQL journal needs psycopg 3: pip install 'odirouter_async[postgres]'"
        ) from None


def add_parsers(subparsers: Any) -> None:
    """Register ``batch-init`` and ``batch-status``."""
    p = subparsers.add_parser(
        "batch-init",
        client=False,
        help="load a batch's inputs into a PostgreSQL journal (workers: odirouter batch --journal DSN)",
        description="Create the tables if needed and load INPUTS (JSONL) as batch NAME (default: "
        "ENDPOINT). Inputs already loaded are left alone; running it twice is harmless.",
    )
    p.add_argument("dsn", metavar="DSN", help="postgresql://user@host:port/database")
    p.add_argument("endpoint", metavar="ENDPOINT")
    p.add_argument("inputs", metavar="INPUTS")
    p.add_argument("--batch", metavar="NAME", help="batch name (default: the endpoint)")
    p.set_defaults(func=batch_init)
    p = subparsers.add_parser(
        "batch-status",
        client=False,
        help="show a shared batch's progress: done, failed, running, uncertain, per worker",
    )
    p.add_argument("dsn", metavar="DSN", help="postgresql://user@host:port/database")
    p.add_argument("--batch", metavar="NAME", help="the batch (needed when the database holds several)")
    p.set_defaults(func=batch_status)


async def batch_init(args: argparse.Namespace) -> int:
    """``odirouter batch-init DSN ENDPOINT INPUTS``."""
    _driver()
    from ..batch.pg_hooks import input_rows
    from ..batch.pg_store import PgJournal

    inputs = _read(args.inputs)
    try:
        store = await PgJournal.open(args.dsn, endpoint=args.endpoint, batch=args.batch)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    try:
        added = await store.load_inputs(input_rows(i.arguments for i in inputs))
    finally:
        with anyio.CancelScope(shield=True):
            await store.close()
    warn(f"batch {store.batch}: {added} inputs loaded ({len(inputs) - added} were there already)")
    return EXIT_OK


async def batch_status(args: argparse.Namespace) -> int:
    """``odirouter batch-status DSN``."""
    _driver()
    from ..batch.pg_conn import batch_status as fetch

    try:
        status = await fetch(args.dsn, args.batch)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    overall: Counter[str] = Counter()
    workers: dict[str, tuple[str, Counter[str]]] = {}
    for owner, host, pid, alive, state, count in status["rows"]:
        # A dead worker's intent is uncertain for everyone (a live one's is a submit in flight).
        shown = "uncertain" if state == "intent" and not alive else state
        overall[shown] += count
        if owner is not None:
            where = f"{host} pid {pid}, {'alive' if alive else 'gone'}"
            workers.setdefault(owner, (where, Counter()))[1][shown] += count
    print(f"batch {status['batch']} on {status['endpoint']}: {sum(overall.values())} inputs")
    print("  " + _counts(overall))
    for owner, (where, counts) in workers.items():
        print(f"  worker {owner} ({where}): {_counts(counts)}")
    return EXIT_OK


def _counts(c: Counter[str]) -> str:
    running = sum(c[s] for s in _RUNNING)
    pending = c["pending"] + c["cancelled"]
    return (
        f"{c['done']} done, {c['failed']} failed, {running} running, {c['uncertain']} uncertain, "
        f"{pending} pending"
    )


def _read(path: str) -> list[InputLine]:
    from pathlib import Path

    try:
        inputs, malformed = read_inputs(Path(path))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    for number, reason in malformed:
        warn(f"{path} line {number}: {reason}")
    return inputs


async def run_batch(args: argparse.Namespace) -> int:
    """The ``batch`` command: a ``postgresql://`` journal runs as a shared-batch worker."""
    from ..batch.journal_store import is_postgres_dsn
    from ._batch import run

    if is_postgres_dsn(args.journal):
        return await run_shared(args)
    return await run(args)


async def run_shared(args: argparse.Namespace) -> int:
    """``odirouter batch ENDPOINT INPUTS --out DIR --journal postgresql://...``: one worker."""
    _driver()
    from ..batch.pg_hooks import PgJournalHooks, input_rows
    from ..batch.pg_store import PgJournal
    from ._batch import EXIT_HALTED, _Batch, _Plan, _run_map

    inputs = _read(str(args.inputs))
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {args.out}: {exc.strerror or exc}") from None
    results = ResultsFile(args.out / "results.jsonl")
    results.load()
    client = make_client(args)
    started = time.monotonic()
    async with client:
        try:
            store = await PgJournal.open(
                str(args.journal), endpoint=args.endpoint, batch=args.batch, lease=args.lease
            )
        except JournalError as exc:
            raise UsageError(str(exc)) from None
        try:
            rows = input_rows(i.arguments for i in inputs)
            added = await store.load_inputs(rows)
            by_key = {key: item for (key, _, _), item in zip(rows, inputs, strict=True)}
            open_rows = await store.others_open()
            warn(
                f"batch {store.batch} ({args.endpoint}): worker {store.worker_id}; {len(inputs)} inputs"
                + (f", {added} loaded now" if added else "")
                + f"; {open_rows} not finished"
            )
            plan = _Plan()
            hooks = PgJournalHooks(
                store,
                None,
                client=client,
                resubmit_uncertain=args.resubmit_uncertain,
                retry_failed=args.retry_failed,
            )
            batch = _Batch(args, client, store, plan, results)  # type: ignore[arg-type]
            shown = bool(open_rows) and not args.quiet
            batch.progress = Progress(open_rows, label=args.endpoint, enabled=shown)
            interrupted = False
            try:
                await _run_map(batch, store, hooks=hooks, inputs=_claimed(hooks, plan, by_key))  # type: ignore[arg-type]
            except anyio.get_cancelled_exc_class():
                interrupted = True
                raise
            finally:
                try:
                    results.close()
                finally:
                    batch.progress.close()
                    _summary(args, store, batch, hooks, time.monotonic() - started, interrupted)
        finally:
            with anyio.CancelScope(shield=True):
                await store.close()
    if batch.halted is not None:
        return EXIT_HALTED
    bad = batch.failed + batch.unfinished + len(hooks.uncertain)
    return EXIT_FAILED if bad else EXIT_OK


async def _claimed(hooks: PgJournalHooks, plan: Any, by_key: dict[str, InputLine]) -> Any:
    """The claimed inputs, with the plan's per-index lists kept in step (index = claim order)."""
    async for arguments in hooks.claimed_inputs():
        row = hooks.row_of(len(plan.todo))
        assert row is not None
        plan.todo.append(by_key.get(row.key) or InputLine(row.index + 1, arguments))
        plan.keys.append(row.key)
        plan.attempts.append(row.attempt)
        if row.state == "submitted":
            plan.reattach += 1
        yield arguments


def _summary(
    args: Any, store: PgJournal, batch: Any, hooks: PgJournalHooks, elapsed: float, interrupted: bool
) -> None:
    lines = [
        f"worker {store.worker_id}: {batch.done} done, {batch.failed} failed"
        + (f", {batch.unfinished} unfinished" if batch.unfinished else "")
        + (f" ({hooks.reattached} re-attached from other workers)" if hooks.reattached else "")
        + f" in {format_duration(elapsed)}",
        f"  results: {batch.results.path}",
    ]
    st = store.stats
    lines.append(
        f"  journal database: {st['statements']} statements in {st['transactions']} commits, "
        f"{st['claims']} claims"
    )
    if store.stats["reconnects"]:
        lines.append(
            f"  the journal database was unreachable; {store.stats['reconnects']} reconnect attempts"
        )
    if hooks.uncertain:
        shown = ", ".join(str(r.index + 1) for r in hooks.uncertain[:20])
        lines.append(
            f"  {len(hooks.uncertain)} uncertain inputs (a dead worker's submit was in flight; lines "
            f"{shown}): not submitted; --resubmit-uncertain submits them again (may pay twice)"
        )
    if batch.halted is not None:
        from ._batch import _command_line, halted_line

        lines.append(halted_line(batch.halted, _command_line(args)))
    if interrupted:
        lines.append("interrupted: the other workers go on; run the same command to rejoin the batch.")
    dsn = _safe_dsn(str(args.journal))
    lines.append(f"  batch progress: odirouter batch-status {dsn} --batch {store.batch}")
    warn("\n".join(lines))


def _safe_dsn(dsn: str) -> str:
    """The DSN without its passwords (``batch.dsn.redact_dsn``: every form)."""
    from ..batch.dsn import redact_dsn

    return redact_dsn(dsn)
