"""The SQL of the PostgreSQL journal (``pg_store``): schema, claim, lease, records, status.

Tables (prefixed ``odirouter_``; several batches may share one database, each named):

- ``batches``: one row per batch: endpoint, the batch's ``run_id`` (request ids), the digest of
  the loaded keys (a worker whose input file gives the same keys loads nothing).
- ``workers``: one row per worker process: host, pid, ``lease_until`` (the server's clock),
  renewed with one UPDATE per beat; a worker whose lease passed is dead for everyone.
- ``inputs``: one row per input (batch, content key): its arguments (JSON), ``state``, ``owner``
  (a worker id), ``attempt``, ``request_id``, the outcome.

States: ``pending -> claimed -> intent -> submitted -> done | failed``, plus ``cancelled`` (this
client cancelled the job; claimed again as a new attempt), *not created* (``pending`` again with
``finished_at`` set: the gateway refused the submit; claimed again by workers started after
that, so a run that halted on no credit never loops on it; a ``failed`` row without a request id,
written by an earlier version, is claimed as such too) and ``uncertain`` (an ``intent`` whose
worker died: its submit may have created a job; claimed again only by a worker run with
``resubmit_uncertain``, same attempt, same request id).

Every transition is fenced by ``owner = <this worker>``: a worker that stalled past its lease and
lost its rows to another cannot record anything for them, and a lost claim is never submitted.
"""

from __future__ import annotations

from typing import Final

SCHEMA_LOCK: Final = 0x0D1_5C4E  # pg_advisory_xact_lock key: one worker creates the tables

SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS odirouter_batches ("
    " name text PRIMARY KEY, endpoint text NOT NULL, run_id text NOT NULL,"
    " inputs_digest text, created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS odirouter_workers ("
    " id text PRIMARY KEY, batch text NOT NULL, host text NOT NULL, pid integer NOT NULL,"
    " started_at timestamptz NOT NULL DEFAULT now(), lease_until timestamptz NOT NULL,"
    " stopped boolean NOT NULL DEFAULT false, beats bigint NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS odirouter_inputs ("
    " batch text NOT NULL, key text NOT NULL, idx integer NOT NULL, args bytea NOT NULL,"
    " state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'intent',"
    " 'submitted', 'done', 'failed', 'cancelled', 'uncertain')),"
    " attempt integer NOT NULL DEFAULT 1, owner text, request_id text, outcome bytea,"
    " submitted_at double precision, finished_at timestamptz,"
    " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (batch, key))"
    " WITH (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02)",
    "CREATE INDEX IF NOT EXISTS odirouter_inputs_open ON odirouter_inputs (batch, idx) WHERE state <> 'done'",
)

NEW_BATCH: Final = (
    "INSERT INTO odirouter_batches (name, endpoint, run_id) VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING"
)
GET_BATCH: Final = "SELECT endpoint, run_id FROM odirouter_batches WHERE name = %s"
LOCK_BATCH: Final = "SELECT inputs_digest FROM odirouter_batches WHERE name = %s FOR UPDATE"
SET_DIGEST: Final = "UPDATE odirouter_batches SET inputs_digest = %s WHERE name = %s"
LOAD_TEMP: Final = "CREATE TEMP TABLE odirouter_load (key text, idx integer, args bytea) ON COMMIT DROP"
LOAD_COPY: Final = "COPY odirouter_load (key, idx, args) FROM STDIN"
LOAD_INSERT: Final = (
    "INSERT INTO odirouter_inputs (batch, key, idx, args)"
    " SELECT %s, key, idx, args FROM odirouter_load ON CONFLICT (batch, key) DO NOTHING"
)

REGISTER: Final = (
    "INSERT INTO odirouter_workers (id, batch, host, pid, lease_until)"
    " VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))"
)
RENEW: Final = (
    "UPDATE odirouter_workers SET lease_until = now() + make_interval(secs => %s), beats = beats + 1"
    " WHERE id = %s AND NOT stopped AND lease_until > now()"
)
STOP_WORKER: Final = "UPDATE odirouter_workers SET stopped = true, lease_until = now() WHERE id = %s"

