"""
The batcher: a bounded queue, batches cut to exact bytes, senders, accounting.

Path of an operation::

    put() -> queue -> a sender collects a batch -> retry(transport.request)
          -> delivered, or failed -> failure dispatcher -> dead letter + on_failure

There is no separate accumulator task: each of the ``max_concurrent_requests``
senders, when idle, takes the collect lock and builds the next batch itself. When
every sender is busy nobody collects, the queue fills, and calls feel the back
pressure; when one frees up it drains what piled up into full batches.

Accounting holds at every moment, because counters only change in synchronous
code between awaits::

    accepted == delivered + failed + queued + in_flight

``flush()`` waits by epochs: each flush starts a new epoch, and returns when every
operation of the earlier epochs has settled, however much arrives after it.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import logging
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import anyio
import attrs

from ._config import BatchConfig, RetryPolicy
from ._errors import (
    ClientClosedError,
    CustomerIOError,
    DeliveryError,
    FlushTimeoutError,
    HTTPStatusError,
    QueueFullError,
)
from ._operations import (
    BATCH_HEAD,
    BATCH_OVERHEAD,
    BATCH_TAIL,
    DeliveryFailure,
    Operation,
)
from ._operations import FailureReason as Reason
from ._retry import RequestGate, retry
from ._transport import Answer, Transport

log = logging.getLogger("cio_async.batcher")

FailureHandler = Callable[[DeliveryFailure], Awaitable[None] | None]


def _worth_retrying(status: int) -> bool:
    """
    Statuses worth another try (any 5xx but 501, as edge proxies add their
    own: 520, 522, 524); everything else is final for a batch.
    """
    return status in (408, 429) or (status >= 500 and status != 501)


# Which batcher's failure handler the current task is running in, if any.
_IN_FAILURE_HANDLER: contextvars.ContextVar[Batcher | None] = contextvars.ContextVar(
    "cio_async_in_failure_handler", default=None
)

_IDLE, _RUNNING, _CLOSING, _CLOSED, _BROKEN = (
    "idle",
    "running",
    "closing",
    "closed",
    "broken",
)


@attrs.frozen
class Stats:
    """
    A snapshot of a client's counters.

    ``accepted == delivered + failed + queued + in_flight`` always holds.

    Attributes:
        accepted: Operations the client took responsibility for.
        delivered: Operations Customer.io accepted.
        failed: Operations handed to the failure handler.
        failed_by_reason: ``failed`` split by :class:`cio_async.FailureReason` value.
        queued: Operations waiting for a sender.
        in_flight: Operations in requests not yet answered.
        requests: HTTP requests made, retries included.
        retries: Requests that were retries.
    """

    accepted: int
    delivered: int
    failed: int
    failed_by_reason: Mapping[str, int]
    queued: int
    in_flight: int
    requests: int
    retries: int

    def as_dict(self) -> dict[str, Any]:
        """
        The counters as a flat dict, ready for a metrics exporter.
        """
        flat: dict[str, Any] = attrs.asdict(self)
        flat["failed_by_reason"] = dict(self.failed_by_reason)
        return flat


class Batcher:
    """
    Queues operations and delivers them in batches through one transport.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        batching: BatchConfig,
        retry_policy: RetryPolicy,
        on_failure: FailureHandler | None = None,
        dead_letter_path: str | os.PathLike[str] | None = None,
        batch_path: str = "/api/v2/batch",
    ) -> None:
        self._transport = transport
        self._config = batching
        self._retry_policy = retry_policy
        self._on_failure = on_failure
        self._dead_letter = None if dead_letter_path is None else Path(dead_letter_path)
        self._batch_path = batch_path
        self._gate = RequestGate(batching.max_requests_per_second)
        self._queue: asyncio.Queue[Operation] = asyncio.Queue(batching.max_queue_size)
        self._state = _IDLE

        self._accepted = 0
        self._delivered = 0
        self._failed = 0
        self._failed_by_reason: dict[str, int] = {}
        self._in_flight = 0
        self._requests = 0
        self._retries = 0

        # Operations off the queue but not yet in a request: the batch being
        # collected and the one operation that did not fit it.
        self._building: list[Operation] = []
        self._carry: Operation | None = None
        self._collect_lock = asyncio.Lock()
        self._linger: anyio.CancelScope | None = None
        self._sending: dict[int, list[Operation]] = {}
        self._room_waiters: deque[tuple[Operation, asyncio.Future[bool]]] = deque()

        self._epoch = 0
        self._epoch_count = 0
        self._old_epochs: dict[int, int] = {}
        self._flush_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._flushing = 0

        self._failures: deque[DeliveryFailure] = deque()
        self._failure_ready = asyncio.Event()
        self._failures_handed = 0
        self._failures_done = 0
        self._failures_done_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._auth_error_logged = False
        self._dispatch_cancelled = False
        self._closing_done = asyncio.Event()

        self._run_task: asyncio.Task[None] | None = None
        self._dispatch_task: asyncio.Task[None] | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._closed = asyncio.Event()

    # -- the call side ---------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def gate(self) -> RequestGate:
        return self._gate

    @property
    def pending(self) -> int:
        return self._accepted - self._delivered - self._failed

    async def put(self, op: Operation) -> None:
        """
        Take responsibility for an operation.

        Raises:
            cio_async.ClientClosedError: The client is closing, closed or broken.
            cio_async.QueueFullError: No room and the policy is ``"raise"``.
        """
        if self._state is not _RUNNING:
            self._start()

        if not self.offer(op):
            op._epoch = self._epoch
            await self._put_when_room(op)

    def offer(self, op: Operation) -> bool:
        """
        Queue an operation at once if that needs no waiting, else return False.

        The fast path of every call: no coroutine, no await. ``False`` means
        "use ``put()``", which starts the batcher, waits for room or raises.
        Callers already waiting for room go first: queuing past them could
        starve one beyond its timeout.
        """
        if (
            self._state is not _RUNNING
            or self._room_waiters
            or self._queue.qsize() >= self._config.max_queue_size
        ):
            return False

        op._epoch = self._epoch
        self._queue.put_nowait(op)
        self._accepted += 1
        self._epoch_count += 1
        return True

    async def _put_when_room(self, op: Operation) -> None:
        if self._config.queue_full == "raise":
            message = (
                f"the queue is full ({self._config.max_queue_size} operations); "
                "Customer.io is slower than the calls or unreachable"
            )
            raise QueueFullError(message)

        # Waiting callers are already counted, so flush() and aclose() wait
        # for them too and the accounting never loses sight of them.
        self._accepted += 1
        self._epoch_count += 1
        admitted: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        entry = (op, admitted)
        self._room_waiters.append(entry)
        try:
            with anyio.move_on_after(self._config.enqueue_timeout):
                await admitted
        except BaseException:
            if not _was_admitted(admitted):
                # The caller was cancelled before its operation entered the
                # queue; the caller knows, so it never became ours.
                self._forget_waiter(entry)
                self._accepted -= 1
                self._settle(op)
            raise

        if not _was_admitted(admitted):
            self._forget_waiter(entry)
            reason = (
                Reason.QUEUE_FULL if self._state is _RUNNING else self._stop_reason()
            )
            message = f"no room in the queue within {self._config.enqueue_timeout:g} s"
            self._fail([op], reason, message=message, in_flight=False)

    def _forget_waiter(self, entry: tuple[Operation, asyncio.Future[bool]]) -> None:
        try:
            self._room_waiters.remove(entry)
        except ValueError:
            pass

    def _admit(self) -> None:
        """
        Move operations of callers waiting for room into the queue, oldest first.
        """
        waiters = self._room_waiters
        queue = self._queue
        while waiters and not queue.full():
            op, admitted = waiters.popleft()
            if admitted.done():
                continue  # timed out; its caller fails it
            queue.put_nowait(op)
            admitted.set_result(True)

    def _refuse_waiters(self) -> None:
        """
        Tell every caller still waiting for room that no room will come.
        """
        waiters, self._room_waiters = self._room_waiters, deque()
        for _, admitted in waiters:
            if not admitted.done():
                admitted.set_result(False)

    def _start(self) -> None:
        if self._state is _IDLE:
            loop = asyncio.get_running_loop()
            self._state = _RUNNING
            self._run_task = loop.create_task(self._run(), name="cio_async.batcher")
            self._run_task.add_done_callback(self._on_run_done)
            self._dispatch_task = loop.create_task(
                self._dispatch_failures(), name="cio_async.failures"
            )
            log.debug(
                "batcher started: %d senders", self._config.max_concurrent_requests
            )
            return

        if self._state is _BROKEN:
            message = "the client's background task stopped after an internal error"
        else:
            message = "the client is closed"
        raise ClientClosedError(message)

    # -- collecting and sending ------------------------------------------------

    async def _run(self) -> None:
        async with anyio.create_task_group() as group:
            self._task_group = group
            for _ in range(self._config.max_concurrent_requests):
                group.start_soon(self._sender)

    async def _sender(self) -> None:
        while True:
            async with self._collect_lock:
                await self._collect()
                ops, self._building = self._building, []
                self._admit()

            self._in_flight += len(ops)
            key = id(ops)
            self._sending[key] = ops
            try:
                await self._deliver(ops, 0)
            except BaseException as error:
                # Cancelled by aclose()'s deadline, or a bug of ours: either
                # way nothing in hand may vanish.
                if isinstance(error, Exception):
                    log.exception("sender failed; its operations are failed")
                reason = self._stop_reason()
                self._fail(ops, reason, message="stopped before an answer")
                raise
            finally:
                del self._sending[key]

    async def _collect(self) -> None:
        """
        Fill ``self._building`` with the next batch (or one lone request).
        """
        # TODO: a person's operations in two batches in flight at once are
        # ordered only by the timestamps stamped at the call (whole seconds);
        # holding a person back while one of theirs is in flight would order
        # same-second updates too, at some cost in throughput.
        config = self._config
        queue = self._queue
        building = self._building

        if self._carry is not None:
            first, self._carry = self._carry, None
            lingering = False
        elif not queue.empty():
            first = queue.get_nowait()
            lingering = False
        else:
            first = await queue.get()
            # The queue was empty: the interval starts now, with this operation.
            lingering = True
        building.append(first)
        if not first.is_batch_item:
            return

        size = BATCH_OVERHEAD + len(first.body)
        deadline = time.monotonic() + config.flush_interval * (
            1.0 + config.flush_jitter * random.random()
        )
        while len(building) < config.max_batch_items:
            if not queue.empty():
                op = queue.get_nowait()
            elif lingering and not self._flushing and self._state is _RUNNING:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                with anyio.move_on_after(remaining) as scope:
                    self._linger = scope
                    op = await queue.get()
                self._linger = None
                if scope.cancelled_caught:
                    break
            else:
                break

            if not op.is_batch_item or size + 1 + len(op.body) > config.max_batch_bytes:
                self._carry = op
                break
            building.append(op)
            size += 1 + len(op.body)

    async def _deliver(self, ops: list[Operation], attempts_before: int) -> None:
        first = ops[0]
        if first.is_batch_item:
            body: bytes | None = (
                BATCH_HEAD + b",".join(op.body for op in ops) + BATCH_TAIL
            )
            method, path = "POST", self._batch_path
        else:
            body = first.body or None
            method, path = first.method or "POST", first.path or "/"

        attempts = attempts_before

        async def attempt() -> Answer:
            nonlocal attempts
            attempts += 1
            self._requests += 1
            started = time.monotonic()
            answer = await self._transport.request(method, path, body=body)
            log.info(
                "%s: %d items, %d bytes, status %d, %.0f ms",
                "batch" if first.is_batch_item else first.action,
                len(ops),
                len(body or b""),
                answer.status,
                (time.monotonic() - started) * 1000,
            )
            if _worth_retrying(answer.status):
                raise answer.error()
            return answer

        def on_retry(number: int, delay: float, error: CustomerIOError) -> None:
            self._retries += 1
            status = error.status if isinstance(error, HTTPStatusError) else None
            log.warning(
                "retry %d of a batch of %d items in %.2f s: %s",
                number,
                len(ops),
                delay,
                f"status {status}" if status else type(error).__name__,
            )

        try:
            answer = await retry(
                attempt, self._retry_policy, self._gate, on_retry=on_retry
            )
        except CustomerIOError as error:
            status = error.status if isinstance(error, HTTPStatusError) else None
            self._fail(ops, Reason.RETRIES_EXHAUSTED, status, str(error), attempts)
            return

        await self._settle_answer(ops, answer, attempts)

    async def _settle_answer(
        self, ops: list[Operation], answer: Answer, attempts: int
    ) -> None:
        status = answer.status
        if status == 207 and ops[0].is_batch_item:
            self._settle_partial(ops, answer, attempts)
        elif 200 <= status < 300:
            self._deliver_ok(ops)
        elif status == 413 and len(ops) > 1:
            # Undocumented, so defended: halve until it fits or one item is left.
            half = len(ops) // 2
            log.warning("status 413 for %d items; splitting in two", len(ops))
            await self._deliver(ops[:half], attempts)
            await self._deliver(ops[half:], attempts)
        elif status == 413:
            self._fail(ops, Reason.TOO_LARGE, status, answer.server_message(), attempts)
        elif status in (401, 403):
            if not self._auth_error_logged:
                self._auth_error_logged = True
                log.error(
                    "Customer.io refused the credentials (status %d); "
                    "operations fail as unauthorized until they are fixed",
                    status,
                )
            self._fail(
                ops, Reason.UNAUTHORIZED, status, answer.server_message(), attempts
            )
        elif status == 400:
            self._fail(ops, Reason.REJECTED, status, answer.server_message(), attempts)
        elif 300 <= status < 400:
            message = (
                "redirected: the account may be in the other region "
                "(region=Region.EU or Region.US)"
            )
            self._fail(ops, Reason.CLIENT_ERROR, status, message, attempts)
        else:
            self._fail(
                ops, Reason.CLIENT_ERROR, status, answer.server_message(), attempts
            )

    def _settle_partial(
        self, ops: list[Operation], answer: Answer, attempts: int
    ) -> None:
        """
        207: the items named by ``batch_index`` failed, all the others landed.
        """
        parsed = answer.json()
        errors = parsed.get("errors") if isinstance(parsed, dict) else None
        if not isinstance(errors, list):
            log.warning("status 207 without a readable error list; counted delivered")
            self._deliver_ok(ops)
            return

        rejected: dict[int, str] = {}
        for entry in errors:
            index = entry.get("batch_index") if isinstance(entry, dict) else None
            if type(index) is int and 0 <= index < len(ops):
                parts = [str(entry.get(k)) for k in ("reason", "field", "message")]
                rejected[index] = ": ".join(p for p in parts if p and p != "None")

        for index, message in sorted(rejected.items()):
            self._fail([ops[index]], Reason.REJECTED, 207, message or None, attempts)
        self._deliver_ok([op for i, op in enumerate(ops) if i not in rejected])

    # -- settling --------------------------------------------------------------

    def _settle(self, op: Operation) -> None:
        epoch = op._epoch
        op._epoch = -1
        if epoch == self._epoch:
            self._epoch_count -= 1
            return

        left = self._old_epochs[epoch] - 1
        if left:
            self._old_epochs[epoch] = left
        else:
            del self._old_epochs[epoch]
            self._wake_flushers()

    def _deliver_ok(self, ops: Iterable[Operation]) -> None:
        count = 0
        for op in ops:
            if op._epoch < 0:
                continue
            self._settle(op)
            count += 1
            waiter = op._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        self._delivered += count
        self._in_flight -= count

    def _fail(
        self,
        ops: Iterable[Operation],
        reason: Reason,
        status: int | None = None,
        message: str | None = None,
        attempts: int = 0,
        *,
        in_flight: bool = True,
    ) -> None:
        live = tuple(op for op in ops if op._epoch >= 0)
        if not live:
            return

        failure = DeliveryFailure(live, reason, status, message, attempts)
        for op in live:
            self._settle(op)
            waiter = op._waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(DeliveryError(failure))
        count = len(live)
        self._failed += count
        self._failed_by_reason[reason.value] = (
            self._failed_by_reason.get(reason.value, 0) + count
        )
        if in_flight:
            self._in_flight -= count

        level = logging.ERROR
        if reason is Reason.UNAUTHORIZED and self._auth_error_logged:
            level = logging.DEBUG
        log.log(
            level,
            "%d operations failed: %s%s",
            count,
            reason.value,
            f", status {status}" if status is not None else "",
        )
        self._failures_handed += 1
        self._failures.append(failure)
        self._failure_ready.set()

    def _stop_reason(self) -> Reason:
        # Closing is the only orderly stop: a sender stopped while running was
        # cancelled because a sibling crashed, before _on_run_done could say so.
        if self._state is _CLOSING or self._state is _CLOSED:
            return Reason.SHUTDOWN_TIMEOUT
        return Reason.INTERNAL_ERROR

    def _sweep(self, reason: Reason, message: str) -> None:
        """
        Fail every operation not in a request: queued, collected, carried.
        """
        left = list(self._building)
        self._building.clear()
        if self._carry is not None:
            left.append(self._carry)
            self._carry = None
        while not self._queue.empty():
            left.append(self._queue.get_nowait())
        if left:
            self._fail(left, reason, message=message, in_flight=False)

    # -- the failure handler ---------------------------------------------------

    async def _dispatch_failures(self) -> None:
        while True:
            while self._failures:
                failure = self._failures.popleft()
                await self._hand_over(failure)
                self._failures_done += 1
                self._wake(self._failures_done_waiters, self._failures_done)
            if self._state in (_CLOSED, _BROKEN) and self._closed.is_set():
                return
            self._failure_ready.clear()
            await self._failure_ready.wait()

    async def _hand_over(self, failure: DeliveryFailure) -> None:
        if self._dead_letter is not None:
            try:
                await anyio.to_thread.run_sync(
                    _append_dead_letter, self._dead_letter, failure
                )
            except Exception:
                log.exception(
                    "cannot write %d failed operations to the dead-letter file",
                    len(failure.operations),
                )

        handler = self._on_failure
        if handler is None:
            return
        token = _IN_FAILURE_HANDLER.set(self)
        try:
            result = handler(failure)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            # Only our own cancellation (aclose() giving up) may end the
            # dispatcher; a handler awaiting something cancelled elsewhere may not.
            if self._dispatch_cancelled:
                raise
            log.exception("the failure handler was cancelled; the batcher goes on")
        except Exception:
            log.exception("the failure handler raised; the batcher goes on")
        finally:
            _IN_FAILURE_HANDLER.reset(token)

    # -- flush and close -------------------------------------------------------

    def _next_epoch(self) -> int:
        if self._epoch_count:
            self._old_epochs[self._epoch] = self._epoch_count
        self._epoch += 1
        self._epoch_count = 0
        if self._linger is not None:
            self._linger.cancel()
        return self._epoch

    def _epochs_before(self, epoch: int) -> int:
        return sum(n for e, n in self._old_epochs.items() if e < epoch)

    def _wake_flushers(self) -> None:
        oldest = min(self._old_epochs, default=self._epoch)
        self._wake(self._flush_waiters, oldest)

    @staticmethod
    def _wake(waiters: list[tuple[int, asyncio.Future[None]]], level: int) -> None:
        keep = []
        for target, future in waiters:
            if target <= level:
                if not future.done():
                    future.set_result(None)
            else:
                keep.append((target, future))
        waiters[:] = keep

    async def _wait_level(
        self, waiters: list[tuple[int, asyncio.Future[None]]], target: int
    ) -> None:
        future = asyncio.get_running_loop().create_future()
        waiters.append((target, future))
        try:
            await future
        finally:
            if not future.done():
                # Timed out: forget it, or every timed-out flush would stay.
                future.cancel()
                waiters.remove((target, future))

    async def _settled(self, epoch: int) -> None:
        """
        Wait until every operation of epochs before ``epoch`` has settled, and
        (outside the failure handler) the handler has seen every failure.
        """
        if self._epochs_before(epoch):
            await self._wait_level(self._flush_waiters, epoch)

        if _IN_FAILURE_HANDLER.get() is not self:
            handed = self._failures_handed
            if self._failures_done < handed:
                await self._wait_level(self._failures_done_waiters, handed)

    async def flush(self, timeout: float | None = None) -> None:
        """
        Wait until everything accepted before this call is delivered or failed.

        Raises:
            cio_async.FlushTimeoutError: ``timeout`` passed first; sending goes on.
        """
        if self._state is _IDLE:
            return

        epoch = self._next_epoch()
        self._flushing += 1
        try:
            with anyio.fail_after(timeout):
                await self._settled(epoch)
        except TimeoutError:
            pending = self._epochs_before(epoch)
            message = (
                f"flush timed out after {timeout:g} s with {pending} operations pending"
            )
            raise FlushTimeoutError(message, pending=pending) from None
        finally:
            self._flushing -= 1

    async def aclose(self, timeout: float) -> None:
        """
        Stop accepting, drain until ``timeout``, fail what is left, close.
        """
        if self._state is _IDLE:
            self._state = _CLOSED
            self._closed.set()
            self._closing_done.set()
            await self._transport.aclose()
            return
        if self._state is _CLOSING or self._closed.is_set():
            # Another aclose() is at work, or was cancelled: wait until every
            # failure is handed over, unless that would mean waiting for ourselves.
            if _IN_FAILURE_HANDLER.get() is not self:
                await self._closing_done.wait()
                await self._drain_handler(timeout)
            return

        try:
            await self._close(timeout)
        finally:
            self._closing_done.set()

    async def _close(self, timeout: float) -> None:
        started = time.monotonic()
        broken = self._state is _BROKEN
        if not broken:
            self._state = _CLOSING
        epoch = self._next_epoch()
        self._flushing += 1
        try:
            if not broken:
                with anyio.move_on_after(timeout):
                    await self._settled(epoch)
        finally:
            # Even when our caller is cancelled, the stop must happen: else the
            # senders and the session outlive a client that says it is closed.
            with anyio.CancelScope(shield=True):
                await self._stop(
                    Reason.SHUTDOWN_TIMEOUT, "not delivered before aclose()"
                )
                await self._transport.aclose()
            self._flushing -= 1
            if self._state is _CLOSING or self._state is _BROKEN:
                self._state = _CLOSED
            self._closed.set()
            self._failure_ready.set()

        if _IN_FAILURE_HANDLER.get() is not self:
            left = timeout - (time.monotonic() - started)
            await self._drain_handler(max(1.0, left))

    async def _stop(self, reason: Reason, message: str) -> None:
        self._refuse_waiters()
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()
        if self._run_task is not None:
            try:
                await self._run_task
            except BaseException:
                pass
        self._sweep(reason, message)

    async def _drain_handler(self, timeout: float) -> None:
        task = self._dispatch_task
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            left = len(self._failures)
            log.error(
                "the failure handler did not finish in %.1f s; "
                "%d failures were not handed to it",
                timeout,
                left,
            )
            self._dispatch_cancelled = True
            task.cancel()

    def _on_run_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        if self._state is _CLOSING:
            return

        log.error(
            "the batcher's background task crashed; failing %d pending operations",
            self.pending,
            exc_info=task.exception(),
        )
        self._state = _BROKEN
        self._refuse_waiters()
        for ops in list(self._sending.values()):
            self._fail(ops, Reason.INTERNAL_ERROR, message="background task crashed")
        self._sweep(Reason.INTERNAL_ERROR, "background task crashed")

    # -- introspection ---------------------------------------------------------

    def stats(self) -> Stats:
        """
        A consistent snapshot of the counters.
        """
        return Stats(
            accepted=self._accepted,
            delivered=self._delivered,
            failed=self._failed,
            failed_by_reason=dict(self._failed_by_reason),
            queued=self._accepted - self._delivered - self._failed - self._in_flight,
            in_flight=self._in_flight,
            requests=self._requests,
            retries=self._retries,
        )


def _was_admitted(admitted: asyncio.Future[bool]) -> bool:
    return admitted.done() and not admitted.cancelled() and admitted.result()


def _append_dead_letter(path: Path, failure: DeliveryFailure) -> None:
    lines = []
    for op in failure.operations:
        record = op.to_record()
        record["failure"] = {
            "reason": failure.reason.value,
            "status": failure.status,
            "message": failure.message,
        }
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    with path.open("a", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
