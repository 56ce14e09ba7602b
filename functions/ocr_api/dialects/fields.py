"""Reading an API Gateway proxy request into fields, whatever shape the client chose, and the
field readers every dialect shares.

Clients send the same fields as multipart/form-data, as a urlencoded form, as JSON, or send
the image itself as the body. This module reads those shapes, and the kinds of value dialects
have in common (a key, a flag, a page number, base64 images); which field names mean what is
each dialect's business.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass
from urllib.parse import parse_qsl

import multipart

from ocr_api.errors import EmptyImage, InvalidRequest, UnsupportedContentType, UnsupportedImage

ACCEPTED_BODIES = (
    "multipart/form-data, application/x-www-form-urlencoded, application/json, "
    "or the image itself as image/* or application/octet-stream"
)
# Every field a dialect reads fits many times over: at most 10 images and a dozen options.
# Bounding the count keeps every later step over the fields (checks, messages) cheap.
MAX_FIELDS = 64
# Longest page number read: PDFium counts pages in a C int.
_MAX_PAGE_DIGITS = 9
# Unknown names are listed for the client, but only so many and only so long.
_NAMES_SHOWN = 5
_NAME_CHARACTERS_SHOWN = 40
_DATA_URI = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(;[^;,]*)*),(?P<data>.*)$", re.DOTALL)
_NOT_BASE64 = re.compile(r"[\r\n\t]")
# What a JSON body of MAX_FIELDS fields can hold: a string per name and value, and the commas,
# braces and brackets between them (numbers and booleans each need a comma too), at most a list
# inside the object. Counted before parsing, and only until a bound is passed: a body of a
# million tiny objects is refused in microseconds, where parsing it took seconds and hundreds of
# megabytes.
# A string left open runs to the end of the body (the parser refuses it later), so that no
# quote is ever scanned from twice.
_JSON_TOKENS = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)|[,{\[\]}]', re.DOTALL)
_MAX_JSON_TOKENS = 6 * MAX_FIELDS
_MAX_JSON_DEPTH = 32


@dataclass(frozen=True)
class Field:
    name: str
    value: bytes
    # Multipart parts carry bytes as sent; form and JSON fields are always text.
    in_multipart: bool = False
    filename: str | None = None

    @property
    def text(self) -> str:
        try:
            return self.value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest(f"the {self.name} field is not UTF-8 text") from None


@dataclass(frozen=True)
class ReceivedRequest:
    query: dict[str, list[str]]
    fields: tuple[Field, ...]
    # The body, when the body is the image itself.
    image_body: bytes | None

    def field_names(self) -> set[str]:
        return {field.name for field in self.fields}

    def fields_named(self, name: str) -> list[Field]:
        return [field for field in self.fields if field.name == name]

    def single_text(self, name: str) -> str | None:
        """The body field's one value, or None when absent; given twice is a bad request."""
        values = [field.text for field in self.fields_named(name)]
        if len(values) > 1:
            raise InvalidRequest(f"{name} was given {len(values)} times")
        return values[0] if values else None

    def texts_named(self, name: str) -> list[str]:
        """Every value given for ``name``, from the query string and the body alike."""
        return self.query.get(name, []) + [field.text for field in self.fields_named(name)]


def read_request(event) -> ReceivedRequest:
    """Reads a Powertools ``APIGatewayProxyEvent``."""
    query = dict(event.multi_value_query_string_parameters or {})
    if not query and event.query_string_parameters:
        query = {name: [value] for name, value in event.query_string_parameters.items()}
    body = body_bytes(event)
    content_type = event.headers.get("content-type") or ""
    media_type, options = multipart.parse_options_header(content_type)
    media_type = media_type.lower()

    if not body:
        _check_field_count(_count(query))
        return ReceivedRequest(query, (), None)
    if media_type == "multipart/form-data":
        fields = _multipart_fields(body, options.get("boundary"))
    elif media_type == "application/x-www-form-urlencoded":
        fields = _form_fields(body)
    elif media_type == "application/json":
        fields = _json_fields(body)
    elif media_type.startswith("image/") or media_type == "application/octet-stream":
        _check_field_count(_count(query))
        return ReceivedRequest(query, (), body)
    else:
        shown = media_type or "no Content-Type"
        raise UnsupportedContentType(f"a body sent as {shown} cannot be read; send {ACCEPTED_BODIES}")
    _check_field_count(_count(query) + len(fields))
    return ReceivedRequest(query, fields, None)


