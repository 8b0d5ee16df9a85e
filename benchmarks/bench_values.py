"""
Micro-benchmarks for the hot path in ``cio_async._values``.

Run from the repository root: ``python benchmarks/bench_values.py``. Prints the
best of five runs, per call, for each case.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from cio_async._ulid import new_ulid
from cio_async._values import (
    check_attributes,
    check_data,
    check_identifier,
    coerce,
    encode,
)

EVENT_DATA: dict[str, Any] = {
    "order_id": "A-1001",
    "total": 42.5,
    "currency": "EUR",
    "items": [
        {"sku": "X1", "qty": 2, "price": 9.99},
        {"sku": "Y2", "qty": 1, "price": 23.52},
    ],
    "coupon": None,
    "shipping": {"method": "express", "country": "DE"},
}
# The same event with one value that must change, so the dict is copied.
EVENT_WITH_DATETIME = {
    **EVENT_DATA,
    "placed_at": datetime(2024, 3, 10, 12, tzinfo=timezone.utc),
}
ATTRIBUTES: dict[str, Any] = {
    "email": "ada@example.com",
    "first_name": "Ada",
    "plan": "pro",
    "created_at": 1710072000,
    "seats": 12,
    "trial": False,
    "city": "Zürich",
}

CASES: dict[str, Callable[[], object]] = {
    "coerce(event data)": lambda: coerce(EVENT_DATA, "data"),
    "encode(event data)": lambda: encode(EVENT_DATA),
    "coerce+encode(event data)": lambda: encode(coerce(EVENT_DATA, "data")),
    "check_data+encode(event data)": lambda: encode(check_data(EVENT_DATA, "data")),
    "coerce(event data + datetime)": lambda: coerce(EVENT_WITH_DATETIME, "data"),
    "check_attributes(7 attributes)": lambda: check_attributes(ATTRIBUTES, "attrs"),
    "check_identifier(ascii)": lambda: check_identifier("user-12345", "person"),
    "check_identifier(non-ascii)": lambda: check_identifier("zoë@example.com", "p"),
    "new_ulid()": new_ulid,
    # References, to compare machines: the plain stdlib call and orjson.
    "json.dumps(event data) [reference]": lambda: json.dumps(EVENT_DATA),
}
try:
    import orjson
except ImportError:  # pragma: no cover - orjson is optional
    pass
else:
    CASES["orjson.dumps(event data) [reference]"] = lambda: orjson.dumps(EVENT_DATA)


def main() -> None:
    """
    Time each case and print nanoseconds per call.
    """
    for name, case in CASES.items():
        runs = timeit.Timer(case).autorange()[0]
        best = min(timeit.repeat(case, number=runs, repeat=5)) / runs
        print(f"{name:40} {best * 1e9:8.0f} ns")


if __name__ == "__main__":
    main()
