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

Positions.  Inside the map an index counts this worker's claims (0, 1, 2, ...; ``row_of(index)``
gives the claimed row).  The caller sees each outcome with the position of its input in the
``inputs`` it passed (``delivered``: ``index`` and ``input`` are that position and that object,
as with the sqlite journal); an input another worker loaded that is not in this caller's list
keeps ``index = -1`` and the claimed arguments as ``input``.  Without ``inputs`` (loaded earlier,
e.g. the CLI after ``batch-init``) outcomes keep the claim count.  A submit that provably
created no job (429 / 503 after the retries, a refused connection) puts its input back to
``pending``: that error outcome is delivered with ``is_final`` false, and the input comes back
later (from this worker or another), so one position can be seen twice.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import anyio
import msgspec

from .._exceptions import JournalError
from ..queue.jobs import Job
from .journal import InputKeys
from .journal_base import StoreHooks, is_final_outcome, reattach_job
from .map import MapOutcome
from .pg_store import ClaimedRow, PgJournal

if TYPE_CHECKING:
    from ..http.requester import ClientHandle

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


class PgJournalHooks(StoreHooks[PgJournal]):
    """Run a map as one worker of a shared batch (see the module docstring).

    Args:
        journal: an open ``PgJournal`` (the caller closes it), or a DSN (opened at the start of the
            map, closed at its end).
        inputs: loaded into the database at the start (once per batch; ``None``: already loaded,
            e.g. by ``odirouter batch-init``); outcomes carry their positions in this list.
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
        given = journal if isinstance(journal, PgJournal) else None
        super().__init__(given, client, owned=given is None)
        self._dsn = None if isinstance(journal, PgJournal) else journal
        self._inputs = None if inputs is None else list(inputs)
        self._positions: dict[str, int] | None = None  # content key -> position in ``inputs``
        self.resubmit_uncertain = resubmit_uncertain
        self.retry_failed = retry_failed
        self._batch = batch
        self._lease = lease
        self._poll = poll_interval
        self._rows: dict[int, ClaimedRow] = {}
        self._held: set[str] = set()
        self.uncertain: list[ClaimedRow] = []
        self.loaded = self.reattached = self.submitted = self.lost = 0

    def row_of(self, index: int) -> ClaimedRow | None:
        """The claimed row behind map input ``index`` (until its outcome is delivered)."""
        return self._rows.get(index)

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
            rows = input_rows(self._inputs)
            self._positions = {key: position for key, position, _ in rows}
            self.loaded = await self._journal.load_inputs(rows)

    async def before_submit(self, index: int, input: Any) -> str | Job | MapOutcome | None:
        """Re-attach a dead worker's job, or commit the intent and return the request id."""
        row = self._rows[index]
        self._keys[index] = row.key
        journal = self.journal
        if row.state == "submitted" and row.request_id:
            self._held.discard(row.key)
            self.reattached += 1
            job = reattach_job(self._client, journal.endpoint, row.request_id, row.submitted_at)
            self._attempts[row.key] = row.attempt
            return self._follow(row.key, job)
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
                submit="not_created",
                attempts=0,
            )
        self._attempts[row.key] = row.attempt
        self.submitted += 1
        return journal.request_id_for(row.key, row.attempt)

    async def after_submit(self, index: int, key: str | None, job: Job) -> None:
        """Record the job's id (batched)."""
        key = self._keys[index]
        self.journal.record_submitted(key, self._follow(key, job).request_id)

    def is_final(self, outcome: MapOutcome) -> bool:
        """Whether the database now holds ``outcome`` as the input's last word."""
        return not isinstance(outcome.error, JournalError) and is_final_outcome(outcome)

    def delivered(self, outcome: MapOutcome) -> MapOutcome:
        """``outcome`` with the position (and object) of its input in the caller's ``inputs``."""
        row = self._rows.pop(outcome.index, None)  # the row's last use: not kept for the whole batch
        if self._positions is None or self._inputs is None or row is None:
            return outcome
        position = self._positions.get(row.key)
        if position is None:  # loaded by a worker whose input list has it; this caller's has not
            return replace(outcome, index=-1)
        return replace(outcome, index=position, input=self._inputs[position])