def unknown_fields(names: Iterable[str], noun: str = "field") -> str:
    """``unknown field(s): a, b, ...``: the first few names, each cut short, for a 400."""
    names = sorted(names)
    shown = [
        name if len(name) <= _NAME_CHARACTERS_SHOWN else name[:_NAME_CHARACTERS_SHOWN] + "..."
        for name in names[:_NAMES_SHOWN]
    ]
    more = f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else ""
    return f"unknown {noun}(s): {', '.join(shown)}{more}"


def refuse_unknown_fields(
    request: ReceivedRequest,
    query_names: Set[str],
    body_names: Set[str],
    hint: str = "",
    error: type[InvalidRequest] = InvalidRequest,
    noun: str = "field",
) -> None:
    """Refuses a request naming a field outside ``query_names`` (in the query string) or
    ``body_names`` (in the body), listing them, then ``hint``."""
    unknown = (set(request.query) - query_names) | (request.field_names() - body_names)
    if unknown:
        raise error(unknown_fields(unknown, noun) + hint)


def one_key(values: Iterable[str], name: str) -> str | None:
    """The key, wherever it was given (blank is not given); places that disagree are a bad request."""
    given = {value.strip() for value in values if value.strip()}
    if len(given) > 1:
        raise InvalidRequest(f"{name} was given more than once with different values")
    return given.pop() if given else None


def flag(request: ReceivedRequest, name: str, default: bool) -> bool:
    """A true/false field (any case; JSON booleans read as their text); ``default`` when absent."""
    text = request.single_text(name)
    if text is None:
        return default
    text = text.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise InvalidRequest(f"{name} must be true or false, not {text[:40]!r}")


def pdf_page(request: ReceivedRequest, name: str, blank_is_absent: bool = False) -> int:
    """The PDF page to read, from 1; the first when the field is absent."""
    text = request.single_text(name)
    if blank_is_absent and text is not None and not text.strip():
        text = None
    return page_number(text, name) or 1


def check_image_count(count: int, max_images: int) -> None:
    if count > max_images:
        raise InvalidRequest(f"{count} images were sent; at most {max_images} per request")


def page_number(text: str | None, name: str) -> int | None:
    """A page number from 1 in ASCII digits, or None when the field is absent."""
    if text is None:
        return None
    text = text.strip()
    # isdigit() alone holds for superscripts and other digits int() does not read, and
    # int() of thousands of digits is refused by Python itself.
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_PAGE_DIGITS) or int(text) < 1:
        raise InvalidRequest(f"{name} must be a page number from 1, not {text[:40]!r}")
    return int(text)


def header_values(event, name: str) -> list[str]:
    """Every value of header ``name`` (any case), however often the client sent it."""
    values = [
        value
        for header, header_values in (event.multi_value_headers or {}).items()
        if header.lower() == name
        for value in header_values
    ]
    if not values and event.headers.get(name) is not None:
        values = [event.headers.get(name)]
    return values


def decode_base64_image(text: str, field_name: str) -> bytes:
    """Plain, URL-safe or data-URI base64, tolerant of line breaks and form-mangled '+'."""
    text = text.strip()
    match = _DATA_URI.match(text)
    if match:
        declared = match["type"].strip().lower()
        # A PDF is let through: endpoints that read PDFs take it, the others refuse its bytes.
        if declared and not declared.startswith("image/") and declared != "application/pdf":
            raise UnsupportedImage(f"the {field_name} data URI declares {declared}, not an image")
        if ";base64" not in match["params"].lower():
            raise InvalidRequest(f"the {field_name} data URI must be base64-encoded")
        text = match["data"]
    # Base64 has no spaces: a space is a '+' that a urlencoded form decoded.
    text = _NOT_BASE64.sub("", text).replace(" ", "+").replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"the {field_name} field is not valid base64") from None
    if not data:
        raise EmptyImage(f"the {field_name} field is empty")
    return data


def body_bytes(event) -> bytes:
    """The body's bytes as the client sent them."""
    body = event.body
    if not body:
        return b""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("the request body is not valid base64") from None
    return body.encode("utf-8")


