"""``RedisJobStore``: jobs, events and results in Redis, shared by every process and machine.

Every change of a job is one Lua script, so it is atomic; lease deadlines use the Redis
server's clock (``TIME``), so the machines' clocks need not agree. Layout, under a
prefix (default ``tryon:``):

- ``job:ID`` (hash): engine, kind, status, step, total, error, created, finished,
  attempt, key, digest (a job stored before kinds has none: a try-on);
- ``job:ID:spec`` (hash): the photos and fields of a job not yet ended (deleted at its
  end, so a shopper's photo lives only while it is needed);
- ``job:ID:events`` (list of JSON), ``job:ID:result`` (hash);
- ``queue`` (list of ids, oldest first), ``running`` (sorted set: id -> lease deadline
  in ms), ``key:KEY`` (idempotency key -> id).

Finished jobs expire by Redis ``EXPIRE`` after the time-to-live. Redis must keep its data
across a restart (``appendonly yes``): then a restart loses nothing, and the leases of
jobs whose workers died meanwhile run out and are taken back. When it comes back empty
all the same, each worker writes its running job back from what it holds (the queued
ones are lost). Every command is retried
with backoff for a while (a restart takes seconds); after that the store raises
``StoreUnavailableError`` (503 to clients).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from tryon.service.api_errors import IdempotencyConflictError, StoreUnavailableError
from tryon.service.jobs.model import (
    Claim,
    JobEvent,
    JobResult,
    JobSpec,
    JobState,
    job_kind,
    options_of,
    pack_photos,
    unpack_photos,
)
from tryon.service.jobs.store import WORKER_LOST, StoreSettings, lease_lost_reason

log = logging.getLogger("tryon.service.jobs.redis")

POLL_S = 0.05
"""How often ``take`` looks at an empty queue."""
LOST = -1
"""What a script answers for a job Redis no longer has (its data was lost)."""

# Lua helpers shared by the scripts. ``p`` is the key prefix.
_LUA_COMMON = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function emit(p, id, name, data)
  redis.call('RPUSH', p .. 'job:' .. id .. ':events', cjson.encode({name = name, data = data}))
end
local function announce(p, from)
  local ids = redis.call('LRANGE', p .. 'queue', from - 1, -1)
  for i, qid in ipairs(ids) do
    emit(p, qid, 'queued', {position = from + i - 1})
  end
end
local function expire(p, id, ttl)
  local job = p .. 'job:' .. id
  local key = redis.call('HGET', job, 'key')
  redis.call('DEL', job .. ':spec')
  redis.call('ZREM', p .. 'running', id)
  for _, k in ipairs({job, job .. ':events', job .. ':result'}) do
    redis.call('EXPIRE', k, ttl)
  end
  if key and key ~= '' then redis.call('EXPIRE', p .. 'key:' .. key, ttl) end
end
local function current(p, id, attempt)
  local job = p .. 'job:' .. id
  return redis.call('HGET', job, 'status') == 'running'
    and redis.call('HGET', job, 'attempt') == attempt
end
local function fail(p, id, kind, message, finished, ttl)
  local job = p .. 'job:' .. id
  redis.call('HSET', job, 'status', 'failed', 'error_type', kind, 'error_message', message,
    'finished', finished)
  emit(p, id, 'error', {type = kind, message = message})
  expire(p, id, ttl)
end
-- A running job back to the front of the queue, or failed once it had its attempts.
local function release(p, id, reason, max_attempts, finished, ttl, lost)
  local job = p .. 'job:' .. id
  redis.call('ZREM', p .. 'running', id)
  local attempt = tonumber(redis.call('HGET', job, 'attempt') or '0')
  if attempt < max_attempts and redis.call('EXISTS', job .. ':spec') == 1 then
    redis.call('HSET', job, 'status', 'queued', 'step', 0, 'total', 0)
    redis.call('LPUSH', p .. 'queue', id)
    emit(p, id, 'queued', {position = 1, retry = attempt + 1, reason = reason})
    announce(p, 2)
    return 'queued'
  end
  local runs = attempt == 1 and 'once' or (attempt .. ' times')
  fail(p, id, lost, reason .. '; the job was run ' .. runs .. ' and given up: submit it again',
    finished, ttl)
  return 'failed'
end
-- A job's spec from the arguments from index ``a`` on, in ``_spec_args``' order; its kind
-- also goes on the job itself (kept after the spec is deleted).
local function write_spec(job, engine, a)
  redis.call('HSET', job .. ':spec', 'person', ARGV[a], 'garment_id', ARGV[a + 1],
    'category', ARGV[a + 2], 'output', ARGV[a + 3], 'engine', engine)
  if ARGV[a + 4] == '1' then redis.call('HSET', job .. ':spec', 'garment', ARGV[a + 5]) end
  redis.call('HSET', job .. ':spec', 'kind', ARGV[a + 6], 'photos', ARGV[a + 7],
    'options', ARGV[a + 8])
  redis.call('HSET', job, 'kind', ARGV[a + 6])
end
"""

