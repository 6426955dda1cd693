"""``odirouter batch ENDPOINT inputs.jsonl --out DIR``: a resumable batch of queue jobs.

The jobs run through ``client.queue.map`` with :class:`JournalHooks`: every submit is journaled
(intent before the POST, the job id right after, the outcome when it ends) in ``--journal``
(default ``DIR/journal.sqlite``).  Running the same command again resumes: inputs whose result
line is already in ``DIR/results.jsonl`` are skipped, jobs submitted earlier are re-attached,
outcomes recorded earlier but not yet written are written, and only inputs never submitted are
submitted.  An input whose submit was in flight when an earlier run died is *uncertain*: it is
reported (count and line numbers) and submitted again only with ``--resubmit-uncertain``.

Inputs are identified by content (``batch/journal.py``: arguments hash + occurrence count of identical
lines), not by line number: inserting, deleting or reordering lines of a finished or half-done
input file resumes without paying for anything already submitted.

Ctrl-C stops submitting, stops waiting, flushes the journal and prints how to resume (exit 130);
running jobs are cancelled on the gateway only with ``--cancel-on-interrupt`` -- those are
recorded as cancelled by us, and the resume runs them again.

A submit answered "no credit" (402, or 403 about balance), "bad key" (401 / 403) or "unknown
endpoint" (404) stops the batch (``BatchHalted``): no further submit, the running jobs are waited
for and written, the rest stays pending (never failed), and one line says what happened and the
command that resumes (exit 3).  ``--job-retries N`` submits a job again (at most N times) when it
failed for a transient reason (``INFERENCE_TIMEOUT``, ``INTERNAL_SERVER_ERROR``).  A result
replayed from the journal whose files are already in ``DIR/outputs`` is not downloaded again.

Exit codes: 0 every input has a successful result; 1 some input failed, is malformed, uncertain
or unfinished (the summary says which; a rerun finishes the unfinished ones); 2 usage; 3 the
batch stopped on an answer that fails every input (no credit, bad key, unknown endpoint: fix it,
then run the same command); 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import msgspec

from .._client import AsyncOdiRouter
from .._config import DEFAULT_CONCURRENCY
from .._exceptions import (
    AuthenticationError,
    BatchHalted,
    InsufficientBalanceError,
    NotFoundError,
    PermissionDeniedError,
)
from ..batch.dsn import redact_text
from ..batch.journal import Entry, Journal, JournalError
from ..batch.journal_hooks import JournalHooks
from ..batch.map import MapOutcome
from ..types.queue import JobOutput, JobResult
from ._batch_io import InputLine, ResultsFile, output_names, read_inputs
from ._common import EXIT_FAILED, EXIT_OK, UsageError, describe_error, make_client, warn
from ._gc import batch_collector
from ._progress import Progress, format_duration

__all__ = ("EXIT_HALTED", "add_parser", "run")

#: The batch stopped on an answer that fails every input (no credit, bad key, unknown endpoint).
EXIT_HALTED = 3

_SHOWN_LINES = 20
_DESCRIPTION = """\
Run one queue job per line of INPUTS (a JSON object of model arguments per line; malformed
lines are reported with their line numbers and skipped). Results are appended to
DIR/results.jsonl as jobs finish and outputs are downloaded to DIR/outputs/.

Every submit is journaled (DIR/journal.sqlite by default), so the same command run again
resumes: finished inputs are skipped, jobs submitted earlier are re-attached, and only inputs
never submitted are submitted - nothing is paid twice. An input whose submit was in flight when
a run died is "uncertain": reported, and submitted again only with --resubmit-uncertain.

