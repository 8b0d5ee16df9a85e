"""
One HTTP request to Customer.io, and what its answer means.

The transport owns the aiohttp session when it created it (lazily, inside the
running loop) and never closes one it was given. It turns every way a request can
fail without an answer into a :class:`cio_async.TransportError`, and gives every
answer back as an :class:`Answer`, whatever its status: what a status means is
for the caller, which knows whether the request was a batch or a send.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

import aiohttp
import attrs

from ._config import Timeouts
from ._errors import (
    ClientClosedError,
    HTTPStatusError,
    RequestTimeoutError,
    TransportError,
    status_error,
)
from ._retry import parse_retry_after
from ._version import __version__

USER_AGENT = f"cio-async/{__version__}"

# Headers that may carry a request id; Customer.io does not document one.
_REQUEST_ID_HEADERS = ("X-Request-Id", "X-Request-ID", "CF-Ray")

_MAX_SERVER_MESSAGE = 300

# aiohttp 3.10+ tells a connect timeout (pool wait included) from a read
# timeout; older versions raise one type for both, taken as "maybe sent".
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = (
    (aiohttp.ConnectionTimeoutError,)
    if hasattr(aiohttp, "ConnectionTimeoutError")
    else ()
)


@attrs.frozen
class Answer:
    """
    An HTTP answer, read whole.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> object:
        """
        The body as JSON, or ``None`` when it is empty or not JSON.
        """
        if not self.body:
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"))

    def request_id(self) -> str | None:
        for name in _REQUEST_ID_HEADERS:
            value = self.headers.get(name)
            if value:
                return value[:100]
        return None

    def server_message(self) -> str | None:
        """
        The error text Customer.io put in the body, in any of its shapes.
        """
        return server_message(self.body, self.json())

    def error(self) -> HTTPStatusError:
        """
        The exception that stands for this answer.
        """
        return status_error(
            self.status,
            server_message=self.server_message(),
            retry_after=self.retry_after(),
            request_id=self.request_id(),
        )


def server_message(body: bytes, parsed: object) -> str | None:
    """
    Pull the human-readable error out of any of Customer.io's error bodies.

    The shapes are ``{"meta": {"error": str}}`` (App API),
    ``{"meta": {"errors": [str]}}`` (Track v1),
    ``{"errors": [{"reason", "field", "message"}]}`` (Track v2), and plain text
    (a 401 says ``Unauthorized request`` without JSON).
    """
    texts: list[str] = []
    if isinstance(parsed, dict):
        meta = parsed.get("meta")
        if isinstance(meta, dict):
            if isinstance(meta.get("error"), str):
                texts.append(meta["error"])
            if isinstance(meta.get("errors"), list):
                texts.extend(str(e) for e in meta["errors"][:3])
        errors = parsed.get("errors")
        if isinstance(errors, list):
            for entry in errors[:3]:
                if isinstance(entry, dict):
                    text = entry.get("message") or entry.get("detail") or ""
                    field = entry.get("field")
                    texts.append(f"{field}: {text}" if field else str(text))
                else:
                    texts.append(str(entry))
    elif parsed is None and body:
        texts.append(body[:_MAX_SERVER_MESSAGE].decode("utf-8", "replace").strip())

    # One line, whatever the server sent: it ends up in log lines.
    message = " ".join("; ".join(t for t in texts if t).split())
    return message[:_MAX_SERVER_MESSAGE] or None


def redact_path(path: str) -> str:
    """
    A path fit for logs and errors: the segment naming a person is hidden.
    """
    head, sep, tail = path.partition("/customers/")
    if not sep:
        return path
    _, slash, rest = tail.partition("/")
    return f"{head}/customers/{{person}}{slash}{rest}"


class Transport:
    """
    Sends requests to one Customer.io host with one set of credentials.

    The authorization header is held privately and never shown in a repr.
    """

    def __init__(
        self,
        base_url: str,
        *,
        authorization: str,
        timeouts: Timeouts,
        session: aiohttp.ClientSession | None = None,
        connection_limit: int = 10,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._authorization = authorization
        self._timeouts = timeouts
        self._session = session
        self._owns_session = session is None
        self._connection_limit = connection_limit
        self._closed = False
        self._request_timeout = aiohttp.ClientTimeout(
            total=timeouts.request, connect=timeouts.connect
        )

    def __repr__(self) -> str:
        return f"<Transport {self._base_url}>"

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def session(self) -> aiohttp.ClientSession:
        """
        The session, created on first use inside the running loop.
        """
        if self._closed:
            message = "the client is closed"
            raise ClientClosedError(message)
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._connection_limit,
                keepalive_timeout=self._timeouts.keepalive,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": USER_AGENT},
                # Responses are read whole below; aiohttp's default of
                # following redirects would resend our credentials elsewhere.
                auto_decompress=True,
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """
        Make one request and read the whole answer within the total timeout.

        Raises:
            cio_async.RequestTimeoutError: The request took longer than allowed.
            cio_async.TransportError: No answer (refused, reset, DNS).
        """
        send_headers = {"Authorization": self._authorization}
        if body is not None:
            send_headers["Content-Type"] = "application/json"
        if headers:
            send_headers.update(headers)

        url = self._base_url + path
        route = redact_path(path)
        try:
            async with self.session.request(
                method,
                url,
                data=body,
                params=params,
                headers=send_headers,
                timeout=self._request_timeout,
                allow_redirects=False,
                # A session passed in may raise on error statuses; we read them.
                raise_for_status=False,
            ) as response:
                data = await response.read()
                return Answer(response.status, response.headers, data)
        except _CONNECT_TIMEOUT:
            # Waiting for a pooled connection or opening one: nothing was sent.
            message = (
                f"{method} {route}: no connection within {self._timeouts.connect:g} s"
            )
            raise RequestTimeoutError(message, request_sent=False) from None
        except asyncio.TimeoutError:
            message = f"{method} {route} took longer than {self._timeouts.request:g} s"
            raise RequestTimeoutError(message) from None
        except aiohttp.ClientConnectorError as error:
            # The connection never opened, so the server never saw the request.
            message = f"{method} {route}: cannot connect ({type(error).__name__})"
            raise TransportError(message, request_sent=False) from None
        except aiohttp.ClientError as error:
            message = f"{method} {route}: connection failed ({type(error).__name__})"
            raise TransportError(message) from None

    async def aclose(self) -> None:
        """
        Close the session if we created it. Idempotent.
        """
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()