_CREATE = """
local p, id, key, digest = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if key ~= '' then
  local existing = redis.call('GET', p .. 'key:' .. key)
  if existing and redis.call('EXISTS', p .. 'job:' .. existing) == 1 then
    return {existing, redis.call('HGET', p .. 'job:' .. existing, 'digest')}
  end
end
local job = p .. 'job:' .. id
if redis.call('EXISTS', job) == 1 then  -- this very call, retried after a lost reply
  return {id, digest}
end
redis.call('HSET', job, 'engine', ARGV[5], 'status', 'queued', 'step', 0, 'total', 0,
  'created', ARGV[6], 'attempt', 0, 'digest', digest, 'key', key)
write_spec(job, ARGV[5], 7)
local position = redis.call('RPUSH', p .. 'queue', id)
emit(p, id, 'queued', {position = position})
if key ~= '' then redis.call('SET', p .. 'key:' .. key, id) end
return {id, digest}
"""

_TAKE = """
local p, lease_ms = ARGV[1], tonumber(ARGV[2])
local id = redis.call('LPOP', p .. 'queue')
if not id then return false end
local job = p .. 'job:' .. id
local attempt = redis.call('HINCRBY', job, 'attempt', 1)
redis.call('HSET', job, 'status', 'running', 'step', 0, 'total', 0)
redis.call('ZADD', p .. 'running', now_ms() + lease_ms, id)
emit(p, id, 'started', {attempt = attempt})
announce(p, 1)
return {id, attempt, redis.call('HGETALL', job .. ':spec')}
"""

_PROGRESS = """
local p, id, attempt, lease_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('EXISTS', p .. 'job:' .. id) == 0 then return -1 end
if not current(p, id, attempt) then return 0 end
redis.call('ZADD', p .. 'running', now_ms() + lease_ms, id)
if ARGV[5] ~= '' then
  redis.call('HSET', p .. 'job:' .. id, 'step', ARGV[5], 'total', ARGV[6])
  emit(p, id, 'progress', {step = tonumber(ARGV[5]), total = tonumber(ARGV[6])})
end
return 1
"""

_FINISH = """
local p, id, attempt, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('EXISTS', p .. 'job:' .. id) == 0 then return -1 end
if not current(p, id, attempt) then return 0 end
local job = p .. 'job:' .. id
if ARGV[6] == 'done' then
  redis.call('HSET', job .. ':result', 'data', ARGV[7], 'media_type', ARGV[8], 'headers', ARGV[9])
  redis.call('HSET', job, 'status', 'done', 'finished', ARGV[5])
  emit(p, id, 'done', {})
  expire(p, id, ttl)
else
  fail(p, id, ARGV[7], ARGV[8], ARGV[5], ttl)
end
return 1
"""

_RESTORE = """
local p, id, attempt, lease_ms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local job = p .. 'job:' .. id
if redis.call('EXISTS', job) == 1 then return 0 end
redis.call('HSET', job, 'engine', ARGV[5], 'status', 'running', 'step', 0, 'total', 0,
  'created', ARGV[6], 'attempt', attempt, 'digest', ARGV[7], 'key', '')
write_spec(job, ARGV[5], 8)
redis.call('ZADD', p .. 'running', now_ms() + lease_ms, id)
emit(p, id, 'started', {attempt = tonumber(attempt), restored = true})
return 1
"""

