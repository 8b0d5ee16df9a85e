"""
Typed events and typed attributes: an event taxonomy that mypy can check.

Subclass :class:`Event` with the event's name, make it an attrs (or dataclass)
class, and pass instances to ``track()``::

    @attrs.frozen
    class SignedUp(Event, name="signed_up"):
        method: str

    await cio.track("user-1", SignedUp(method="google"))

A misspelt field is then a type error, not an event with the wrong data.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ._errors import InvalidArgumentError, InvalidTypeError
from ._values import MAX_EVENT_NAME_BYTES, check_name, coerce


class Event:
    """
    Base class of typed events; the subclass names the event: ``name="..."``.
    """

    __cio_event_name__: ClassVar[str]

    def __init_subclass__(cls, *, name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if name is not None:
            cls.__cio_event_name__ = check_name(name, "name", MAX_EVENT_NAME_BYTES)


class Attributes:
    """
    Base class of typed person attributes, for ``identify()``.
    """


def event_name_and_data(event: Event) -> tuple[str, dict[str, Any]]:
    """
    The name and the coerced data of a typed event.

    Raises:
        cio_async.InvalidArgumentError: The class was declared without a name.
    """
    name = getattr(type(event), "__cio_event_name__", None)
    if name is None:
        message = f"{type(event).__name__} needs a name: class X(Event, name='...')"
        raise InvalidArgumentError("event", message)

    return name, as_dict(event, "data")


def as_dict(instance: object, argument: str) -> dict[str, Any]:
    """
    The fields of an attrs or dataclass instance, coerced.
    """
    data = coerce(instance, argument)
    if not isinstance(data, dict):
        message = "must be an attrs or dataclass instance"
        raise InvalidTypeError(argument, message)
    return data