# One statement claims up to %(n)s rows: pending ones, rows of dead workers (their claimed rows
# are claimed again, their submitted jobs re-attached, their intents become uncertain), rows this
# worker claimed in a transaction whose answer it lost, and on request uncertain / failed ones.
# ``failed`` and ``cancelled`` rows finished before this worker started only (no retry loop).
CLAIM: Final = """
WITH c AS (
  SELECT i.key, i.state AS old_state FROM odirouter_inputs i
  WHERE i.batch = %(batch)s AND i.state <> 'done' AND (
       (i.state = 'pending' AND (i.finished_at IS NULL OR i.finished_at < %(since)s))
    OR (i.state = 'claimed' AND i.owner = %(me)s AND NOT (i.key = ANY(%(held)s)))
    OR (i.state IN ('claimed', 'intent', 'submitted') AND i.owner IS DISTINCT FROM %(me)s
        AND NOT EXISTS (SELECT 1 FROM odirouter_workers w
                        WHERE w.id = i.owner AND w.lease_until > now() AND NOT w.stopped))
    OR (i.state = 'uncertain' AND %(resubmit)s)
    OR (i.state = 'failed' AND i.request_id IS NULL)
    OR (i.state = 'failed' AND %(retry)s AND i.finished_at < %(since)s)
    OR (i.state = 'cancelled' AND i.finished_at < %(since)s))
  ORDER BY i.idx LIMIT %(n)s FOR UPDATE OF i SKIP LOCKED)
UPDATE odirouter_inputs i SET
  state = CASE WHEN c.old_state = 'submitted' THEN 'submitted'
               WHEN c.old_state = 'intent' AND NOT %(resubmit)s THEN 'uncertain'
               ELSE 'claimed' END,
  owner = CASE WHEN c.old_state = 'intent' AND NOT %(resubmit)s THEN i.owner ELSE %(me)s END,
  attempt = i.attempt + (c.old_state IN ('failed', 'cancelled'))::int,
  updated_at = now()
FROM c WHERE i.batch = %(batch)s AND i.key = c.key
RETURNING i.key, i.idx, i.args, i.state, c.old_state, i.attempt, i.request_id, i.submitted_at
"""
OTHERS_OPEN: Final = (
    "SELECT count(*) FROM odirouter_inputs WHERE batch = %s AND owner IS DISTINCT FROM %s"
    " AND state IN ('pending', 'claimed', 'intent', 'submitted')"
    " AND NOT (state = 'pending' AND finished_at IS NOT NULL)"
)

INTENTS: Final = (
    "UPDATE odirouter_inputs SET state = 'intent', updated_at = now()"
    " WHERE batch = %s AND owner = %s AND key = ANY(%s) AND state IN ('claimed', 'intent') RETURNING key"
)
SUBMITTED: Final = (
    "UPDATE odirouter_inputs SET state = 'submitted', request_id = %s, submitted_at = %s,"
    " updated_at = now() WHERE batch = %s AND owner = %s AND key = %s AND state = 'intent'"
)
OUTCOME: Final = (
    "UPDATE odirouter_inputs SET state = %s, outcome = %s, finished_at = now(), updated_at = now()"
    " WHERE batch = %s AND owner = %s AND key = %s AND state IN ('intent', 'submitted')"
)
CANCELLED: Final = (
    "UPDATE odirouter_inputs SET state = 'cancelled', finished_at = now(), updated_at = now()"
    " WHERE batch = %s AND owner = %s AND key = %s AND state = 'submitted'"
)
DISCARD: Final = (
    "UPDATE odirouter_inputs SET state = 'pending', owner = NULL, finished_at = NULL, updated_at = now()"
    " WHERE batch = %s AND owner = %s AND key = %s AND state = 'intent'"
)
NOT_CREATED: Final = (
    "UPDATE odirouter_inputs SET state = 'pending', owner = NULL, outcome = %s, finished_at = now(),"
    " updated_at = now() WHERE batch = %s AND owner = %s AND key = %s AND state = 'intent'"
)
RETRY: Final = (
    "UPDATE odirouter_inputs SET state = 'intent', attempt = %s, request_id = NULL, outcome = %s,"
    " submitted_at = NULL, updated_at = now() WHERE batch = %s AND owner = %s AND key = %s"
    " AND state = 'submitted'"
)
RELEASE: Final = (
    "UPDATE odirouter_inputs SET state = 'pending', owner = NULL, updated_at = now()"
    " WHERE batch = %s AND owner = %s AND state = 'claimed'"
)

STATUS: Final = """
SELECT i.owner, w.host, w.pid, coalesce(w.lease_until > now() AND NOT w.stopped, false),
       i.state, count(*)
FROM odirouter_inputs i LEFT JOIN odirouter_workers w ON w.id = i.owner
WHERE i.batch = %s GROUP BY 1, 2, 3, 4, 5 ORDER BY 1 NULLS FIRST, 5
"""
BATCHES: Final = "SELECT name, endpoint FROM odirouter_batches ORDER BY created_at"
