"""Request parsing for the REST shim: query multi-dicts and the three body encodings.

The generated client sends JSON, ``application/x-www-form-urlencoded`` or ``multipart/form-data``
(docs/rest.md#request-bodies); all three become one plain dict, plus the uploaded image if any.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiMapping

from gql_users.accounts.errors import BadRequest, ValidationFailed
from gql_users.accounts.images import KEEP_IMAGE, MAX_IMAGE_BYTES, ImageChange, UploadedImage
from gql_users.http.responses import read_json_object


def query_lists(query: MultiMapping[str]) -> dict[str, list[str]]:
    """``?a=1&a=2&b=3`` -> ``{"a": ["1", "2"], "b": ["3"]}``, the shape the core parsers take."""
    lists: dict[str, list[str]] = {}
    for key, value in query.items():
        lists.setdefault(key, []).append(value)
    return lists


def requested_fields(query: Mapping[str, Sequence[str]]) -> list[str]:
    """The ``field`` parameter: each value is one field name, as in Waldur, so several fields
    take repeated keys and ``?field=a,b`` names one (unknown) field
    (docs/api-differences.md#one-field-name-per-field-parameter)."""
    return list(query.get("field", []))


@dataclass
class Body:
    data: dict[str, Any] = field(default_factory=dict)
    image: ImageChange = KEEP_IMAGE


async def read_body(request: web.Request) -> Body:
    """Parse a JSON, form or multipart body. An empty body is an empty dict.

    Raises:
        BadRequest: malformed JSON, or JSON that is not an object.
        ValidationFailed: an image part that is not a file.
    """
    if request.content_type == "multipart/form-data":
        return await _read_multipart(request)
    if request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        return Body(data={key: _form_value(form.getall(key)) for key in form})
    data = await read_json_object(request)
    body = Body(data=data)
    if "image" in data:
        if data.pop("image") in (None, ""):
            body.image = None
        else:
            raise ValidationFailed(
                {
                    "image": [
                        "The submitted data was not a file. Check the encoding type on the form."
                    ]
                }
            )
    return body


def _form_value(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


async def _read_multipart(request: web.Request) -> Body:
    body = Body()
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            if part.name == "image":
                body.image = await _read_image_part(part)
                continue
            value = (await part.read(decode=True)).decode(part.get_charset("utf-8"), "replace")
            if part.name in body.data:
                existing = body.data[part.name]
                body.data[part.name] = [
                    *(existing if isinstance(existing, list) else [existing]),
                    value,
                ]
            else:
                body.data[part.name] = value
    # HttpProcessingError: a part's headers are malformed (aiohttp parses them as HTTP headers)
    except (ValueError, AssertionError, LookupError, HttpProcessingError) as error:
        raise BadRequest(f"Multipart form parse error - {error}") from None
    return body


async def _read_image_part(part: BodyPartReader) -> UploadedImage | None:
    if part.filename is None:
        text = (await part.read(decode=True)).decode("utf-8", "replace").strip()
        if text in ("", "None", "null"):
            return None
        raise ValidationFailed(
            {"image": ["The submitted data was not a file. Check the encoding type on the form."]}
        )
    data = bytearray()
    while chunk := await part.read_chunk():
        data.extend(chunk)
        if len(data) > MAX_IMAGE_BYTES:
            raise ValidationFailed(
                {"image": [f"The image must be at most {MAX_IMAGE_BYTES} bytes."]}
            )
    if not data:
        raise ValidationFailed({"image": ["The submitted file is empty."]})
    return UploadedImage(filename=part.filename, data=bytes(data))


def body_fields(request: web.Request) -> Callable[[], Awaitable[Mapping[str, Any]]]:
    """An ``InputReader`` of the request body's fields (any of the three encodings), for an
    operation that reads its input once its checks have passed."""

    async def read() -> Mapping[str, Any]:
        return (await read_body(request)).data

    return read


def last_query_value(request: web.Request, name: str) -> str | None:
    """The last value of a query parameter (Django's ``QueryDict.get``), None when absent."""
    values = request.query.getall(name, [])
    return values[-1] if values else None