def _count(query: dict[str, list[str]]) -> int:
    return sum(len(values) for values in query.values())


def _check_field_count(count: int) -> None:
    if count > MAX_FIELDS:
        raise InvalidRequest(
            f"the request has more than {MAX_FIELDS} fields (query and body together); at most {MAX_FIELDS} are read"
        )


def _multipart_fields(body: bytes, boundary: str | None) -> tuple[Field, ...]:
    if not boundary:
        raise InvalidRequest("the multipart Content-Type has no boundary")
    # Each part begins with the delimiter, and the last one closes the body: counted before
    # parsing, so the refusal is ours rather than the parser's.
    _check_field_count(body.count(b"--" + boundary.encode("latin-1", "replace")) - 1)
    parser = multipart.MultipartParser(
        io.BytesIO(body),
        boundary,
        content_length=len(body),
        strict=True,
        part_limit=MAX_FIELDS,
        memory_limit=len(body) + 1,
        spool_limit=len(body) + 1,
    )
    try:
        parts = list(parser)
    except multipart.MultipartError as err:
        # The parser's reason is a fixed phrase; its other arguments may hold the offending
        # bytes and an exception, which are not for the client.
        reason = err.args[0] if err.args and isinstance(err.args[0], str) else "unreadable"
        raise InvalidRequest(f"the multipart body is malformed: {reason}") from None
    fields = tuple(
        Field(part.name or "", part.raw, in_multipart=True, filename=part.filename or None) for part in parts
    )
    if any(not field.name for field in fields):
        raise InvalidRequest("a multipart part has no field name")
    return fields


def _form_fields(body: bytes) -> tuple[Field, ...]:
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidRequest("the urlencoded form body is malformed") from None
    # Counted before parsing: parse_qsl's own max_num_fields raises a bare ValueError.
    _check_field_count(text.count("&") + 1)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InvalidRequest("the urlencoded form body is malformed") from None
    return tuple(Field(name, value.encode("utf-8")) for name, value in pairs)


def _json_fields(body: bytes) -> tuple[Field, ...]:
    depth = 0
    for count, token in enumerate(_JSON_TOKENS.finditer(body), start=1):
        if token[0] in (b"{", b"["):
            depth += 1
            if depth > _MAX_JSON_DEPTH:
                raise InvalidRequest("the JSON body is nested too deeply")
        elif token[0] in (b"}", b"]"):
            depth -= 1
        if count > _MAX_JSON_TOKENS:
            raise InvalidRequest(
                f"the JSON body has more than {MAX_FIELDS} fields' worth of values; "
                f"at most {MAX_FIELDS} fields are read"
            )
    try:
        document = json.loads(body, object_pairs_hook=_object_without_repeated_names)
    except RecursionError:
        raise InvalidRequest("the JSON body is nested too deeply") from None
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the JSON body is malformed") from None
    if not isinstance(document, dict):
        raise InvalidRequest("the JSON body must be an object of fields")
    _check_field_count(sum(len(value) if isinstance(value, list) else 1 for value in document.values()))
    fields = []
    for name, value in document.items():
        _json_text_bytes(name)  # a name must be text too
        # A list is the field given several times; numbers and booleans read as their text.
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif isinstance(item, (int, float)):
                item = str(item)
            if not isinstance(item, str):
                raise InvalidRequest(f"the JSON field {name} must be a string, a number, a boolean or a list of those")
            fields.append(Field(name, _json_text_bytes(item)))
    return tuple(fields)


def _json_text_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A JSON escape can spell half of a surrogate pair ("\ud800"), which is no character.
        raise InvalidRequest("the JSON body holds a lone surrogate escape, which is not text") from None


def _object_without_repeated_names(pairs: list[tuple[str, object]]) -> dict:
    # Called for every object, nested ones too: an object with more names than a request has
    # fields is refused before anything else looks at them.
    _check_field_count(len(pairs))
    # json.loads would keep the last of a repeated name and drop the others without a word;
    # a field meant several times is a list.
    repeated = [name for name, count in Counter(name for name, _ in pairs).items() if count > 1]
    if repeated:
        raise InvalidRequest(
            f"the JSON field(s) {', '.join(sorted(repeated))} appear more than once; send a list instead"
        )
    return dict(pairs)
