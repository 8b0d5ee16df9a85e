"""
The examples run as written: real servers in subprocesses, a real fake here.

Each example reads its credentials from the environment; the tests point
``CUSTOMERIO_TRACK_URL`` at the ``cio_fake`` running in this process.
"""

from __future__ import annotations

import ast
import signal
from pathlib import Path

import aiohttp
import pytest
from _procs import ROOT, Server, free_port, run

from cio_async.testing import FakeCustomerIO

EXAMPLES = ROOT / "examples"


def fake_env(fake: FakeCustomerIO) -> dict[str, str]:
    """
    The variables that point an example at the fake.
    """
    return {
        "CUSTOMERIO_SITE_ID": fake.site_id,
        "CUSTOMERIO_TRACK_API_KEY": fake.api_key,
        "CUSTOMERIO_TRACK_URL": fake.url,
    }


async def sign_up_and_order(port: int, people: int) -> None:
    """
    Sign up ``people`` people and place one order each, over real HTTP.
    """
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for n in range(people):
            signup = {"email": f"p{n}@example.com", "plan": "pro"}
            async with http.post(f"{base}/users/u{n}/signup", json=signup) as answer:
                assert answer.status == 204
            order = {"total": n + 0.5}
            async with http.post(f"{base}/users/u{n}/orders", json=order) as answer:
                assert answer.status == 204


async def drain_on_sigterm(
    server: Server, fake: FakeCustomerIO, port: int, people: int
) -> int:
    """
    Make traffic, hold the fake's answers, SIGTERM the server, then release them.

    Holding the answers until after the signal proves that the server waits
    for the delivery before it exits.
    """
    fake.pause()
    await sign_up_and_order(port, people)

    server.process.send_signal(signal.SIGTERM)
    await fake.wait_for(lambda f: f.counts.requests >= 1, timeout=15)
    fake.resume()

    return await server.wait()


class TestFastAPIExample:
    async def test_uvicorn_delivers_every_event_before_exiting_on_sigterm(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        Under uvicorn, SIGTERM drains the client: every event is on the fake at exit.
        """
        port = free_port()
        server = await Server.start(
            "-m",
            "uvicorn",
            "examples.fastapi_app:app",
            "--port",
            str(port),
            env=fake_env(cio_fake),
        )
        try:
            await server.wait_for_output("Uvicorn running on")
            code = await drain_on_sigterm(server, cio_fake, port, people=25)
        finally:
            await server.kill()

        assert code in (0, -signal.SIGTERM), server.output
        assert len(cio_fake.events("signed_up")) == 25
        assert len(cio_fake.events("order_completed")) == 25
        assert cio_fake.counts.items_accepted == 75
        assert "operations not delivered" not in server.output


class TestAiohttpExample:
    async def test_run_app_delivers_every_event_before_exiting_on_sigterm(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        Under web.run_app, SIGTERM drains the client at cleanup before the exit.
        """
        port = free_port()
        server = await Server.start(
            str(EXAMPLES / "aiohttp_app.py"),
            "--port",
            str(port),
            env=fake_env(cio_fake),
        )
        try:
            await server.wait_for_output("Running on")
            code = await drain_on_sigterm(server, cio_fake, port, people=25)
        finally:
            await server.kill()

        assert code == 0, server.output
        assert len(cio_fake.events("signed_up")) == 25
        assert len(cio_fake.events("order_completed")) == 25
        assert cio_fake.counts.items_accepted == 75

    async def test_startup_fails_naming_a_missing_variable(self) -> None:
        """
        Without credentials the app refuses to start and names the variable.
        """
        code, _, err = await run(
            str(EXAMPLES / "aiohttp_app.py"), "--port", str(free_port()), timeout=30
        )

        assert code != 0
        assert "CUSTOMERIO_SITE_ID" in err


class TestScriptExample:
    async def test_script_delivers_and_reports_counts(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        The plain script sends its seven operations and prints counts that add up.
        """
        code, out, err = await run(str(EXAMPLES / "script.py"), env=fake_env(cio_fake))

        assert code == 0, err
        assert "7 accepted, 7 delivered, 0 failed" in out
        assert cio_fake.counts.items_accepted == 7
        assert [e.name for e in cio_fake.events()].count("order_completed") == 3


class TestMetricsExample:
    async def test_publishes_counters_in_prometheus_text(
        self, cio_fake: FakeCustomerIO, tmp_path: Path
    ) -> None:
        """
        The exported file is Prometheus text whose delivered count matches the fake.
        """
        textfile = tmp_path / "cio.prom"

        code, out, err = await run(
            str(EXAMPLES / "metrics_export.py"),
            "--textfile",
            str(textfile),
            "--seconds",
            "0.3",
            "--interval",
            "0.1",
            env=fake_env(cio_fake),
        )

        assert code == 0, err
        samples = dict(
            line.rsplit(" ", 1)
            for line in textfile.read_text().splitlines()
            if line and not line.startswith("#")
        )
        delivered = int(samples["cio_async_operations_delivered_total"])
        assert delivered == cio_fake.counts.items_accepted > 0
        assert samples["cio_async_operations_failed_total"] == "0"
        assert "# TYPE cio_async_operations_queued gauge" in out
        assert not (tmp_path / "cio.prom.tmp").exists()


class TestUserAppTests:
    async def test_example_test_file_passes_under_pytest(self) -> None:
        """
        examples/test_user_app.py passes when pytest runs it, warnings as errors.
        """
        code, out, err = await run(
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            str(EXAMPLES / "test_user_app.py"),
        )

        assert code == 0, out + err
        assert "3 passed" in out
        assert "warning" not in out.lower()


@pytest.mark.parametrize(
    "name",
    [
        "fastapi_app.py",
        "aiohttp_app.py",
        "script.py",
        "metrics_export.py",
        "test_user_app.py",
        "webhook_receiver.py",
    ],
)
def test_every_example_says_how_to_run_it(name: str) -> None:
    """
    Each example's module docstring gives the command that runs it.
    """
    docstring = ast.get_docstring(ast.parse((EXAMPLES / name).read_text()))

    assert docstring is not None
    assert f"python examples/{name}" in docstring or (
        f"pytest examples/{name}" in docstring
        or f"uvicorn examples.{name[:-3]}:app" in docstring
    )