_RETRY = """
local p, id, attempt, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if not current(p, id, attempt) then return false end
return release(p, id, reason, tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7]), ARGV[8])
"""

_RECLAIM = """
local p = ARGV[1]
local lost = redis.call('ZRANGEBYSCORE', p .. 'running', '-inf', now_ms())
for _, id in ipairs(lost) do
  if redis.call('EXISTS', p .. 'job:' .. id) == 1 then
    release(p, id, ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), ARGV[6])
  else
    redis.call('ZREM', p .. 'running', id)
  end
end
return #lost
"""

_CANCEL = """
local p, id = ARGV[1], ARGV[2]
local job = p .. 'job:' .. id
local status = redis.call('HGET', job, 'status')
if not status then return false end
if status == 'queued' or status == 'running' then
  local removed = redis.call('LREM', p .. 'queue', 0, id)
  redis.call('HSET', job, 'status', 'cancelled', 'finished', ARGV[3])
  emit(p, id, 'cancelled', {})
  expire(p, id, tonumber(ARGV[4]))
  if removed > 0 then announce(p, 1) end
end
return redis.call('HGET', job, 'status')
"""

_DELETE = """
local p, id = ARGV[1], ARGV[2]
local job = p .. 'job:' .. id
if redis.call('EXISTS', job) == 0 then return 0 end
local key = redis.call('HGET', job, 'key')
if key and key ~= '' then redis.call('DEL', p .. 'key:' .. key) end
local removed = redis.call('LREM', p .. 'queue', 0, id)
redis.call('ZREM', p .. 'running', id)
redis.call('DEL', job, job .. ':spec', job .. ':events', job .. ':result')
if removed > 0 then announce(p, 1) end
return 1
"""


def connect(url: str, retry_s: float = 15.0) -> redis.Redis:
    """A client for ``url`` (``redis://HOST:PORT/DB``) that retries every command for
    about ``retry_s`` seconds when the connection drops (a restart takes seconds)."""
    retries = max(1, int(retry_s / 0.5))
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=10.0,
        health_check_interval=5,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.02), retries),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


