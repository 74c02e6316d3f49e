"""Reading the file outbox back: for tests, the CLI and anyone developing without an SMTP server."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from gql_users.mail.backends import EML_SUFFIX


def outbox_paths(mail_dir: str | Path) -> list[Path]:
    """The delivered ``.eml`` files, oldest first; hidden temporary (half-written) files are not."""
    directory = Path(mail_dir)
    if not directory.is_dir():
        return []
    return sorted(
        path
        for path in directory.iterdir()
        if path.name.endswith(EML_SUFFIX) and not path.name.startswith(".")
    )


def read_outbox(mail_dir: str | Path) -> list[EmailMessage]:
    """Every message in the outbox, oldest first; [] when the directory does not exist."""
    parser = BytesParser(_class=EmailMessage, policy=policy.default)
    messages: list[EmailMessage] = []
    for path in outbox_paths(mail_dir):
        with path.open("rb") as stream:
            messages.append(parser.parse(stream))
    return messages
