"""
Typed events are checked by mypy: a misspelt field or a wrong type is an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

HERE = Path(__file__).parent


def _mypy(*paths: Path) -> tuple[str, int]:
    out, err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir=/dev/null", *map(str, paths)]
    )
    return out + err, status


def test_typed_events_accepted_and_misspelt_field_refused(tmp_path: Path) -> None:
    """
    The typing module passes mypy --strict; the same event with a typo does not.
    """
    bad = tmp_path / "bad_usage.py"
    bad.write_text(
        "from __future__ import annotations\n"
        "import attrs\n"
        "from cio_async import AsyncCustomerIO, Event\n"
        "@attrs.frozen\n"
        "class SignedUp(Event, name='signed_up'):\n"
        "    method: str\n"
        "async def f(cio: AsyncCustomerIO) -> None:\n"
        "    await cio.track('u1', SignedUp(methd='google'))\n"
        "    await cio.track('u1', SignedUp(method=1))\n"
        "    await cio.track('u1', 'name', {'a': 1}, wait='yes')\n"
    )

    good_report, good_status = _mypy(HERE / "typing_check.py")
    bad_report, bad_status = _mypy(bad)

    assert good_status == 0, good_report
    assert bad_status == 1
    assert 'Unexpected keyword argument "methd"' in bad_report
    assert "bad_usage.py:9" in bad_report
    assert "bad_usage.py:10" in bad_report