class RedisJobStore:
    """A ``JobStore`` in Redis.

    Args:
        url: the server, ``redis://HOST:PORT/DB``.
        settings: time-to-live, leases and attempts.
        prefix: the prefix of every key (several deployments can share one Redis).
        retry_s: how long a command is retried while Redis cannot be reached.
    """

    def __init__(
        self,
        url: str,
        settings: StoreSettings | None = None,
        *,
        prefix: str = "tryon:",
        retry_s: float = 15.0,
    ) -> None:
        self.settings = settings or StoreSettings()
        self.url = url
        self.prefix = prefix
        self.client = connect(url, retry_s)
        self._closed = threading.Event()
        self._claimed_on: dict[str, str] = {}  # job id -> Redis run id when taken
        self._scripts = {
            name: self.client.register_script(_LUA_COMMON + body)
            for name, body in (
                ("create", _CREATE),
                ("take", _TAKE),
                ("progress", _PROGRESS),
                ("finish", _FINISH),
                ("restore", _RESTORE),
                ("retry", _RETRY),
                ("reclaim", _RECLAIM),
                ("cancel", _CANCEL),
                ("delete", _DELETE),
            )
        }

    def persistent(self) -> bool | None:
        """Whether the server keeps its data across a restart (AOF on); None when it
        does not say (``CONFIG`` disabled, as on some managed services)."""
        try:
            answer = self._call(self.client.config_get, "appendonly")
        except (StoreUnavailableError, redis.ResponseError):
            return None
        return str(answer.get("appendonly", "")).lower() == "yes"

    def create(self, spec: JobSpec, key: str | None = None) -> JobState:
        digest = spec.digest()
        job_id, stored_digest = self._run(
            "create",
            uuid.uuid4().hex,
            key or "",
            digest,
            spec.engine,
            repr(time.time()),
            *_spec_args(spec),
        )
        if _text(stored_digest) != digest:
            assert key is not None
            raise IdempotencyConflictError(key)
        state = self.get(_text(job_id))
        assert state is not None, "a job just created exists"
        return state

    def find_key(self, key: str) -> JobState | None:
        job_id = self._call(self.client.get, self._key(f"key:{key}"))
        return self.get(_text(job_id)) if job_id is not None else None

    def get(self, job_id: str) -> JobState | None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self._key(f"job:{job_id}"))
        pipe.lpos(self._key("queue"), job_id)
        fields, index = self._call(pipe.execute)
        if not fields:
            return None
        f = {_text(k): _text(v) for k, v in fields.items()}
        error = (f["error_type"], f["error_message"]) if "error_type" in f else None
        return JobState(
            id=job_id,
            engine=f["engine"],
            status=f["status"],  # type: ignore[arg-type]
            position=index + 1 if f["status"] == "queued" and index is not None else None,
            step=int(f["step"]),
            total=int(f["total"]),
            error=error,
            created=float(f["created"]),
            finished=float(f["finished"]) if "finished" in f else None,
            attempt=int(f["attempt"]),
            key=f.get("key") or None,
            kind=job_kind(f.get("kind")),
        )

    def take(self, timeout: float) -> Claim | None:
        deadline = time.monotonic() + timeout
        while not self._closed.is_set():
            taken = self._run("take", int(self.settings.lease_s * 1000))
            if taken:
                job_id, attempt, pairs = taken
                spec = dict(zip(pairs[::2], pairs[1::2], strict=True))
                self._claimed_on[_text(job_id)] = self._server_run()
                return Claim(_text(job_id), _spec(spec), int(attempt))
            if time.monotonic() >= deadline:
                return None
            self._closed.wait(POLL_S)
        return None

    def renew(self, claim: Claim) -> bool:
        return self._progress(claim, "", "")

    def progress(self, claim: Claim, step: int, total: int) -> bool:
        return self._progress(claim, str(step), str(total))

    def finish(self, claim: Claim, result: JobResult) -> None:
        self._end(claim, "done", result.data, result.media_type, json.dumps(result.headers))

    def fail(self, claim: Claim, type: str, message: str) -> None:
        self._end(claim, "failed", type, message, "")

    def retry(self, claim: Claim, reason: str) -> JobState | None:
        self._claimed_on.pop(claim.job_id, None)
        outcome = self._run(
            "retry",
            claim.job_id,
            claim.attempt,
            reason,
            self.settings.max_attempts,
            repr(time.time()),
            self._ttl(),
            WORKER_LOST,
        )
        return self.get(claim.job_id) if outcome else None

    def reclaim(self) -> int:
        return int(
            self._run(
                "reclaim",
                lease_lost_reason(self.settings.lease_s),
                self.settings.max_attempts,
                repr(time.time()),
                self._ttl(),
                WORKER_LOST,
            )
        )

    def cancel(self, job_id: str) -> JobState | None:
        status = self._run("cancel", job_id, repr(time.time()), self._ttl())
        return self.get(job_id) if status else None

    def delete(self, job_id: str) -> bool:
        return bool(self._run("delete", job_id))

    def result(self, job_id: str) -> JobResult | None:
        fields = self._call(self.client.hgetall, self._key(f"job:{job_id}:result"))
        if not fields:
            return None
        return JobResult(
            bytes(fields[b"data"]),
            _text(fields[b"media_type"]),
            json.loads(fields[b"headers"]),
        )

    def events(self, job_id: str, since: int) -> list[JobEvent] | None:
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(self._key(f"job:{job_id}"))
        pipe.lrange(self._key(f"job:{job_id}:events"), since, -1)
        exists, raw = self._call(pipe.execute)
        if not exists:
            return None
        events = []
        for seq, item in enumerate(raw, start=since):
            event = json.loads(item)
            data = event["data"] if isinstance(event["data"], dict) else {}
            events.append(JobEvent(seq, event["name"], data))
        return events

    def counts(self) -> dict[str, int]:
        pipe = self.client.pipeline(transaction=False)
        pipe.llen(self._key("queue"))
        pipe.zcard(self._key("running"))
        queued, running = self._call(pipe.execute)
        return {"queued": int(queued), "running": int(running)}

    def purge(self, now: float) -> int:
        return 0  # finished jobs expire by themselves (EXPIRE)

    def close(self) -> None:
        self._closed.set()
        self.client.close()

    def _progress(self, claim: Claim, step: str, total: str) -> bool:
        lease_ms = int(self.settings.lease_s * 1000)
        args = (claim.job_id, claim.attempt, lease_ms, step, total)
        outcome = int(self._run("progress", *args))
        if outcome == LOST and self._restore(claim):
            outcome = int(self._run("progress", *args))
        if outcome != 1:
            self._claimed_on.pop(claim.job_id, None)
        return outcome == 1

    def _end(self, claim: Claim, status: str, *fields: str | bytes) -> None:
        args = (claim.job_id, claim.attempt, self._ttl(), repr(time.time()), status, *fields)
        if int(self._run("finish", *args)) == LOST and self._restore(claim):
            self._run("finish", *args)
        self._claimed_on.pop(claim.job_id, None)

    def _server_run(self) -> str:
        """The Redis server's run id: a new one after every restart."""
        info = self._call(self.client.info, "server")
        return str(info.get("run_id", ""))

    def _restore(self, claim: Claim) -> bool:
        """Writes a running job back from its worker's claim when Redis restarted and
        lost its data (no append-only file); False when the job is missing for another
        reason (deleted, expired). The job's events start again from ``started``; a job
        lost while still queued cannot be restored (no worker holds it), which is why
        Redis must run with ``appendonly yes``."""
        if self._claimed_on.get(claim.job_id) in (None, self._server_run()):
            return False
        log.warning("job %s: Redis restarted without it; restored by its worker", claim.job_id)
        spec = claim.spec
        self._run(
            "restore",
            claim.job_id,
            claim.attempt,
            int(self.settings.lease_s * 1000),
            spec.engine,
            repr(time.time()),
            spec.digest(),
            *_spec_args(spec),
        )
        return True

    def _ttl(self) -> int:
        return max(1, round(self.settings.ttl_s))

    def _key(self, name: str) -> str:
        return self.prefix + name

    def _run(self, script: str, *args: Any) -> Any:
        return self._call(self._scripts[script], args=[self.prefix, *args])

    def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailableError(f"Redis at {self._where()}: {exc}") from None
        except redis.ResponseError as exc:
            # LOADING (a restarted server reading its data) and the like: transient.
            if str(exc).startswith(("LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN")):
                raise StoreUnavailableError(f"Redis at {self._where()}: {exc}") from None
            raise

    def _where(self) -> str:
        kwargs = self.client.connection_pool.connection_kwargs
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _spec(fields: dict[bytes, bytes]) -> JobSpec:
    return JobSpec(
        engine=_text(fields[b"engine"]),
        person=bytes(fields[b"person"]),
        garment=bytes(fields[b"garment"]) if b"garment" in fields else None,
        garment_id=_text(fields[b"garment_id"]) or None,
        category=_text(fields[b"category"]),
        output=_text(fields[b"output"]),
        kind=job_kind(_text(fields.get(b"kind", b""))),
        photos=unpack_photos(fields.get(b"photos")),
        options=options_of(_text(fields.get(b"options", b""))),
    )


def _spec_args(spec: JobSpec) -> tuple[bytes | str, ...]:
    """A job's spec as script arguments, in the order ``write_spec`` reads them."""
    return (
        spec.person,
        spec.garment_id or "",
        spec.category,
        spec.output,
        "1" if spec.garment is not None else "0",
        spec.garment or b"",
        spec.kind,
        pack_photos(spec.photos),
        spec.options_json(),
    )
