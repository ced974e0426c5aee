"""An OTLP/HTTP metrics receiver: ``POST /v1/metrics`` as an ASGI (Starlette) app.

Both encodings of the OTLP/HTTP spec: ``application/x-protobuf`` and ``application/json``,
plain or ``Content-Encoding: gzip``. What the data points mean is :mod:`.otlp_points`.

- A payload that does not decode answers 400 with the reason (a ``google.rpc.Status`` in the
  request's encoding) and is dead-lettered as one :class:`Rejected`.
- A payload that decodes answers 200; data points the rules refuse are dead-lettered and
  reported in ``partial_success`` (their number and the first reason).
- A body past ``max_body_bytes`` (before or after gunzip) answers 413; another media type or
  encoding 415; both are dead-lettered too (without the body past the limit).
- When the caller's bounded queue is full the answer is 503 with ``Retry-After`` and nothing
  is kept: OTLP exporters retry, and memory does not grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from streams.ingest.bounded import TooLarge, gunzip
from streams.ingest.mapping import Rules
from streams.ingest.otlp_points import request_samples
from streams.ingest.samples import Rejected, Sample, Tally

PROTOBUF, JSON = "application/x-protobuf", "application/json"
MAX_BODY_BYTES = 4 * 1024 * 1024
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAVAILABLE = 3, 8, 14


class PayloadError(ValueError):
    """A request body that is not an ``ExportMetricsServiceRequest``; the message says why."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


def decode_request(body: bytes, media_type: str) -> ExportMetricsServiceRequest:
    """``body`` decoded as protobuf or OTLP JSON, or :class:`PayloadError` saying why not."""
    try:
        if media_type == PROTOBUF:
            return ExportMetricsServiceRequest.FromString(body)
        parsed = _without_exemplars(json.loads(body))
        if not isinstance(parsed, dict):
            raise PayloadError("JSON body is not an object")
        return json_format.ParseDict(parsed, ExportMetricsServiceRequest(), ignore_unknown_fields=True)
    except DecodeError as exc:
        raise PayloadError(f"not an ExportMetricsServiceRequest: {exc}") from None
    except (json_format.ParseError, ValueError, RecursionError) as exc:
        raise PayloadError(f"not OTLP JSON: {str(exc)[:300] or type(exc).__name__}") from None


def _without_exemplars(value: Any) -> Any:
    """OTLP JSON spells exemplars' trace ids in hex, which protobuf's JSON mapping reads as base64;
    exemplars carry nothing a sample needs, so they are left out before parsing."""
    if isinstance(value, dict):
        return {k: _without_exemplars(v) for k, v in value.items() if k != "exemplars"}
    if isinstance(value, list):
        return [_without_exemplars(v) for v in value]
    return value


def status_body(code: int, message: str, media_type: str) -> bytes:
    """A ``google.rpc.Status`` (code, message) in ``media_type``, as OTLP/HTTP answers errors."""
    if media_type == JSON:
        return json.dumps({"code": code, "message": message}).encode()
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def otlp_app(rules: Rules, out: asyncio.Queue[list[Sample | Rejected]], *,
             max_body_bytes: int = MAX_BODY_BYTES, clock: Callable[[], float] = time.time,
             tally: Tally | None = None) -> Starlette:
    """The receiver: each accepted request's samples and rejections go to ``out`` as one list."""
    tally = tally if tally is not None else Tally()

    async def metrics(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        source = f"otlp:{request.client.host if request.client else 'unknown'}"
        answer = PROTOBUF if media != JSON else JSON
        try:
            body = await _body(request, media, max_body_bytes)
        except PayloadError as exc:
            return _refuse(out, source, exc, b"", answer)
        try:
            payload = decode_request(body, media)
        except PayloadError as exc:
            return _refuse(out, source, exc, body, answer)
        items = list(request_samples(payload, rules, source=source, now_s=clock(), tally=tally))
        try:
            out.put_nowait(items)
        except asyncio.QueueFull:
            return Response(status_body(_UNAVAILABLE, "receiver busy; retry", answer), 503,
                            headers={"retry-after": "1"}, media_type=answer)
        return Response(_success(items, answer), 200, media_type=answer)

    return Starlette(routes=[Route("/v1/metrics", metrics, methods=["POST"])])


async def _body(request: Request, media: str, limit: int) -> bytes:
    if media not in (PROTOBUF, JSON):
        raise PayloadError(f"content-type {media!r}: expected {PROTOBUF} or {JSON}", 415)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise PayloadError(f"content-encoding {encoding!r}: expected gzip or none", 415)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadError(f"body larger than {limit} bytes", 413)
        chunks.append(chunk)
    body = b"".join(chunks)
    if encoding != "gzip":
        return body
    try:
        return gunzip(body, limit)
    except TooLarge as exc:
        raise PayloadError(f"body {exc}", 413) from None
    except ValueError as exc:
        raise PayloadError(str(exc)) from None


def _refuse(out: asyncio.Queue[list[Sample | Rejected]], source: str, exc: PayloadError, raw: bytes,
            answer: str) -> Response:
    with contextlib.suppress(asyncio.QueueFull):  # the sender is told why in the answer either way
        out.put_nowait([Rejected(source, str(exc), raw)])
    code = _RESOURCE_EXHAUSTED if exc.status == 413 else _INVALID_ARGUMENT
    return Response(status_body(code, str(exc), answer), exc.status, media_type=answer)


def _success(items: list[Sample | Rejected], media: str) -> bytes:
    refused = [i for i in items if isinstance(i, Rejected)]
    response = ExportMetricsServiceResponse()
    if refused:
        response.partial_success.rejected_data_points = len(refused)
        response.partial_success.error_message = refused[0].reason
    if media == JSON:
        return json_format.MessageToJson(response, indent=None).encode()
    return response.SerializeToString()