Ctrl-C stops cleanly and prints how to resume; running jobs are cancelled on the gateway only
with --cancel-on-interrupt. No credit, a bad key or an unknown endpoint stops new submits at
once (exit 3): running jobs are still collected, the rest stays pending for the same command.
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_parser(subparsers: Any) -> Any:
    """Register ``batch``; returns its parser (``_batch_pg`` routes a ``postgresql://`` journal)."""
    p = subparsers.add_parser(
        "batch",
        help="run one queue job per line of a JSONL file (resumable)",
        description=_DESCRIPTION,
        epilog="Exit codes: 0 all inputs succeeded; 1 some failed / malformed / uncertain / "
        "unfinished; 2 usage; 3 stopped: no credit, bad key or unknown endpoint (fix it, then "
        "rerun the same command); 130 interrupted (rerun the same command to resume); 143 SIGTERM "
        "(the same clean stop as Ctrl-C).",
    )
    p.add_argument("endpoint", metavar="ENDPOINT", help="the queue model id, e.g. nano_banana_2")
    p.add_argument(
        "inputs", type=Path, metavar="INPUTS", help="JSONL file: one JSON object of model arguments per line"
    )
    p.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help="results.jsonl and outputs/ go here"
    )
    p.add_argument(
        "--journal",
        metavar="FILE|DSN",
        help="journal file (default: DIR/journal.sqlite), or a PostgreSQL DSN (postgresql://... or "
        "libpq's 'host=... dbname=...' / 'service=NAME') to share the batch between workers on many "
        "machines (see batch-init, batch-status)",
    )
    p.add_argument("--batch", metavar="NAME", help="PostgreSQL journal: the batch name (default: ENDPOINT)")
    p.add_argument(
        "--lease",
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help="PostgreSQL journal: a worker silent this long is taken over by the others (default 30)",
    )
    p.add_argument(
        "--concurrency", type=_positive_int, default=DEFAULT_CONCURRENCY, metavar="N", help="jobs at once"
    )
    p.add_argument("--timeout", type=_positive_float, metavar="SECONDS", help="per job; a rerun re-attaches")
    p.add_argument(
        "--resubmit-uncertain",
        action="store_true",
        help="submit again inputs whose earlier submit may or may not have reached the gateway "
        "(may pay twice; the same X-Request-Id is sent)",
    )
    p.add_argument("--retry-failed", action="store_true", help="submit failed inputs again (a new attempt)")
    p.add_argument(
        "--job-retries",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="submit a job again, at most N times, when it failed for a transient reason "
        "(INFERENCE_TIMEOUT, INTERNAL_SERVER_ERROR); each attempt is paid (default 0)",
    )
    p.add_argument(
        "--cancel-on-interrupt", action="store_true", help="on Ctrl-C, cancel running jobs on the gateway"
    )
    p.add_argument("--no-download", action="store_true", help="record output URLs, do not download files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)
    return p


@dataclass
class _Plan:
    """What this run does with each well-formed input."""

    todo: list[InputLine] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    attempts: list[int] = field(default_factory=list)
    done_before: int = 0
    failed_before: int = 0
    reattach: int = 0
    not_created: int = 0
    uncertain: list[InputLine] = field(default_factory=list)
    orphans: int = 0


def _plan(
    inputs: list[InputLine], entries: dict[str, Entry], written: dict[str, tuple[int, str]], args: Any
) -> _Plan:
    plan = _Plan()
    keys = set()
    for item, key in zip(inputs, Journal.keys_for([i.arguments for i in inputs]), strict=True):
        keys.add(key)
        entry = entries.get(key)
        line = written.get(key)
        retry = args.retry_failed and entry is not None and entry.state == "failed"
        if line is not None and not retry and (entry is None or line[0] >= entry.attempt):
            if line[1] == "ok":
                plan.done_before += 1
            else:
                plan.failed_before += 1
            continue
        if entry is not None and entry.state == "intent" and not args.resubmit_uncertain:
            plan.uncertain.append(item)
            continue
        if entry is not None and entry.state == "submitted":
            plan.reattach += 1
        if entry is not None and entry.state == "not_created":
            plan.not_created += 1
        plan.todo.append(item)
        plan.keys.append(key)
        again = retry or (entry is not None and entry.state == "cancelled")
        plan.attempts.append(entry.attempt + again if entry is not None else 1)
    plan.orphans = sum(1 for key in entries if key not in keys)
    return plan


def _lines(items: list[int]) -> str:
    shown = ", ".join(str(n) for n in items[:_SHOWN_LINES])
    return shown + (f" and {len(items) - _SHOWN_LINES} more" if len(items) > _SHOWN_LINES else "")


class _Batch:
    """One run of the command: counters, the results file, the per-outcome work."""

    def __init__(
        self, args: Any, client: AsyncOdiRouter, journal: Journal, plan: _Plan, results: ResultsFile
    ) -> None:
        self.args = args
        self.client = client
        self.journal = journal
        self.plan = plan
        self.results = results
        self.out: Path = args.out
        self.done = self.failed = self.unfinished = 0
        self.failed_lines: list[int] = []
        self.unfinished_lines: list[int] = []
        self.halted: BatchHalted | None = None
        self.reused = 0  # replayed results whose files were on disk already
        shown = bool(plan.todo) and not args.quiet
        self.progress = Progress(len(plan.todo), label=args.endpoint, enabled=shown)
        self.hooks: JournalHooks | None = None

    async def complete(self, outcome: MapOutcome, slots: anyio.Semaphore) -> None:
        """Download (unless ``--no-download``) and write the results line of one outcome."""
        try:
            await self._complete(outcome)
        finally:
            slots.release()
            self.progress.tick()

    async def _complete(self, outcome: MapOutcome) -> None:
        assert self.hooks is not None
        item = self.plan.todo[outcome.index]
        final = self.hooks.is_final(outcome)
        record: dict[str, Any] = {
            "index": item.index,
            "line": item.line,
            "key": self.plan.keys[outcome.index],
            "attempt": self.plan.attempts[outcome.index],
            "request_id": outcome.request_id,
            "status": "ok" if outcome.error is None else "failed",
            "error": None,
            "error_type": None,
            "outputs": [],
            "urls": [],
        }
        if outcome.result is not None:
            result = outcome.result
            record["urls"] = [o.url for o in result.outputs if o.url]
            if not self.args.no_download and result.outputs:
                renamed = msgspec_replace(result, output_names(result.outputs, item.line))
                paths = self._on_disk(renamed) if outcome.replayed else None
                if paths is None:
                    try:
                        paths = await self.client.queue.download(
                            renamed, self.out / "outputs", overwrite=True
                        )
                    except Exception as exc:
                        self._unfinished(item, f"download failed: {describe_error(exc)} (a rerun retries it)")
                        return
                else:
                    self.reused += 1
                record["outputs"] = [str(p.relative_to(self.out)) for p in paths]
        elif outcome.error is not None:
            record["error"] = describe_error(outcome.error)
            record["error_type"] = getattr(outcome.error, "error_type", None)
            if not final:
                why = record["error"]
                if outcome.request_id is None and outcome.submit == "uncertain":
                    why += "; a job may exist: uncertain (--resubmit-uncertain submits it again)"
                elif outcome.request_id is None:
                    why = f"not submitted ({why}); nothing paid, a rerun submits it"
                self._unfinished(item, why)
                return
        await self.journal.commit()  # the journal never lags behind results.jsonl
        self.results.append(record)
        if outcome.error is None:
            self.done += 1
            self.progress.done += 1
        else:
            self.failed += 1
            self.progress.failed += 1
            self.failed_lines.append(item.line)
            self.progress.message(f"line {item.line}: failed: {record['error']}")

    def _on_disk(self, result: JobResult) -> list[Path] | None:
        """The files of a replayed ``result`` when every one is in ``DIR/outputs`` already."""
        paths = [self.out / "outputs" / (o.file_name or "") for o in result.outputs]
        if all(o.file_name for o in result.outputs) and all(p.is_file() for p in paths):
            return paths
        return None

    def _unfinished(self, item: InputLine, why: str) -> None:
        self.unfinished += 1
        self.unfinished_lines.append(item.line)
        self.progress.failed += 1
        self.progress.message(f"line {item.line}: not finished: {why}")


def msgspec_replace(result: JobResult, outputs: list[JobOutput]) -> JobResult:
    """A copy of a ``JobResult`` with other outputs (its raw JSON and request id kept)."""
    copy = msgspec.structs.replace(result, outputs=outputs)
    copy.__dict__.update(result.__dict__)
    return copy


async def _run_map(
    batch: _Batch, journal: Journal, *, hooks: JournalHooks | None = None, inputs: Any = None
) -> None:
    args, plan = batch.args, batch.plan
    if hooks is None:
        hooks = JournalHooks(
            journal,
            client=batch.client,
            positions=[item.index for item in plan.todo],
            keys=plan.keys,
            resubmit_uncertain=args.resubmit_uncertain,
            retry_failed=args.retry_failed,
        )
    batch.hooks = hooks
    slots = anyio.Semaphore(max(4, min(args.concurrency, 32)))
    jobs = batch.client.queue.map(
        args.endpoint,
        [item.arguments for item in plan.todo] if inputs is None else inputs,
        concurrency=args.concurrency,
        cancel_on_exit=args.cancel_on_interrupt,
        wait_timeout=args.timeout,
        cancel_on_timeout=args.cancel_on_interrupt,
        hooks=hooks,
        job_retries=getattr(args, "job_retries", 0),
    )

    async def ticker() -> None:
        while True:
            batch.progress.in_flight = jobs.snapshot().in_flight
            batch.progress.tick()
            await anyio.sleep(batch.progress.interval)

    async with anyio.create_task_group() as outer:
        outer.start_soon(ticker)
        async with anyio.create_task_group() as work, jobs:
            try:
                async for outcome in jobs:
                    await slots.acquire()
                    work.start_soon(batch.complete, outcome, slots)
            except BatchHalted as exc:  # every outcome before it is being written: wait for them
                batch.halted = exc
        batch.progress.in_flight = 0
        outer.cancel_scope.cancel()


async def run(args: argparse.Namespace) -> int:
    """The ``batch`` command."""
    try:
        inputs, malformed = read_inputs(args.inputs)
    except OSError as exc:
        raise UsageError(f"cannot read {args.inputs}: {exc.strerror or exc}") from None
    for number, reason in malformed:
        warn(f"{args.inputs} line {number}: {reason}")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {args.out}: {exc.strerror or exc}") from None
    results = ResultsFile(args.out / "results.jsonl")
    written = results.load()
    client = make_client(args)
    started = time.monotonic()
    async with client:
        try:
            path = Path(args.journal) if args.journal else args.out / "journal.sqlite"
            journal = await Journal.open(path, endpoint=args.endpoint)
        except JournalError as exc:
            raise UsageError(str(exc)) from None
        try:
            entries = await journal.load()
            for old, new in journal.legacy_keys().items():  # results.jsonl of a schema-1 journal
                if old in written and new not in written:
                    written[new] = written.pop(old)
            plan = _plan(inputs, entries, written, args)
            _report_plan(args, plan, len(inputs), malformed)
            batch = _Batch(args, client, journal, plan, results)
            interrupted = False
            try:
                with batch_collector():  # the program's GC settings for the batch (``_gc.py``)
                    await _run_map(batch, journal)
            except anyio.get_cancelled_exc_class():
                interrupted = True
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    # The journal first: a broken stderr or a full disk below must not skip it.
                    try:
                        await journal.flush()
                    except JournalError as exc:
                        flush_error: JournalError | None = exc
                    else:
                        flush_error = None
                    try:
                        results.close()
                    finally:
                        batch.progress.close()
                        _summary(batch, malformed, time.monotonic() - started, interrupted)
                    if flush_error is not None:
                        raise flush_error
        finally:
            with anyio.CancelScope(shield=True):
                await journal.close()
    if batch.halted is not None:
        return EXIT_HALTED
    bad = batch.failed + batch.unfinished + plan.failed_before + len(plan.uncertain) + len(malformed)
    return EXIT_FAILED if bad else EXIT_OK


def _report_plan(args: Any, plan: _Plan, inputs: int, malformed: list[tuple[int, str]]) -> None:
    parts = [f"{inputs} inputs"]
    if malformed:
        parts.append(f"{len(malformed)} malformed lines skipped")
    earlier = plan.done_before + plan.failed_before
    if earlier:
        parts.append(f"{earlier} finished earlier")
    if plan.reattach:
        parts.append(f"{plan.reattach} submitted earlier (re-attaching)")
    if plan.not_created:
        parts.append(f"{plan.not_created} refused earlier, nothing paid (submitting again)")
    warn(f"batch {args.endpoint}: " + ", ".join(parts) + f"; {len(plan.todo)} to run")
    if plan.uncertain:
        warn(
            f"{len(plan.uncertain)} inputs may have been submitted by a run that stopped before "
            f"recording the job id (lines {_lines([i.line for i in plan.uncertain])}); they are "
            "skipped. --resubmit-uncertain submits them again (may pay twice)."
        )
    if plan.orphans:
        warn(
            f"{plan.orphans} journal entries match no input of {args.inputs} (inputs removed from "
            "the file); they are left alone"
        )


def _summary(batch: _Batch, malformed: list[tuple[int, str]], elapsed: float, interrupted: bool) -> None:
    plan, args = batch.plan, batch.args
    lines = [
        f"batch {args.endpoint}: {batch.done} done, {batch.failed} failed this run"
        + (f", {batch.unfinished} unfinished" if batch.unfinished else "")
        + (
            f" (earlier runs: {plan.done_before} done, {plan.failed_before} failed)"
            if plan.done_before + plan.failed_before
            else ""
        )
        + f" in {format_duration(elapsed)}",
        f"  results: {batch.results.path}",
    ]
    if batch.failed_lines:
        lines.append(f"  failed lines: {_lines(sorted(batch.failed_lines))}")
    if batch.unfinished_lines:
        lines.append(f"  unfinished lines (a rerun finishes them): {_lines(sorted(batch.unfinished_lines))}")
    if plan.uncertain:
        lines.append(f"  uncertain lines (not submitted): {_lines([i.line for i in plan.uncertain])}")
    if malformed:
        lines.append(f"  malformed lines: {_lines([n for n, _ in malformed])}")
    if batch.reused:
        lines.append(f"  {batch.reused} results of earlier runs already in outputs/ (not downloaded again)")
    if batch.halted is not None:
        lines.append(halted_line(batch.halted, _command_line(args)))
    if interrupted:
        left = len(plan.todo) - batch.done - batch.failed - batch.unfinished
        hooks = batch.hooks
        running = hooks.running_jobs if hooks is not None else 0  # counted now, not sampled
        cancelled = hooks.cancelled_jobs if hooks is not None else 0
        fate = f"{running} running jobs left running on the gateway"
        if args.cancel_on_interrupt:
            fate += f"; {cancelled} jobs cancelled on the gateway, the resume runs them again"
        lines.append(f"interrupted: {left} inputs not finished ({fate}); the journal is saved.")
        lines.append(f"resume with: {_command_line(args)}")
    warn("\n".join(lines))


def halted_line(halted: BatchHalted, command: str) -> str:
    """One line: why the batch stopped, what is left, what to fix, and the command that resumes."""
    reason = halted.reason
    if isinstance(reason, InsufficientBalanceError):
        what, fix = "out of credit", "after a top-up"
    elif isinstance(reason, (AuthenticationError, PermissionDeniedError)):
        what, fix = "the API key was refused", "with a valid key (ODIROUTER_API_KEY)"
    elif isinstance(reason, NotFoundError):
        what, fix = "unknown endpoint", "with the right endpoint"
    else:  # pragma: no cover - halts_batch lists the classes above
        what, fix = "stopped", "once fixed"
    status = getattr(reason, "status_code", None)
    said = (
        describe_error(reason) if status is None else f"HTTP {status}: {getattr(reason, 'message', reason)}"
    )
    return (
        f"stopped: {what} ({said}); no more submits - {halted.running} running jobs were collected, "
        f"{halted.pending} inputs not submitted (nothing paid for them); {fix}, resume with: {command}"
    )


def _command_line(args: Any) -> str:
    argv = getattr(args, "argv", None)
    if argv is None:
        argv = sys.argv[1:]
    journal = getattr(args, "journal", None)  # a DSN there is shown without its passwords
    return "odirouter " + " ".join(shlex.quote(redact_text(a, journal)) for a in argv)
