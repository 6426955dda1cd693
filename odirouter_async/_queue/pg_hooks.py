"""Map hooks for a shared PostgreSQL batch: the map reads the inputs this worker claims.

``PgJournalHooks.claimed_inputs()`` is the map's input: an async iterator that claims rows from
the database a few at a time (only when the map's window has room), yields their arguments, and
ends when nothing is left to claim and no other worker holds an unfinished input (it waits for
them: a worker that dies mid-run leaves rows that this one claims once the lease expired).

Per claimed row, ``before_submit`` either re-attaches the job a dead worker submitted (its
recorded request id; polling is free) or moves the row to ``intent`` -- committed, and refused if
another worker took the row meanwhile -- and returns the request id to submit with.  Rows a dead
worker left as an ``intent`` come back as ``uncertain``: counted in :attr:`uncertain`, shown by
``odirouter batch-status``, and submitted again only with ``resubmit_uncertain`` (the same
request id).  Outcomes are recorded as with the sqlite journal (``journal_hooks``).

The map's ``MapOutcome.index`` counts claims (0, 1, 2, ... in this worker), not input positions;
``row_of(index)`` gives the claimed row (its key and input position).
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import anyio
import msgspec

from .._core.jobstate import CancelOutcome
from .._exceptions import JobTimeout, JournalError
from .jobs import Job, job_urls
from .journal import InputKeys
from .journal_hooks import _final, error_payload, submit_created_no_job
from .map import MapHooks, MapOutcome
from .pg_store import ClaimedRow, PgJournal

if TYPE_CHECKING:
    from .._http.requester import ClientHandle

__all__ = ("PgJournalHooks", "input_rows")

_encode: Final = msgspec.json.Encoder().encode
_decode: Final = msgspec.json.Decoder()
#: Rows claimed per statement (at most the map's window).
CLAIM_BATCH: Final = 32


def input_rows(inputs: Iterable[Mapping[str, Any]]) -> list[tuple[str, int, bytes]]:
    """``(content key, position, arguments JSON)`` of each input, for ``PgJournal.load_inputs``."""
    keys = InputKeys()
    rows = []
    for index, item in enumerate(inputs):
        arguments = dict(item)
        rows.append((keys.next(arguments)[0], index, _encode(arguments)))
    return rows


class PgJournalHooks(MapHooks):
    """Run a map as one worker of a shared batch (see the module docstring).

    Args:
        journal: an open ``PgJournal`` (the caller closes it), or a DSN (opened at the start of the
            map, closed at its end).
        inputs: loaded into the database at the start (once per batch; ``None``: already loaded,
            e.g. by ``odirouter batch-init``).
        lease, poll_interval: the worker lease (seconds) for a DSN; how often an idle worker
            looks for inputs to take over while others still run.
    """

    def __init__(
        self,
        journal: PgJournal | str,
        inputs: Iterable[Mapping[str, Any]] | None,
        *,
        client: ClientHandle,
        resubmit_uncertain: bool = False,
        retry_failed: bool = False,
        batch: str | None = None,
        lease: float = 30.0,
        poll_interval: float | None = None,
    ) -> None:
        self._journal = journal if isinstance(journal, PgJournal) else None
        self._dsn = None if isinstance(journal, PgJournal) else journal
        self._inputs = inputs
        self._client = client
        self.resubmit_uncertain = resubmit_uncertain
        self.retry_failed = retry_failed
        self._batch = batch
        self._lease = lease
        self._poll = poll_interval
        self._rows: dict[int, ClaimedRow] = {}
        self._held: set[str] = set()
        self._keys: dict[int, str] = {}
        self._job_keys: dict[str, str] = {}
        self._running: set[str] = set()
        self.uncertain: list[ClaimedRow] = []
        self.loaded = self.reattached = self.submitted = self.cancelled_jobs = self.lost = 0

    @property
    def journal(self) -> PgJournal:
        """The store (open once the map started)."""
        if self._journal is None:
            raise JournalError("the journal is opened when the map starts")
        return self._journal

    def row_of(self, index: int) -> ClaimedRow | None:
        """The claimed row behind map input ``index``."""
        return self._rows.get(index)

    @property
    def running_jobs(self) -> int:
        """Jobs submitted or re-attached by this worker that neither ended nor were cancelled."""
        return len(self._running)

    async def claimed_inputs(self) -> AsyncIterator[dict[str, Any]]:
        """The map's inputs: the arguments of each row this worker claims, in claim order."""
        journal = self.journal
        poll = self._poll if self._poll is not None else min(1.0, journal.lease / 4)
        buffer: deque[ClaimedRow] = deque()
        index = 0
        try:
            while True:
                if not buffer:
                    rows = await journal.claim(
                        CLAIM_BATCH,
                        held=self._held,
                        resubmit_uncertain=self.resubmit_uncertain,
                        retry_failed=self.retry_failed,
                    )
                    for row in rows:
                        if row.state == "uncertain":
                            self.uncertain.append(row)
                        else:
                            self._held.add(row.key)
                            buffer.append(row)
                    if not buffer:
                        if not rows and await journal.others_open() == 0:
                            return
                        if not rows:
                            await anyio.sleep(poll * (0.5 + random.random()))
                        continue
                row = buffer.popleft()
                self._rows[index] = row
                index += 1
                arguments = _decode.decode(row.args)
                yield arguments if isinstance(arguments, dict) else {}
        finally:
            self._held.difference_update(r.key for r in buffer)  # released by close()

    # -- MapHooks ---------------------------------------------------------------------------------

    async def start(self, endpoint: str) -> None:
        """Open the store (for a DSN) and load the inputs (once per batch)."""
        if self._journal is None:
            assert self._dsn is not None
            self._journal = await PgJournal.open(
                self._dsn, endpoint=endpoint, batch=self._batch, lease=self._lease
            )
        elif self._journal.endpoint != endpoint:
            raise JournalError(f"the journal is for endpoint {self._journal.endpoint!r}, not {endpoint!r}")
        if self._inputs is not None:
            self.loaded = await self._journal.load_inputs(input_rows(self._inputs))

    async def before_submit(self, index: int, input: Any) -> str | Job | MapOutcome | None:
        """Re-attach a dead worker's job, or commit the intent and return the request id."""
        row = self._rows[index]
        self._keys[index] = row.key
        journal = self.journal
        if row.state == "submitted" and row.request_id:
            self._held.discard(row.key)
            self.reattached += 1
            job = self._reattach(row)
            self._job_keys[job.request_id] = row.key
            self._running.add(job.request_id)
            return job
        moved = await journal.claim_intents([row.key])
        self._held.discard(row.key)
        if row.key not in moved:  # another worker took it over (this one stalled): never submit
            self.lost += 1
            self._keys.pop(index, None)
            return MapOutcome(
                index,
                input,
                None,
                None,
                JournalError(
                    f"input {row.index}: this worker lost its claim to another worker (lease expired)"
                ),
            )
        self.submitted += 1
        return journal.request_id_for(row.key, row.attempt)

    async def after_submit(self, index: int, key: str | None, job: Job) -> None:
        """Record the job's id (batched)."""
        key = self._keys[index]
        self._job_keys[job.request_id] = key
        self._running.add(job.request_id)
        self.journal.record_submitted(key, job.request_id)

    async def cancelled(self, job: Job, outcome: CancelOutcome | None) -> None:
        """The map cancelled ``job``: record ``cancelled`` if the gateway accepted."""
        key = self._job_keys.pop(job.request_id, None)
        if outcome is not CancelOutcome.REQUESTED:
            return
        self._running.discard(job.request_id)
        if key is not None:
            self.cancelled_jobs += 1
            self.journal.record_cancelled(key)

    async def finished(self, outcome: MapOutcome) -> None:
        """Record a final outcome (batched); leave the others for a later worker."""
        key = self._keys.pop(outcome.index, None)
        if outcome.request_id is not None:
            self._running.discard(outcome.request_id)
            if not isinstance(outcome.error, JobTimeout):
                self._job_keys.pop(outcome.request_id, None)
        if key is None:
            return
        error = outcome.error
        if error is None:
            result = outcome.result
            assert result is not None
            self.journal.record_outcome(key, True, result.raw_bytes or _encode(result.raw))
        elif outcome.request_id is None and submit_created_no_job(error) is False:
            self.journal.discard_intent(key)
        elif _final(outcome):
            self.journal.record_outcome(key, False, error_payload(error))

    def is_final(self, outcome: MapOutcome) -> bool:
        """Whether the database now holds ``outcome`` as the input's last word."""
        return not isinstance(outcome.error, JournalError) and _final(outcome)

    async def stop(self) -> None:
        """Commit; close the store if these hooks opened it (which gives back unsent claims)."""
        journal = self._journal
        if journal is None:
            return
        if self._dsn is not None:
            await journal.close()
        else:
            await journal.commit()

    def _reattach(self, row: ClaimedRow) -> Job:
        assert row.request_id is not None
        endpoint = self.journal.endpoint
        base_url = self._client.requester.base_url
        status_url, response_url, cancel_url = job_urls(base_url, endpoint, row.request_id)
        mono = None
        if row.submitted_at is not None:
            mono = time.monotonic() - max(0.0, time.time() - row.submitted_at)
        return Job(
            self._client,
            endpoint,
            row.request_id,
            status_url=status_url,
            response_url=response_url,
            cancel_url=cancel_url,
            submitted_at=row.submitted_at,
            submitted_mono=mono,
        )
