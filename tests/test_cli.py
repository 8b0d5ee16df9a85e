"""
The ``cio-async`` command: every ``send`` action, bad lines, progress, resume,
``demo``'s options, ``check`` and ``fake-server`` with faults.

Commands that talk to a server run as subprocesses against the fake running in
this process; usage errors and ``--help`` run in process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
from _procs import Server, environment, run

from cio_async import AsyncCustomerIO, ObjectRef
from cio_async._lines import FORMATS
from cio_async.cli import main
from cio_async.testing import FakeCustomerIO


def credentials(fake: FakeCustomerIO, **extra: str) -> dict[str, str]:
    """
    The variables that point the command at ``fake``.
    """
    return {
        "CUSTOMERIO_SITE_ID": fake.site_id,
        "CUSTOMERIO_TRACK_API_KEY": fake.api_key,
        "CUSTOMERIO_TRACK_URL": fake.url,
        **extra,
    }


def ndjson(path: Path, records: list[dict[str, Any]]) -> Path:
    """
    Write ``records`` one per line and return the path.
    """
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


async def send(fake: FakeCustomerIO, *args: str, **env: str) -> tuple[int, str, str]:
    """
    Run ``cio-async send ARGS`` against ``fake``.
    """
    return await run("-m", "cio_async.cli", "send", *args, env=credentials(fake, **env))


# One line per action; the people and objects they act on are made beforehand.
EVERY_ACTION: list[dict[str, Any]] = [
    {"action": "identify", "id": "u1", "attributes": {"plan": "pro"}},
    {
        "action": "event",
        "id": "u1",
        "name": "ordered",
        "data": {"total": 42.5},
        "timestamp": "2024-05-01T12:00:00Z",
    },
    {"action": "page", "id": "u1", "url": "https://example.com/pricing"},
    {"action": "screen", "id": "u1", "name": "Home", "data": {"tab": 2}},
    {"action": "delete", "id": "u2"},
    {"action": "suppress", "email": "s@example.com"},
    {"action": "unsuppress", "email": "t@example.com"},
    {"action": "add_device", "id": "u1", "token": "tok1", "platform": "ios"},
    {"action": "delete_device", "id": "u1", "token": "tok2"},
    {"action": "merge", "primary": {"id": "u3"}, "secondary": {"id": "u4"}},
    {
        "action": "add_relationships",
        "id": "u1",
        "objects": [
            {"object_type_id": "1", "object_id": "acme", "attributes": {"r": "a"}}
        ],
    },
    {
        "action": "delete_relationships",
        "id": "u1",
        "objects": [{"object_type_id": "1", "object_id": "beta"}],
    },
    {
        "action": "identify_object",
        "object_type_id": "1",
        "object_id": "acme",
        "attributes": {"name": "Acme"},
        "people": ["u5", {"email": "p@example.com", "attributes": {"r": "owner"}}],
    },
    {"action": "delete_object", "object_type_id": "1", "object_id": "gone"},
    {
        "action": "add_object_relationships",
        "object_type_id": "1",
        "object_id": "acme",
        "people": ["u6"],
    },
    {
        "action": "delete_object_relationships",
        "object_type_id": "1",
        "object_id": "acme",
        "people": ["u5"],
    },
    {
        "action": "track_delivery",
        "delivery_id": "dlv1",
        "metric": "opened",
        "device_token": "tok1",
    },
    # Track v1 requests last: they may overtake the batch above.
    {"action": "anonymous_event", "anonymous_id": "anon1", "name": "viewed"},
    {"action": "add_to_segment", "segment_id": 7, "ids": ["u6"]},
    {"action": "remove_from_segment", "segment_id": 8, "ids": ["u6"]},
]


async def prepare(fake: FakeCustomerIO) -> None:
    """
    Make the people and objects that the EVERY_ACTION lines act on.
    """
    async with AsyncCustomerIO(fake.site_id, fake.api_key, base_url=fake.url) as cio:
        for person in ("u1", "u2", "u3", "u4", "u5", "u6"):
            await cio.identify(person, {"seen": True})
        for email in ("s@example.com", "t@example.com"):
            await cio.identify(email, {"email": email})
        await cio.identify("t@example.com", {"email": "t@example.com"})
        await cio.add_device("u1", "tok2", "android")
        await cio.add_relationships("u1", [ObjectRef("1", "beta")])
        await cio.identify_object(ObjectRef("1", "gone"), {"name": "Gone"})
        await cio.flush()
        await cio.suppress("t@example.com", wait=True)
        await cio.add_to_segment(8, ["u6"], wait=True)


class TestSend:
    async def test_every_action_reaches_the_fake(
        self, cio_fake: FakeCustomerIO, tmp_path: Path
    ) -> None:
        """
        A file with one line of each action exits 0 and each shows on the fake.
        """
        await prepare(cio_fake)
        path = ndjson(tmp_path / "every.ndjson", EVERY_ACTION)

        code, out, err = await send(cio_fake, str(path))

        assert code == 0, err
        assert {line["action"] for line in EVERY_ACTION} | {
            "add_object_relationships",
            "delete_object_relationships",
        } == {action for action, _, _ in FORMATS}
        assert f"{len(EVERY_ACTION)} delivered, 0 failed, 0 bad lines" in out

        u1 = cio_fake.person(id="u1")
        assert u1 is not None
        assert u1.attributes["plan"] == "pro"
        assert [(e.type, e.name) for e in u1.events] == [
            ("event", "ordered"),
            ("page", "https://example.com/pricing"),
            ("screen", "Home"),
        ]
        assert u1.events[0].timestamp == 1_714_564_800
        assert set(u1.devices) == {"tok1"}
        assert u1.relationships == {("1", "acme")}
        assert u1.segments == set()
        u2 = cio_fake.person(id="u2")
        assert u2 is not None
        assert u2.deleted
        suppressed = cio_fake.person(email="s@example.com")
        unsuppressed = cio_fake.person(email="t@example.com")
        assert suppressed is not None
        assert suppressed.suppressed
        assert unsuppressed is not None
        assert not unsuppressed.suppressed
        u3, u4 = cio_fake.person(id="u3"), cio_fake.person(id="u4")
        assert u3 is not None
        assert u4 is not None
        assert u4.merged_into == u3.cio_id
        acme = cio_fake.objects[("1", "acme")]
        assert acme.attributes["name"] == "Acme"
        owner = cio_fake.person(email="p@example.com")
        u6 = cio_fake.person(id="u6")
        assert owner is not None
        assert u6 is not None
        assert acme.relationships == {owner.cio_id, u1.cio_id, u6.cio_id}
        assert cio_fake.objects[("1", "gone")].deleted
        assert [(d.delivery_id, d.metric) for d in cio_fake.deliveries] == [
            ("dlv1", "opened")
        ]
        assert [e.anonymous_id for e in cio_fake.anonymous_events] == ["anon1"]
        assert u6.segments == {7}

    async def test_a_large_file_shows_progress_and_delivers_every_line(
        self, cio_fake: FakeCustomerIO, tmp_path: Path
    ) -> None:
        """
        100,000 lines with --progress: progress lines, a summary, all delivered.
        """
        path = tmp_path / "big.ndjson"
        with path.open("w") as file:
            for n in range(100_000):
                file.write(
                    f'{{"action": "event", "id": "u{n % 997}", "name": "viewed", '
                    f'"data": {{"n": {n}}}}}\n'
                )

        code, out, err = await send(cio_fake, str(path), "--progress")

        assert code == 0, err
        progress = [line for line in err.splitlines() if " lines " in line]
        assert progress, err
        assert all(re.match(r"[\d,]+ lines +\d+%", line) for line in progress)
        assert progress[-1].startswith("100,000 lines  100%")
        assert "delivered 100,000  failed 0" in progress[-1]
        assert "100,000 delivered, 0 failed, 0 bad lines" in out
        assert cio_fake.counts.items_accepted == 100_000

    async def test_bad_lines_are_named_and_the_rest_is_sent(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        Bad lines from standard input are reported by number; good ones go out.
        """
        lines = [
            json.dumps({"action": "identify", "id": "u1"}),
            json.dumps({"action": "wave", "id": "u1"}),
            json.dumps({"action": "event", "name": "e"}),
            json.dumps({"action": "event", "id": "u1", "name": "e", "timestamp": "x"}),
            "[1, 2]",
            "",
            json.dumps({"action": "event", "id": 42, "name": "e"}),
        ]

        code, out, err = await run(
            "-m",
            "cio_async.cli",
            "send",
            "-",
            env=credentials(cio_fake),
            stdin="\n".join(lines).encode(),
        )

        assert code == 1
        assert "line 2: unknown action 'wave'" in err
        assert "line 3: person: name the person with exactly one of" in err
        assert "line 4: timestamp: must be unix seconds or ISO 8601 text" in err
        assert "line 5: a line must be a JSON object" in err
        assert "2 delivered, 0 failed, 4 bad lines (2, 3, 4, 5)" in out
        assert " lines " not in err.replace("bad lines", "")
        person = cio_fake.person(id="42")
        assert person is not None
        assert [e.name for e in person.events] == ["e"]

    async def test_a_deeply_nested_line_is_bad_and_the_run_goes_on(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        A line of 100,000 '[' is reported as nested too deeply; later lines go out.
        """
        lines = [
            json.dumps({"action": "event", "id": "u1", "name": "before"}),
            "[" * 100_000,
            json.dumps({"action": "event", "id": "u1", "name": "after"}),
        ]

        code, out, err = await run(
            "-m",
            "cio_async.cli",
            "send",
            "-",
            env=credentials(cio_fake),
            stdin="\n".join(lines).encode(),
        )

        assert code == 1
        assert "line 2: nested too deeply" in err
        assert "Traceback" not in err
        assert "2 delivered, 0 failed, 1 bad lines (2)" in out
        person = cio_fake.person(id="u1")
        assert person is not None
        assert [e.name for e in person.events] == ["before", "after"]

    async def test_unknown_fields_and_wrong_types_make_a_line_bad(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        A misspelt field, a boolean given as text or a wrong type is named by line.
        """
        lines = [
            {"action": "identify", "id": "t1", "atributes": {"plan": "pro"}},
            {"action": "identify", "id": "t2", "update_only": "false"},
            {
                "action": "add_relationships",
                "id": "t3",
                "objects": [{"object_type_id": "1", "object_id": "a", "role": "x"}],
            },
            {"action": "merge", "primary": {"id": "t4"}, "secondary": {"ids": "t5"}},
            {"action": "event", "id": "t6", "name": 5},
            {"action": "identify", "id": "t7", "update_only": False},
        ]

        code, out, err = await run(
            "-m",
            "cio_async.cli",
            "send",
            "-",
            env=credentials(cio_fake),
            stdin="".join(json.dumps(line) + "\n" for line in lines).encode(),
        )

        assert code == 1
        assert (
            "line 1: unknown field 'atributes' for identify; expected one of "
            "id, email, phone, cio_id, attributes, update_only, timestamp\n"
        ) in err
        assert "line 2: update_only: must be true or false, not a string" in err
        assert "line 3: unknown field 'role' in objects[0]; expected one of" in err
        assert "line 4: unknown field 'ids' in secondary" in err
        assert "line 5: name: must be a str, not int" in err
        assert "1 delivered, 0 failed, 5 bad lines (1, 2, 3, 4, 5)" in out
        assert cio_fake.person(id="t1") is None
        assert cio_fake.person(id="t2") is None
        assert cio_fake.person(id="t7") is not None

    async def test_resume_replays_a_dead_letter_file(
        self, cio_fake: FakeCustomerIO, tmp_path: Path
    ) -> None:
        """
        Failures land in the dead-letter file; --resume sends them and removes it.
        """
        path = ndjson(
            tmp_path / "ops.ndjson",
            [
                {"action": "identify", "id": "u1", "attributes": {"plan": "pro"}},
                {"action": "event", "id": "u1", "name": "e"},
                {"action": "anonymous_event", "anonymous_id": "a1", "name": "seen"},
            ],
        )
        dead = tmp_path / "dead.ndjson"

        code, out, _ = await send(
            cio_fake,
            str(path),
            "--dead-letter",
            str(dead),
            CUSTOMERIO_TRACK_API_KEY="wrong",
        )
        assert code == 1
        assert "3 failed" in out
        assert f"cio-async send --resume {dead}" in out
        assert len(dead.read_text().splitlines()) == 3
        assert cio_fake.counts.items_accepted == 0

        code, out, err = await send(cio_fake, "--resume", str(dead))

        assert code == 0, err
        assert "3 delivered, 0 failed" in out
        assert not dead.exists()
        assert not dead.with_name("dead.ndjson.replaying").exists()
        assert cio_fake.counts.items_accepted == 3
        assert [e.anonymous_id for e in cio_fake.anonymous_events] == ["a1"]


class TestSendUsage:
    def test_file_or_resume_is_required(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """
        send without FILE or --resume exits 2 and says what it needs.
        """
        assert main(["send"]) == 2
        assert "send needs FILE, or --resume DEADLETTER" in capsys.readouterr().err

    def test_resume_takes_no_file(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """
        --resume with a FILE exits 2.
        """
        assert main(["send", "x.ndjson", "--resume", str(tmp_path / "d")]) == 2
        assert "--resume takes no FILE" in capsys.readouterr().err

    def test_a_leftover_replaying_file_stops_resume(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """
        An interrupted resume's leftover is named, and nothing is moved.
        """
        dead = tmp_path / "dead.ndjson"
        dead.write_text("{}\n")
        (tmp_path / "dead.ndjson.replaying").write_text("{}\n")

        assert main(["send", "--resume", str(dead)]) == 2
        assert "dead.ndjson.replaying is left from an interrupted" in (
            capsys.readouterr().err
        )
        assert dead.exists()

    @pytest.mark.parametrize(
        ("name", "why"),
        [
            ("missing.ndjson", "No such file or directory"),
            ("folder", "Is a directory"),
            ("plain.txt/inside.ndjson", "Not a directory"),
        ],
    )
    def test_an_unreadable_file_is_a_usage_error(
        self,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        name: str,
        why: str,
    ) -> None:
        """
        A FILE that cannot be opened exits 2 with one line naming it and why.
        """
        (tmp_path / "folder").mkdir()
        (tmp_path / "plain.txt").write_text("")
        path = tmp_path / name

        code = main(["send", str(path)])

        assert code == 2
        assert capsys.readouterr().err == f"cio-async: cannot read {path}: {why}\n"

    @pytest.mark.skipif(
        hasattr(os, "geteuid") and os.geteuid() == 0,
        reason="root reads files whatever their mode",
    )
    def test_a_file_without_read_permission_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """
        A FILE without read permission exits 2 with one line naming it.
        """
        path = tmp_path / "secret.ndjson"
        path.write_text("{}\n")
        path.chmod(0)

        code = main(["send", str(path)])

        assert code == 2
        assert capsys.readouterr().err == (
            f"cio-async: cannot read {path}: Permission denied\n"
        )

    def test_resume_of_a_directory_moves_nothing(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """
        --resume of a directory exits 2 and leaves it where it was.
        """
        folder = tmp_path / "dead.ndjson"
        folder.mkdir()

        code = main(["send", "--resume", str(folder)])

        assert code == 2
        assert f"cannot read {folder}: Is a directory" in capsys.readouterr().err
        assert folder.is_dir()
        assert not (tmp_path / "dead.ndjson.replaying").exists()

    def test_resume_of_a_missing_file_says_so(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """
        --resume of a file that is not there exits 2: nothing to resume.
        """
        assert main(["send", "--resume", str(tmp_path / "none.ndjson")]) == 2
        assert "nothing to resume" in capsys.readouterr().err


class TestDemo:
    @pytest.mark.parametrize(
        ("option", "value", "expected"),
        [
            ("--people", "-5", "argument --people: must be 0 or more, not -5"),
            ("--events", "-1", "argument --events: must be 0 or more, not -1"),
            ("--producers", "0", "argument --producers: must be 1 or more, not 0"),
            ("--people", "many", "argument --people: 'many' is not a whole number"),
        ],
    )
    def test_counts_out_of_range_are_refused_by_argparse(
        self,
        capsys: pytest.CaptureFixture[str],
        option: str,
        value: str,
        expected: str,
    ) -> None:
        """
        A negative count, or fewer than one producer, is argparse's exit 2.
        """
        with pytest.raises(SystemExit) as exited:
            main(["demo", option, value])

        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: cio-async demo")
        assert f"cio-async demo: error: {expected}\n" in err

    def test_events_without_people_are_refused(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """
        Events with no people to track them on exit 2 with the reason.
        """
        assert main(["demo", "--people", "0", "--events", "1"]) == 2
        assert "--events needs --people of 1 or more" in capsys.readouterr().err

    def test_a_small_run_agrees_with_the_fake(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """
        A demo of 3 people and 7 events with one producer delivers all 10.
        """
        code = main(["demo", "--people", "3", "--events", "7", "--producers", "1"])

        assert code == 0
        out = capsys.readouterr().out
        assert re.search(r"delivered +10 +\(the fake counted 10\)", out), out


class TestCheck:
    async def test_good_credentials_and_region_pass(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        check exits 0 when the fake accepts the credentials and the region matches.
        """
        code, out, err = await run(
            "-m", "cio_async.cli", "check", env=credentials(cio_fake)
        )

        assert code == 0, err
        assert "credentials accepted; the account is in region us" in out

    async def test_wrong_key_fails(self, cio_fake: FakeCustomerIO) -> None:
        """
        check exits 1 when the key is refused.
        """
        env = credentials(cio_fake, CUSTOMERIO_TRACK_API_KEY="wrong")

        code, _, err = await run("-m", "cio_async.cli", "check", env=env)

        assert code == 1
        assert "check failed" in err

    async def test_wrong_region_is_named(self) -> None:
        """
        check exits 1 and names the right region when CUSTOMERIO_REGION is wrong.
        """
        async with FakeCustomerIO(region="eu") as fake:
            code, _, err = await run(
                "-m", "cio_async.cli", "check", env=credentials(fake)
            )

        assert code == 1
        assert "set CUSTOMERIO_REGION=eu" in err


class TestFakeServer:
    async def test_chaos_options_reach_the_fake_and_retries_deliver(
        self, tmp_path: Path
    ) -> None:
        """
        A fake-server with 5xx chaos still gets every operation; SIGTERM stops it.
        """
        server = await Server.start(
            "-m",
            "cio_async.cli",
            "fake-server",
            "--port",
            "0",
            "--chaos-5xx",
            "0.5",
            "--seed",
            "3",
            "--latency",
            "0.001",
        )
        try:
            await server.wait_for_output("CUSTOMERIO_TRACK_URL=")
            await server.wait_for_output("faults:")
            url = re.search(r"CUSTOMERIO_TRACK_URL=(\S+)", server.output)
            assert url is not None
            path = ndjson(
                tmp_path / "ops.ndjson",
                [{"action": "event", "id": f"u{n}", "name": "e"} for n in range(3000)],
            )
            env = {
                "CUSTOMERIO_SITE_ID": "fake-site-id",
                "CUSTOMERIO_TRACK_API_KEY": "fake-track-api-key",
                "CUSTOMERIO_TRACK_URL": url.group(1),
            }

            code, out, err = await run(
                "-m", "cio_async.cli", "send", str(path), env=env
            )
            stopped = await server.stop(signal.SIGTERM)
        finally:
            await server.kill()

        assert code == 0, err
        assert "3,000 delivered, 0 failed" in out
        assert re.search(r"[1-9]\d* of them retries", out), out
        assert "faults: latency 0.001 s, 5xx 50%, seed 3" in server.output
        assert stopped == 0
        assert "3,000 items accepted" in server.output

    async def test_printed_lines_export_the_variables_in_a_shell(self) -> None:
        """
        What fake-server prints, run by sh, exports the variables of both APIs.
        """
        server = await Server.start(
            "-m", "cio_async.cli", "fake-server", "--port", "0", "--site-id", "my site"
        )
        try:
            await server.wait_for_output("export CUSTOMERIO_APP_URL=")
            printed = server.output
            stopped = await server.stop(signal.SIGTERM)
        finally:
            await server.kill()
        url = re.search(r"listening on (\S+)", printed)
        assert url is not None
        names = (
            "CUSTOMERIO_SITE_ID",
            "CUSTOMERIO_TRACK_API_KEY",
            "CUSTOMERIO_TRACK_URL",
            "CUSTOMERIO_APP_API_KEY",
            "CUSTOMERIO_APP_URL",
        )
        script = printed + "env\n"
        shell = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            script,
            env=environment(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

        out, err = await asyncio.wait_for(shell.communicate(), 30)

        assert shell.returncode == 0, err.decode()
        exported = dict(
            line.split("=", 1) for line in out.decode().splitlines() if "=" in line
        )
        assert {name: exported.get(name) for name in names} == {
            "CUSTOMERIO_SITE_ID": "my site",
            "CUSTOMERIO_TRACK_API_KEY": "fake-track-api-key",
            "CUSTOMERIO_TRACK_URL": url.group(1),
            "CUSTOMERIO_APP_API_KEY": "fake-app-api-key",
            "CUSTOMERIO_APP_URL": url.group(1),
        }
        assert stopped == 0

    def test_a_port_in_use_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """
        A port another socket listens on exits 2 with one line naming it.
        """
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]

            code = main(["fake-server", "--port", str(port)])

        assert code == 2
        assert capsys.readouterr().err == (
            f"cio-async: port {port} on 127.0.0.1 is in use; choose another with "
            "--port, or --port 0 for a free one\n"
        )

    def test_impossible_rates_are_refused(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """
        Chaos rates adding up to more than 1 exit 2 with the reason.
        """
        code = main(["fake-server", "--chaos-5xx", "0.8", "--chaos-429", "0.5"])

        assert code == 2
        assert "add up to at most 1" in capsys.readouterr().err


class TestHelp:
    def test_send_help_documents_every_action(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """
        send --help lists every action with its fields and the method it calls.
        """
        with pytest.raises(SystemExit) as exited:
            main(["send", "--help"])

        text = capsys.readouterr().out
        assert exited.value.code == 0
        for action, fields, method in FORMATS:
            assert f"{action} -> {method}()\n      {fields}" in text
        for option in ("--resume", "--dead-letter", "--progress", "--base-url"):
            assert option in text

    def test_fake_server_help_lists_every_fault(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """
        fake-server --help documents each fault option.
        """
        with pytest.raises(SystemExit):
            main(["fake-server", "--help"])

        text = capsys.readouterr().out
        for option in (
            "--latency",
            "--chaos-5xx",
            "--chaos-429",
            "--chaos-reset",
            "--chaos-no-answer",
            "--max-body-bytes",
            "--seed",
        ):
            assert option in text
