"""
cio_async: an asyncio-native Customer.io SDK.

Calls are checked and encoded at once, queued in a bounded queue, and delivered
in the background in Track API v2 batches, with retries. Every accepted
operation ends either delivered or handed to your failure handler.

    async with AsyncCustomerIO(site_id, api_key) as cio:
        await cio.identify("user-1", {"email": "ada@example.com", "plan": "pro"})
        await cio.track("user-1", "signed_up", {"method": "google"})

Transactional messages, broadcast triggers and customer lookups use the App
API through :class:`AsyncAPIClient`: one request per call, a typed answer or a
typed error, and retries that never send a message twice.
"""

from __future__ import annotations

from ._app import AppRateLimits as AppRateLimits
from ._app import AsyncAPIClient as AsyncAPIClient
from ._batcher import FailureHandler as FailureHandler
from ._batcher import Stats as Stats
from ._config import BatchConfig as BatchConfig
from ._config import Region as Region
from ._config import RetryPolicy as RetryPolicy
from ._config import Timeouts as Timeouts
from ._errors import AuthenticationError as AuthenticationError
from ._errors import ClientClosedError as ClientClosedError
from ._errors import ConfigurationError as ConfigurationError
from ._errors import CustomerIOError as CustomerIOError
from ._errors import DeliveryError as DeliveryError
from ._errors import FlushTimeoutError as FlushTimeoutError
from ._errors import HTTPStatusError as HTTPStatusError
from ._errors import InvalidArgumentError as InvalidArgumentError
from ._errors import InvalidTypeError as InvalidTypeError
from ._errors import MessageMayHaveBeenSentError as MessageMayHaveBeenSentError
from ._errors import NotFoundError as NotFoundError
from ._errors import PayloadTooLargeError as PayloadTooLargeError
from ._errors import QueueFullError as QueueFullError
from ._errors import RateLimitedError as RateLimitedError
from ._errors import RequestRejectedError as RequestRejectedError
from ._errors import RequestTimeoutError as RequestTimeoutError
from ._errors import ServerError as ServerError
from ._errors import TransportError as TransportError
from ._errors import WebhookVerificationError as WebhookVerificationError
from ._errors import WrongRegionError as WrongRegionError
from ._events import Attributes as Attributes
from ._events import Event as Event
from ._messages import CustomerAttributes as CustomerAttributes
from ._messages import CustomerIdentifiers as CustomerIdentifiers
from ._messages import Segment as Segment
from ._messages import SendEmailRequest as SendEmailRequest
from ._messages import SendInAppRequest as SendInAppRequest
from ._messages import SendInboxMessageRequest as SendInboxMessageRequest
from ._messages import SendPushRequest as SendPushRequest
from ._messages import SendResult as SendResult
from ._messages import SendSMSRequest as SendSMSRequest
from ._messages import SendWhatsAppRequest as SendWhatsAppRequest
from ._operations import DeliveryFailure as DeliveryFailure
from ._operations import FailureReason as FailureReason
from ._operations import ObjectRef as ObjectRef
from ._operations import Operation as Operation
from ._operations import Person as Person
from ._operations import Relationship as Relationship
from ._track import AccountRegion as AccountRegion
from ._track import AsyncCustomerIO as AsyncCustomerIO
from ._version import __version__ as __version__

__all__ = [
    "AccountRegion",
    "AppRateLimits",
    "AsyncAPIClient",
    "AsyncCustomerIO",
    "Attributes",
    "AuthenticationError",
    "BatchConfig",
    "ClientClosedError",
    "ConfigurationError",
    "CustomerAttributes",
    "CustomerIOError",
    "CustomerIdentifiers",
    "DeliveryError",
    "DeliveryFailure",
    "Event",
    "FailureHandler",
    "FailureReason",
    "FlushTimeoutError",
    "HTTPStatusError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "MessageMayHaveBeenSentError",
    "NotFoundError",
    "ObjectRef",
    "Operation",
    "PayloadTooLargeError",
    "Person",
    "QueueFullError",
    "RateLimitedError",
    "Region",
    "Relationship",
    "RequestRejectedError",
    "RequestTimeoutError",
    "RetryPolicy",
    "Segment",
    "SendEmailRequest",
    "SendInAppRequest",
    "SendInboxMessageRequest",
    "SendPushRequest",
    "SendResult",
    "SendSMSRequest",
    "SendWhatsAppRequest",
    "ServerError",
    "Stats",
    "Timeouts",
    "TransportError",
    "WebhookVerificationError",
    "WrongRegionError",
    "__version__",
]
