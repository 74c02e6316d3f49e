"""User images: checked by content, stored under the media directory as
``user/<uuid>-<random>.<ext>``."""

from __future__ import annotations

import enum
import os
import secrets
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from gql_users.accounts.errors import ValidationFailed
from gql_users.settings import Settings

INVALID_IMAGE = (
    "Upload a valid image. The file you uploaded was either not an image or a corrupted image."
)
MAX_IMAGE_BYTES = 5 * 1024 * 1024

# The formats browsers show, recognised by their magic numbers (no imaging library needed).
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"WEBP", 8, "webp"),
)


@dataclass(frozen=True, slots=True)
class UploadedImage:
    filename: str
    data: bytes


class Keep(enum.Enum):
    """The request says nothing about the image: leave it as it is."""

    IMAGE = "keep"


KEEP_IMAGE = Keep.IMAGE
ImageChange = UploadedImage | None | Keep
"""A new image, None to remove the current one, or ``KEEP_IMAGE``."""


def image_extension(data: bytes) -> str | None:
    for signature, offset, extension in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            if extension == "webp" and not data.startswith(b"RIFF"):
                continue
            return extension
    return None


def store_image(settings: Settings, user_uuid: uuid.UUID, image: UploadedImage) -> str:
    """Write the image under a name of its own and return its path relative to the media
    directory (``user/<uuid>-<random>.<ext>``).

    A new name for every upload, so a file some row points at is never overwritten; the
    caller removes the replaced file once its write has committed, or this one when it has
    not (docs/hardening.md#races).

    Raises:
        ValidationFailed: ``{"image": [...]}`` for an empty, oversized or non-image file.
    """
    if len(image.data) > MAX_IMAGE_BYTES:
        raise ValidationFailed({"image": [f"The image must be at most {MAX_IMAGE_BYTES} bytes."]})
    extension = image_extension(image.data)
    if not image.data or extension is None:
        raise ValidationFailed({"image": [INVALID_IMAGE]})
    relative = f"user/{user_uuid.hex}-{secrets.token_hex(8)}.{extension}"
    target = Path(settings.media_dir) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    with os.fdopen(handle, "wb") as output:
        output.write(image.data)
    os.replace(temporary, target)  # 64 random bits: no other upload has this name
    return relative


def remove_image(settings: Settings, relative: str | None) -> None:
    if not relative:
        return
    path = (Path(settings.media_dir) / relative).resolve()
    if Path(settings.media_dir).resolve() in path.parents:
        path.unlink(missing_ok=True)


def image_url(settings: Settings, relative: str | None) -> str | None:
    return f"{settings.public_url}media/{relative}" if relative else None
