"""The file outbox: one parseable RFC 5322 .eml per message, written atomically."""

from __future__ import annotations

import asyncio
import logging
import stat
import threading
from pathlib import Path

import pytest

from gql_users.mail import FileBackend, compose_message, mail_backend, read_outbox, send_quietly
from gql_users.mail.outbox import outbox_paths
from gql_users.settings import Settings
from tests.mail.helpers import plain_text


async def test_a_message_becomes_one_parseable_eml_file_in_a_created_directory(
    settings: Settings,
) -> None:
    mail_dir = Path(settings.mail_dir)
    assert not mail_dir.exists()
    message = compose_message(
        settings,
        to="bob@example.com",
        subject="Verify new email address.",
        text="Follow the link.\n",
        html="<p>Follow the <a href='x'>link</a>.</p>",
    )

    await mail_backend(settings).send(message)

    [path] = list(mail_dir.iterdir())
    assert path.suffix == ".eml"
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, as on the wire
    [parsed] = read_outbox(mail_dir)
    assert parsed["To"] == "bob@example.com"
    assert parsed["From"] == settings.mail_from
    assert parsed["Subject"] == "Verify new email address."
    assert parsed["Message-ID"] == message["Message-ID"]
    assert parsed["Date"] is not None
    assert plain_text(parsed) == "Follow the link.\n"
    html_part = parsed.get_body(preferencelist=("html",))
    assert html_part is not None and "link</a>" in html_part.get_content()


async def test_files_are_private_to_the_service_user(settings: Settings) -> None:
    path = await FileBackend(Path(settings.mail_dir)).write(
        compose_message(settings, to="a@example.com", subject="s", text="code\n")
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_concurrent_messages_get_unique_files_and_leave_no_temporary_files(
    settings: Settings,
) -> None:
    backend = FileBackend(Path(settings.mail_dir))
    messages = [
        compose_message(settings, to=f"user{n}@example.com", subject=f"n{n}", text=f"{n}\n")
        for n in range(40)
    ]

    await asyncio.gather(*(backend.send(message) for message in messages))

    names = sorted(path.name for path in Path(settings.mail_dir).iterdir())
    assert len(names) == 40 and all(name.endswith(".eml") for name in names)
    subjects = sorted(message["Subject"] for message in read_outbox(settings.mail_dir))
    assert subjects == sorted(f"n{n}" for n in range(40))


async def test_the_outbox_is_read_oldest_first(settings: Settings) -> None:
    backend = FileBackend(Path(settings.mail_dir))
    for n in range(5):
        await backend.send(compose_message(settings, to="a@example.com", subject=f"{n}", text="x"))

    assert [message["Subject"] for message in read_outbox(settings.mail_dir)] == list("01234")


def test_reading_a_missing_outbox_gives_no_messages(tmp_path: Path) -> None:
    assert read_outbox(tmp_path / "nowhere") == []


def test_hidden_temporary_files_are_not_part_of_the_outbox(tmp_path: Path) -> None:
    (tmp_path / ".20250101T000000000000Z-abc.eml.tmp").write_bytes(b"Subject: half")
    (tmp_path / ".hidden.eml").write_bytes(b"Subject: hidden\r\n\r\nx")
    (tmp_path / "20250101T000000000000Z-def.eml").write_bytes(b"Subject: whole\r\n\r\nx")

    assert [message["Subject"] for message in read_outbox(tmp_path)] == ["whole"]


async def test_a_concurrent_reader_never_sees_a_half_written_message(settings: Settings) -> None:
    """Large messages are written while a thread keeps reading the outbox: every message it
    parses ends with the last line that was written."""
    backend = FileBackend(Path(settings.mail_dir))
    body = "x" * 76 + "\n"
    text = body * 4000 + "END OF MESSAGE\n"  # about 300 kB each
    stop = threading.Event()
    incomplete: list[str] = []
    reads = 0

    def keep_reading() -> None:
        nonlocal reads
        while not stop.is_set():
            for message in read_outbox(settings.mail_dir):
                if not plain_text(message).endswith("END OF MESSAGE\n"):
                    incomplete.append(message["Subject"])
            reads += 1

    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        for n in range(15):
            message = compose_message(settings, to="a@example.com", subject=f"{n}", text=text)
            await backend.send(message)
    finally:
        stop.set()
        reader.join()

    assert reads > 0
    assert incomplete == []
    assert len(read_outbox(settings.mail_dir)) == 15


async def test_an_unwritable_outbox_raises_from_the_backend_and_is_logged_by_send_quietly(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the outbox directory should be")
    backend = FileBackend(blocker / "mail")
    message = compose_message(settings, to="a@example.com", subject="Verify", text="secret-code\n")

    with pytest.raises(OSError):
        await backend.send(message)
    with caplog.at_level(logging.ERROR, logger="gql_users.mail"):
        assert await send_quietly(backend, message) is False

    assert "not sent by the file backend" in caplog.text
    assert "secret-code" not in caplog.text
    assert outbox_paths(blocker) == []
