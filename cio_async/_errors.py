"""
Every exception cio_async raises.

One root, so ``except CustomerIOError`` catches all of ours. Input errors are also
``ValueError`` or ``TypeError``, timeouts are also ``TimeoutError``, so code that
already handles the builtins keeps working::

    CustomerIOError
    ├── ConfigurationError(ValueError)        settings or environment are unusable
    ├── InvalidArgumentError(ValueError)      a call's argument can't be sent
    │   └── PayloadTooLargeError              ... because it is over a size limit
    ├── InvalidTypeError(TypeError)           a value has a type we can't encode
    ├── ClientClosedError(RuntimeError)       the client was closed or broke
    ├── QueueFullError                        no room in the queue (policy "raise")
    ├── FlushTimeoutError(TimeoutError)       flush()/aclose() deadline passed
    ├── DeliveryError                         an awaited operation was not delivered
    ├── TransportError                        no HTTP answer (network, timeout)
    │   ├── RequestTimeoutError(TimeoutError)
    │   └── MessageMayHaveBeenSentError       a send that must not be retried blindly
    ├── HTTPStatusError                       Customer.io answered with an error
    │   ├── AuthenticationError               401, 403
    │   ├── WrongRegionError                  301 "wrong datacenter"
    │   ├── RequestRejectedError              400, 413, 422 and other 4xx
    │   ├── NotFoundError                     404
    │   ├── RateLimitedError                  429
    │   └── ServerError                       5xx
    └── WebhookVerificationError(ValueError)  a webhook's signature does not hold

Whether a failed request may be retried is a property of its error
(``retryable``), which the retry loop asks. Messages name the argument and the
reason; they never carry payload values, personal data or credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._operations import DeliveryFailure


class CustomerIOError(Exception):
    """
    The root of every exception raised by cio_async.
    """

    retryable: bool = False


class ConfigurationError(CustomerIOError, ValueError):
    """
    A setting or environment variable is missing or invalid.
    """


class InvalidArgumentError(CustomerIOError, ValueError):
    """
    An argument to a call cannot be sent to Customer.io.

    ``argument`` is the dotted path of the offending value, for example
    ``data.items[3].price``; the value itself is never included.
    """

    def __init__(self, argument: str, reason: str) -> None:
        self.argument = argument
        self.reason = reason
        super().__init__(f"{argument}: {reason}")


class PayloadTooLargeError(InvalidArgumentError):
    """
    An argument is over one of Customer.io's size limits.
    """

    def __init__(self, argument: str, reason: str, *, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(argument, reason)


class InvalidTypeError(CustomerIOError, TypeError):
    """
    A value has a type that cannot be encoded as JSON.
    """

    def __init__(self, argument: str, reason: str) -> None:
        self.argument = argument
        self.reason = reason
        super().__init__(f"{argument}: {reason}")


class ClientClosedError(CustomerIOError, RuntimeError):
    """
    The client is closing or closed, or its background task has stopped.
    """


class QueueFullError(CustomerIOError):
    """
    The queue had no room for an operation and the policy is to raise.
    """


class FlushTimeoutError(CustomerIOError, TimeoutError):
    """
    ``flush()`` or ``aclose()`` reached its deadline with work still pending.
    """

    def __init__(self, message: str, *, pending: int) -> None:
        self.pending = pending
        super().__init__(message)


class DeliveryError(CustomerIOError):
    """
    An operation the caller waited for was handed to the failure handler instead.
    """

    def __init__(self, failure: DeliveryFailure) -> None:
        self.failure = failure
        status = f", status {failure.status}" if failure.status is not None else ""
        super().__init__(f"operation not delivered: {failure.reason.value}{status}")


class TransportError(CustomerIOError):
    """
    A request got no HTTP answer: connection refused, reset, or timed out.

    ``request_sent`` is False only when the request certainly never reached
    Customer.io (the connection could not be opened).
    """

    retryable = True

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        self.request_sent = request_sent
        super().__init__(message)


class RequestTimeoutError(TransportError, TimeoutError):
    """
    A request did not complete within its total timeout.
    """


class MessageMayHaveBeenSentError(TransportError):
    """
    A transactional send failed after the request was written.

    Customer.io may have accepted it, so it was not retried: retrying could send
    the message twice. Check the delivery log before sending again.
    """

    retryable = False


class HTTPStatusError(CustomerIOError):
    """
    Customer.io answered with a status that is not a success.

    Attributes:
        status: The HTTP status code.
        retry_after: Seconds the server asked us to wait, if it said so.
        request_id: The server's request id header, if present.
        server_message: The server's error text, shortened; never our payload.
    """

    def __init__(
        self,
        status: int,
        *,
        server_message: str | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.server_message = server_message
        self.retry_after = retry_after
        self.request_id = request_id

        parts = [f"Customer.io answered {status}"]
        if server_message:
            parts.append(server_message)
        if hint:
            parts.append(hint)
        if request_id:
            parts.append(f"request id {request_id}")
        super().__init__(": ".join(parts[:2]) + "".join(f"; {p}" for p in parts[2:]))

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.status == 408 or self.status == 429 or self.status >= 500


class AuthenticationError(HTTPStatusError):
    """
    The credentials were refused (401 or 403).
    """


class WrongRegionError(HTTPStatusError):
    """
    The account lives in the other region (301 "wrong datacenter").
    """


class RequestRejectedError(HTTPStatusError):
    """
    Customer.io rejected the request as invalid (400, 413, 422 or another 4xx).
    """


class NotFoundError(HTTPStatusError):
    """
    The addressed resource does not exist (404).
    """


class RateLimitedError(HTTPStatusError):
    """
    Customer.io asked us to slow down (429).
    """


class ServerError(HTTPStatusError):
    """
    Customer.io failed to handle the request (5xx).
    """


class WebhookVerificationError(CustomerIOError, ValueError):
    """
    A reporting webhook's signature or timestamp does not verify.
    """


def status_error(
    status: int,
    *,
    server_message: str | None = None,
    retry_after: float | None = None,
    request_id: str | None = None,
) -> HTTPStatusError:
    """
    Build the most specific error for an HTTP status.
    """
    cls: type[HTTPStatusError]
    hint = None
    if status in (401, 403):
        cls = AuthenticationError
    elif status in (301, 302, 307, 308):
        cls = WrongRegionError
        hint = "the account is in the other region: pass region=Region.EU or Region.US"
    elif status == 404:
        cls = NotFoundError
    elif status == 429:
        cls = RateLimitedError
    elif status >= 500:
        cls = ServerError
    else:
        cls = RequestRejectedError

    return cls(
        status,
        server_message=server_message,
        retry_after=retry_after,
        request_id=request_id,
        hint=hint,
    )
