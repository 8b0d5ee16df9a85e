"""
The shared client and the FastAPI and aiohttp integrations, on real frameworks.

Apps run in process (httpx's ASGI transport, aiohttp's test server) against the
fake Customer.io; forking and per-test event loops run in subprocesses.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import importlib
import textwrap
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from _procs import run
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from fastapi import FastAPI

from cio_async import AsyncCustomerIO, BatchConfig, ConfigurationError
from cio_async.integrations import SharedClient, client_from_env
from cio_async.integrations.aiohttp import CLIENT_KEY, setup
from cio_async.integrations.fastapi import CustomerIO, lifespan
from cio_async.testing import FakeCustomerIO
from cio_async.testing.plugin import FakeAssertions


def fake_client(fake: FakeCustomerIO, **kwargs: Any) -> AsyncCustomerIO:
    """
    A client for ``fake`` that does not linger over batches.
    """
    kwargs.setdefault("batching", BatchConfig(flush_interval=0.05))
    return AsyncCustomerIO(fake.site_id, fake.api_key, base_url=fake.url, **kwargs)


class TestSharedClient:
    async def test_one_client_per_loop(self, cio_env: FakeCustomerIO) -> None:
        """
        get() returns the same client within a loop and another one in another loop.
        """
        shared = SharedClient()
        here = shared.get()
        box: list[AsyncCustomerIO] = []

        def in_another_loop() -> None:
            async def get() -> None:
                box.append(shared.get())

            asyncio.run(get())

        thread = threading.Thread(target=in_another_loop)
        thread.start()
        await asyncio.to_thread(thread.join)

        assert shared.get() is here
        assert box[0] is not here
        assert "state=closed" in repr(box[0])
        await shared.aclose()

    def test_get_outside_a_loop_says_so(self) -> None:
        """
        get() without a running event loop raises a RuntimeError saying why.
        """
        with pytest.raises(RuntimeError, match="running event loop"):
            SharedClient().get()

    async def test_bad_configuration_names_the_variable_and_is_not_kept(
        self, cio_fake: FakeCustomerIO, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        A missing variable fails get() by name; once it is set, get() works.
        """
        for name in ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_TRACK_API_KEY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("CUSTOMERIO_TRACK_URL", cio_fake.url)
        shared = SharedClient()

        with pytest.raises(ConfigurationError, match="CUSTOMERIO_SITE_ID"):
            shared.get()
        monkeypatch.setenv("CUSTOMERIO_SITE_ID", cio_fake.site_id)
        monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", cio_fake.api_key)

        assert shared.get().base_url == cio_fake.url
        await shared.aclose()

    async def test_factory_must_return_a_client(self) -> None:
        """
        A factory that returns something else fails get() with a TypeError.
        """
        shared = SharedClient(lambda: "not a client")  # type: ignore[arg-type,return-value]

        with pytest.raises(TypeError, match="returned str"):
            shared.get()

    def test_factory_must_be_callable(self) -> None:
        """
        A factory that cannot be called is refused at construction.
        """
        with pytest.raises(TypeError, match="factory"):
            SharedClient("client")  # type: ignore[arg-type]

    async def test_aclose_drains_and_the_next_get_builds_anew(
        self, cio_env: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        aclose() delivers what is pending and closes; get() then builds a new client.
        """
        shared = SharedClient()
        first = shared.get()
        await first.track("u1", "signed_up")

        await shared.aclose()
        await shared.aclose()

        cio_assert.assert_tracked("u1", "signed_up")
        assert "state=closed" in repr(first)
        second = shared.get()
        assert second is not first
        await shared.aclose()

    async def test_reset_forgets_without_closing(self, cio_env: FakeCustomerIO) -> None:
        """
        After reset() get() builds a new client; the old one stays open and usable.
        """
        shared = SharedClient()
        old = shared.get()

        shared.reset()
        new = shared.get()
        await old.track("u1", "still_open", wait=True)

        assert new is not old
        assert cio_env.events("still_open")
        await old.aclose()
        await shared.aclose()

    def test_a_loop_ending_with_its_client_open_closes_it(self) -> None:
        """
        When a loop ends without aclose(), its client is closed on the way out.
        """

        async def scenario() -> tuple[AsyncCustomerIO, int]:
            async with FakeCustomerIO() as fake:
                client = SharedClient(functools.partial(fake_client, fake)).get()
                await client.track("u1", "e")
                await client.flush()
                return client, fake.counts.items_accepted

        client, received = asyncio.run(scenario())

        assert received == 1
        assert "state=closed" in repr(client)

    def test_pending_operations_at_loop_end_are_failed_not_lost(self) -> None:
        """
        Operations still queued when the loop ends are counted failed, and the
        client is closed.
        """

        async def scenario() -> AsyncCustomerIO:
            async with FakeCustomerIO() as fake:
                factory = functools.partial(
                    fake_client, fake, batching=BatchConfig(flush_interval=30)
                )
                client = SharedClient(factory).get()
                await client.track("u1", "e")
            return client

        client = asyncio.run(scenario())

        stats = client.stats()
        assert (stats.accepted, stats.delivered, stats.failed) == (1, 0, 1)
        assert stats.queued == stats.in_flight == 0
        assert "state=closed" in repr(client)

    def test_client_from_env_reads_the_track_url(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        CUSTOMERIO_TRACK_URL replaces the region's host unless base_url is given.
        """
        monkeypatch.setenv("CUSTOMERIO_SITE_ID", "site")
        monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", "key")
        monkeypatch.setenv("CUSTOMERIO_TRACK_URL", "http://127.0.0.1:9/")

        assert client_from_env().base_url == "http://127.0.0.1:9"
        explicit = client_from_env(base_url="http://127.0.0.1:10")
        assert explicit.base_url == "http://127.0.0.1:10"


FORK_SCRIPT = """
import asyncio, functools, os, sys
from cio_async import BatchConfig
from cio_async.integrations import SharedClient, client_from_env

# A long flush interval: the parent's events are still queued at the fork.
shared = SharedClient(
    functools.partial(client_from_env, batching=BatchConfig(flush_interval=60))
)

async def produce(who, count):
    cio = shared.get()
    for n in range(count):
        await cio.track("u1", "e", {"who": who}, id=f"{who}-{n}")

loop = asyncio.new_event_loop()
loop.run_until_complete(produce("parent", 40))
assert repr(shared) == "<SharedClient open=1>"

pid = os.fork()
if pid == 0:
    code = 3
    try:
        # The inherited client is forgotten: never sent, never closed.
        assert repr(shared) == "<SharedClient open=0>", repr(shared)

        async def child():
            await produce("child", 15)
            await shared.aclose()

        asyncio.run(child())
        code = 0
    finally:
        os._exit(code)

_, status = os.waitpid(pid, 0)
loop.run_until_complete(shared.aclose())
loop.close()
sys.exit(os.waitstatus_to_exitcode(status))
"""


class TestFork:
    async def test_child_sends_its_own_and_parent_events_arrive_once(
        self, cio_env: FakeCustomerIO, tmp_path: Path
    ) -> None:
        """
        A forked child delivers its events; the parent's queued ones arrive once.
        """
        script = tmp_path / "fork.py"
        script.write_text(FORK_SCRIPT)
        env = {
            "CUSTOMERIO_SITE_ID": cio_env.site_id,
            "CUSTOMERIO_TRACK_API_KEY": cio_env.api_key,
            "CUSTOMERIO_TRACK_URL": cio_env.url,
        }

        code, _, err = await run(str(script), env=env, timeout=30)

        assert code == 0, err
        sent = collections.Counter(
            item["id"]
            for request in cio_env.requests_to("/api/v2/batch")
            for item in request.json()["batch"]
        )
        expected = {f"parent-{n}" for n in range(40)} | {
            f"child-{n}" for n in range(15)
        }
        assert set(sent) == expected
        assert set(sent.values()) == {1}
        assert cio_env.counts.duplicate_events == 0


PER_TEST_LOOPS = """
import gc

from cio_async.integrations import SharedClient

shared = SharedClient()
seen = []


async def test_first_loop(cio_env, cio_assert):
    cio = shared.get()
    seen.append(cio)
    await cio.track("u1", "first")
    await cio.flush()
    cio_assert.assert_tracked("u1", "first")


async def test_second_loop_gets_a_new_client(cio_env, cio_assert):
    cio = shared.get()
    assert cio is not seen[0]
    assert "state=closed" in repr(seen[0])
    seen.append(cio)
    await cio.track("u2", "second")
    await cio.flush()
    cio_assert.assert_tracked("u2", "second")


async def test_third_loop_closes_it_itself(cio_env, cio_assert):
    await shared.get().track("u3", "third")
    await shared.aclose()
    cio_assert.assert_tracked("u3", "third")


def test_nothing_is_left_to_collect():
    seen.clear()
    gc.collect()
    gc.collect()
"""


class TestPerTestLoops:
    async def test_tests_in_a_row_share_the_factory_without_warnings(
        self, tmp_path: Path
    ) -> None:
        """
        Tests with their own loops each get a working client, and nothing warns.
        """
        (tmp_path / "test_shared.py").write_text(PER_TEST_LOOPS)
        (tmp_path / "pytest.ini").write_text(
            textwrap.dedent(
                """
                [pytest]
                asyncio_mode = auto
                asyncio_default_fixture_loop_scope = function
                filterwarnings = error
                """
            )
        )

        code, out, err = await run(
            "-X",
            "dev",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error::ResourceWarning",
            cwd=tmp_path,
        )

        assert code == 0, out + err
        assert "4 passed" in out
        for trouble in ("warning", "Event loop is closed", "Unclosed", "destroyed"):
            assert trouble not in out + err, out + err


class TestFastAPI:
    async def test_lifespan_opens_hands_out_and_drains_the_client(
        self, cio_env: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        Handlers get the client through CustomerIO; leaving the lifespan drains it.
        """
        app = FastAPI(lifespan=lifespan())

        @app.post("/signup/{user_id}", status_code=204)
        async def signup(user_id: str, cio: CustomerIO) -> None:
            await cio.track(user_id, "signed_up")

        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://app")
        async with app.router.lifespan_context(app), http:
            for n in range(5):
                answer = await http.post(f"/signup/u{n}")
                assert answer.status_code == 204
            assert cio_env.counts.items_accepted < 5

        for n in range(5):
            cio_assert.assert_tracked(f"u{n}", "signed_up")

    async def test_wrapped_lifespan_runs_with_the_client_open(
        self, cio_env: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        The app's own lifespan can track at start-up and shutdown; its state passes.
        """
        shared = SharedClient()

        @asynccontextmanager
        async def own(app: FastAPI) -> AsyncIterator[dict[str, str]]:
            await shared.get().track("system", "app_started")
            yield {"greeting": "hello"}
            await shared.get().track("system", "app_stopping")

        app = FastAPI()
        async with lifespan(shared, wrap=own)(app) as state:
            assert state == {"greeting": "hello"}

        names = [e.name for e in cio_assert.events("system")]
        assert names == ["app_started", "app_stopping"]

    async def test_missing_configuration_stops_the_start_up(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        Without credentials the lifespan fails at start-up, naming the variable.
        """
        monkeypatch.delenv("CUSTOMERIO_SITE_ID", raising=False)
        app = FastAPI(lifespan=lifespan())

        with pytest.raises(ConfigurationError, match="CUSTOMERIO_SITE_ID"):
            async with app.router.lifespan_context(app):
                pass

    async def test_check_refuses_an_account_in_another_region(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        With check=True, a US client for an EU account refuses to start.
        """
        async with FakeCustomerIO(region="eu") as fake:
            app = FastAPI(
                lifespan=lifespan(SharedClient(lambda: fake_client(fake)), check=True)
            )

            with pytest.raises(ConfigurationError, match="CUSTOMERIO_REGION=eu"):
                async with app.router.lifespan_context(app):
                    pass

    async def test_dependency_without_the_lifespan_explains(self) -> None:
        """
        Asking for the client in an app without the lifespan says what is missing.
        """
        app = FastAPI()

        @app.get("/")
        async def handler(cio: CustomerIO) -> None:
            pass

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as h:
            with pytest.raises(RuntimeError, match="lifespan="):
                await h.get("/")


class TestAiohttp:
    async def test_setup_opens_hands_out_and_drains_the_client(
        self, cio_env: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        Handlers, in the app and in a sub-app, get the client; cleanup drains it.
        """

        async def signup(request: web.Request) -> web.Response:
            cio = request.config_dict[CLIENT_KEY]
            await cio.track(request.match_info["user_id"], "signed_up")
            return web.Response(status=204)

        app = web.Application()
        setup(app)
        app.router.add_post("/signup/{user_id}", signup)
        admin = web.Application()
        admin.router.add_post("/signup/{user_id}", signup)
        app.add_subapp("/admin", admin)

        async with TestClient(TestServer(app)) as http:
            for path in ("/signup/u1", "/admin/signup/u2"):
                async with http.post(path) as answer:
                    assert answer.status == 204

        cio_assert.assert_tracked("u1", "signed_up")
        cio_assert.assert_tracked("u2", "signed_up")

    async def test_shutdown_hooks_and_later_contexts_can_still_track(
        self, cio_env: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        on_shutdown hooks and cleanup contexts added after setup() see it open.
        """
        app = web.Application()
        shared = setup(app)

        async def later(app: web.Application) -> AsyncIterator[None]:
            yield
            await shared.get().track("system", "context_left")

        async def on_shutdown(app: web.Application) -> None:
            await app[CLIENT_KEY].track("system", "shutting_down")

        app.cleanup_ctx.append(later)
        app.on_shutdown.append(on_shutdown)
        async with TestClient(TestServer(app)):
            pass

        names = [e.name for e in cio_assert.events("system")]
        assert names == ["shutting_down", "context_left"]

    async def test_missing_configuration_stops_the_start_up(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        Without credentials the app fails at startup, naming the variable.
        """
        monkeypatch.delenv("CUSTOMERIO_SITE_ID", raising=False)
        app = web.Application()
        setup(app)

        with pytest.raises(ConfigurationError, match="CUSTOMERIO_SITE_ID"):
            async with TestServer(app):
                pass


@pytest.mark.parametrize(
    "module",
    [
        "cio_async.integrations",
        "cio_async.integrations.fastapi",
        "cio_async.integrations.aiohttp",
        "cio_async.testing.plugin",
    ],
)
def test_all_lists_public_names_that_exist(module: str) -> None:
    """
    Each integration module's __all__ names only what it defines, once each.
    """
    imported = importlib.import_module(module)

    assert len(set(imported.__all__)) == len(imported.__all__)
    for name in imported.__all__:
        assert hasattr(imported, name), name
