"""``JournalHooks``: the journal plugged into ``client.queue.map`` (resumable batches).

For each input the map asks ``before_submit``; the answer depends on the input's journal entry
(key: its content key, ``InputKeys`` -- arguments hash and occurrence count, never its position,
so an edited input list resumes without paying for anything already submitted):

=================  ============================================================================
no entry           record the intent durably, then submit with ``X-Request-Id`` =
                   ``journal.request_id_for(key)``
``submitted``      re-attach: wait for that job (nothing is submitted, nothing paid twice)
``done``           replay the stored raw result body through the live path's decoder (no request)
``failed``         replay the stored error -- or, with ``retry_failed``, submit a new attempt
``not_created``    the gateway made no job (refused, pushed back, never sent): submit it (no flag)
``cancelled``      this client cancelled the job (cancel-on-exit): submit a new attempt
``intent``         uncertain (an earlier run died mid-submit): an outcome with
                   :class:`UncertainSubmit` -- or, with ``resubmit_uncertain``, submit again with
                   the *same* request id, so a gateway that deduplicates can
=================  ============================================================================

``after_submit`` records the job's id and URLs; ``finished`` records the outcome before the
caller sees it.  A submit that failed is recorded according to what the error proves
(``map_kinds.submit_kind``): refused by the gateway (4xx other than 408/409), pushed back (429,
503 after the retries), never sent, refused by the SDK or a closed client -> ``not_created``
(never ``failed``: only a job that ran and failed is; a resume submits it again); anything else
(timeout after the body left, 5xx, a broken answer) -> left as an intent: uncertain.  Replayed
outcomes carry ``MapOutcome.replayed``; ``job_retries`` moves an entry to a new attempt durably
before each new submit (``before_retry``).  A ``JobTimeout`` of the map
leaves the job ``submitted`` (it may still finish; a resume re-attaches).  A job the map
cancelled on the way out (the gateway accepted the cancel) is recorded ``cancelled``.  A submit
whose 2xx answer is unusable (``ResponseValidationError``: no usable request id) created a job
nobody can find: left as an intent, uncertain -- never ``failed``, so ``retry_failed`` cannot
pay for it twice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec

from .._exceptions import JobCancelled, JobError, JobFailed, UncertainSubmit
from ..http.download import bind_downloads
from ..queue.job_state import Succeeded, decide_response
from ..queue.jobs import Job, job_urls
from ..types._base import attach_raw
from ..types.queue import JobResult
from .journal import Entry, InputKeys, Journal, JournalError
from .journal_base import StoreHooks, error_payload, is_final_outcome, reattach_job, submit_created_no_job
from .map import MapOutcome

if TYPE_CHECKING:
    from ..http.requester import ClientHandle

__all__ = ("JournalHooks", "UncertainSubmit", "error_payload", "submit_created_no_job")

_ANY: Final = msgspec.json.Decoder()


def _replay_result(payload: bytes, request_id: str | None) -> JobResult:
    """A stored result body decoded exactly as the live path decodes a 200 of ``.../response``."""
    decision = decide_response(200, payload)  # never raises: a body it cannot read is Unusable
    if isinstance(decision, Succeeded) and decision.result is not None:
        return decision.result
    return attach_raw(JobResult(request_id=request_id), payload, None)


class JournalHooks(StoreHooks[Journal]):
    """Make a ``map`` resumable with a :class:`Journal` (see the module docstring).

    Args:
        journal: an open ``Journal`` (the caller closes it), or a path (opened at the start of
            the map and closed at its end).
        client: the client the map runs on (replayed results can ``download()``).
        positions: the index recorded for each map input (default: its position in
            ``inputs``); informational only (messages), keys never depend on it.
        keys: the content key of each map input (``Journal.keys_for`` of the whole input list);
            default: assigned by ``InputKeys`` in input order.  The CLI passes the keys of the
            whole file, so that skipping finished inputs never changes occurrence counts.
        resubmit_uncertain: submit uncertain inputs again (same request id) instead of failing
            them with :class:`UncertainSubmit`.
        retry_failed: submit inputs whose stored outcome is a failure again (a new attempt).

    Attributes:
        uncertain: entries found uncertain at the start (before any resubmission).
        replayed / reattached / submitted: how the inputs were served so far.
        cancelled_jobs: jobs this map cancelled on the gateway (recorded ``cancelled``).
    """

    def __init__(
        self,
        journal: Journal | str | os.PathLike[str],
        *,
        client: ClientHandle,
        positions: Sequence[int] | None = None,
        keys: Sequence[str] | None = None,
        resubmit_uncertain: bool = False,
        retry_failed: bool = False,
    ) -> None:
        given = journal if isinstance(journal, Journal) else None
        super().__init__(given, client, owned=given is None)
        self._path = None if isinstance(journal, Journal) else journal
        self._positions = positions
        self._given_keys = keys
        self._input_keys = InputKeys()
        self.resubmit_uncertain = resubmit_uncertain
        self.retry_failed = retry_failed
        self._entries: dict[str, Entry] = {}
        self.uncertain: list[Entry] = []
        self.replayed = self.reattached = self.submitted = 0

    def key_of(self, index: int) -> str | None:
        """The journal key of map input ``index`` (known from its ``before_submit`` on)."""
        return self._keys.get(index)

    def is_replay(self, index: int) -> bool:
        """Whether the outcome of input ``index`` came from the journal, not from the gateway."""
        return index in self._replays

    # -- MapHooks ---------------------------------------------------------------------------

    async def start(self, endpoint: str) -> None:
        """Open the journal (if given as a path), check its endpoint, load its entries."""
        if self._journal is None:
            assert self._path is not None
            self._journal = await Journal.open(self._path, endpoint=endpoint)
        elif self._journal.endpoint != endpoint:
            raise JournalError(
                f"the journal {self._journal.path} is for endpoint {self._journal.endpoint!r}, "
                f"not {endpoint!r}"
            )
        self._entries = await self._journal.load()
        self.uncertain = self._journal.uncertain()

    async def before_submit(self, index: int, input: Any) -> str | Job | MapOutcome | None:
        """Decide from the journal: a request id to submit with, a job to re-attach, or a replay."""
        journal = self.journal
        # Before any await: keys are assigned in input order (occurrence counts).
        position = self._positions[index] if self._positions is not None else index
        arguments = dict(input) if isinstance(input, Mapping) and not isinstance(input, dict) else input
        key, digest = self._input_keys.next(arguments)
        if self._given_keys is not None:
            key = self._given_keys[index]
        self._keys[index] = key
        entry = self._entries.pop(key, None)
        attempt = 1
        id_key = key
        if entry is not None:
            id_key = entry.legacy_key or key
            if entry.legacy_key:
                self._id_keys[key] = entry.legacy_key
            if entry.state == "submitted" and entry.request_id:
                self.reattached += 1
                self._attempts[key] = entry.attempt
                return self._follow(key, self._reattach(entry))
            if entry.state == "done" or (entry.state == "failed" and not self.retry_failed):
                self.replayed += 1
                self._replays.add(index)
                return self._replay(index, input, entry)
            if entry.state == "intent" and not self.resubmit_uncertain:
                self._replays.add(index)
                error = self._uncertain_error(entry)
                return MapOutcome(
                    index, input, None, None, error, replayed=True, submit="uncertain", attempts=0
                )
            attempt = entry.attempt + (entry.state in ("failed", "cancelled"))
        await journal.record_intents([(key, position, digest)])
        self._attempts[key] = attempt
        self.submitted += 1
        return journal.request_id_for(id_key, attempt)

    async def after_submit(self, index: int, key: str | None, job: Job) -> None:
        """Record the job's id and URLs (batched, not awaited)."""
        key = self._keys[index]
        self._follow(key, job)
        urls: tuple[str | None, ...] = (job.status_url, job.response_url, job.cancel_url)
        if urls == job_urls(self._client.requester.base_url, self.journal.endpoint, job.request_id):
            urls = (None, None, None)  # the documented URLs: derived again on re-attach, not stored
        self.journal.record_submitted(key, job.request_id, *urls)

    def is_final(self, outcome: MapOutcome) -> bool:
        """Whether the journal holds (or now records) ``outcome`` as the input's last word.

        False for outcomes a rerun changes: uncertain inputs, submits that created no job for a
        transient reason, timeouts of jobs that may still finish.
        """
        if outcome.index in self._replays:
            return not isinstance(outcome.error, UncertainSubmit)
        return is_final_outcome(outcome)

    # -- helpers ----------------------------------------------------------------------------

    def _reattach(self, entry: Entry) -> Job:
        assert entry.request_id is not None
        urls = (entry.status_url, entry.response_url, entry.cancel_url)
        return reattach_job(self._client, self.journal.endpoint, entry.request_id, entry.submitted_at, urls)

    def _replay(self, index: int, input: Any, entry: Entry) -> MapOutcome:
        payload = entry.outcome or b"{}"
        if entry.state == "done":
            result = bind_downloads(_replay_result(payload, entry.request_id), self._client.requester)
            return MapOutcome(index, input, entry.request_id, result, None, replayed=True, attempts=0)
        error = self._stored_error(entry, payload)
        return MapOutcome(index, input, entry.request_id, None, error, replayed=True, attempts=0)

    def _stored_error(self, entry: Entry, payload: bytes) -> JobError:
        try:
            body = _ANY.decode(payload)
        except msgspec.DecodeError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        cls = JobCancelled if body.get("type") == "JobCancelled" else JobFailed
        return cls(
            str(body.get("error") or "the job failed (recorded by an earlier run)"),
            request_id=entry.request_id,
            endpoint=self.journal.endpoint,
            error=body.get("error"),
            error_type=body.get("error_type"),
            status=body,
        )

    def _uncertain_error(self, entry: Entry) -> UncertainSubmit:
        return UncertainSubmit(
            f"input {entry.index} may have been submitted by an earlier run that stopped before "
            "recording the job id; not resubmitted (resubmit_uncertain=True / --resubmit-uncertain "
            "submits it again and may pay twice)",
            request_id=self.journal.request_id_for(entry.legacy_key or entry.key, entry.attempt),
            endpoint=self.journal.endpoint,
        )
