"""Property tests: whatever a server sends, the SDK answers with a value or with its own error.

Each test draws hostile input (bytes, JSON, near-valid predictions, event streams, compressed
bodies, headers, ids and URLs) and checks that the code under test returns a value that keeps
its promises, or raises a `ReplicateHomeError` (a `ValueError` for the pure checks of
`_untrusted`, their documented contract). Anything else escaping, such as a `KeyError`, a
`zlib.error` or a `RecursionError`, fails the test.

The profiles are reproducible (derandomized) but "thorough". "dev", the default, draws a
quarter of the examples of "ci", which `.ci/run` uses; set ``HYPOTHESIS_PROFILE=thorough`` for a
long, randomized search. Cheap checks get more examples
than end-to-end flows (see `examples`).
"""

from __future__ import annotations

import base64
import email.utils
import gzip
import hashlib
import hmac
import itertools
import json
import math
import os
import re
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import JsonValue, ValidationError

from replicatehome._body import PIECE, BodyDecoder
from replicatehome._lifecycle import (
    Close,
    Emit,
    Finished,
    Flow,
    Lifecycle,
    Limits,
    Read,
    Send,
    Sleep,
    Tracked,
    resume,
)
from replicatehome._models import PredictionSnapshot, PredictionStatus
from replicatehome._protocols._base import BaseProtocol
from replicatehome._protocols.homepage import HomepageProtocol
from replicatehome._protocols.official import OfficialProtocol
from replicatehome._protocols.sse import EventTooLargeError, ServerSentEvent, SSEDecoder
from replicatehome._responses import error_for_status
from replicatehome._retry import RetryPolicy, retry_after
from replicatehome._untrusted import (
    MAX_URL_LENGTH,
    REPLICATE_HOSTS,
    Trust,
    check_prediction_id,
    is_image,
    parse_url,
)
from replicatehome.catalog import MODELS
from replicatehome.cli._commands import default_name
from replicatehome.errors import (
    APIStatusError,
    ReplicateHomeError,
    ResponseTooLargeError,
    ResponseValidationError,
    WebhookVerificationError,
    status_error_class,
)
from replicatehome.results import build_result
from replicatehome.webhooks import verify

from ..helpers import PNG, FakeClock

settings.register_profile(
    "ci",
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", settings.get_profile("ci"), max_examples=100)
settings.register_profile(
    "thorough",
    max_examples=5_000,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)


def examples(weight: float) -> settings:
    """The loaded profile with `weight` times its examples.

    Drawing an example costs about a millisecond whatever the check, so cheap pure checks get
    several times the profile's count and end-to-end flows a fraction of it.
    """
    base = settings.get_profile(PROFILE).max_examples
    return settings(max_examples=max(5, round(base * weight)))


T = TypeVar("T")

BASE_URL = "http://h.test"
API_URL = "https://api.replicate.com"
SELF_HOSTED_URL = "http://127.0.0.1:8000"
TOKEN = "r8_property"
HEADERS = httpx.Headers({"User-Agent": "t", "Accept-Encoding": "gzip, deflate"})
REQUEST = httpx.Request("GET", f"{BASE_URL}/api/poll?id=p1")
# Where a redirect may lead: the longest URL followed.
FAR_REQUEST = httpx.Request("GET", f"{BASE_URL}/{'x' * (MAX_URL_LENGTH - 20)}")
requests = st.sampled_from([REQUEST, FAR_REQUEST])
FORBIDDEN_IN_IDS = re.compile(r"[/.%?#\s\x00-\x1f\x7f]")
IMAGE_NAME = re.compile(r"[A-Za-z0-9_-]+\.(png|jpg|jpeg|webp|gif)")
OFFICIAL = OfficialProtocol(API_URL, HEADERS, TOKEN, Trust.of(API_URL, REPLICATE_HOSTS))
PROTOCOLS = (
    HomepageProtocol(BASE_URL, HEADERS),
    OFFICIAL,
    OfficialProtocol(SELF_HOSTED_URL, HEADERS, TOKEN, Trust.of(SELF_HOSTED_URL, ())),
)
MAX_MESSAGE = 2000
"""The longest error message a server's answer may lead to."""
UNCAPPED = 1 << 20


def sdk_value(call: Callable[[], T]) -> T | None:
    """What `call` returns, or ``None`` when it raised an SDK error; nothing else may escape."""
    try:
        return call()
    except ReplicateHomeError:
        return None


def checked(call: Callable[[], T]) -> T | None:
    """What a pure check returns, or ``None`` when it refused with `ValueError`."""
    try:
        return call()
    except ValueError:
        return None


def split(data: bytes, cuts: bytes) -> list[bytes]:
    """`data` cut where the 16-bit numbers in `cuts` point, empty chunks included.

    One drawn byte string stands for all the cut points: a draw costs more than its size.
    """
    points = sorted(
        int.from_bytes(cuts[i : i + 2], "big") % (len(data) + 1) for i in range(0, len(cuts), 2)
    )
    bounds = [0, *points, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


def pieces_of(alphabet: Sequence[bytes], max_size: int) -> st.SearchStrategy[bytes]:
    """Byte strings made of `alphabet`'s pieces, from a single draw of one byte per piece."""
    return st.binary(max_size=max_size).map(
        lambda raw: b"".join(alphabet[byte % len(alphabet)] for byte in raw)
    )


def header_bytes(value: str | bytes) -> bytes:
    """A header value as the bytes a server put on the wire."""
    return value if isinstance(value, bytes) else value.encode()


def dumps(value: object) -> bytes:
    """JSON as a server might send it, NaN included."""
    return json.dumps(value).encode()


def nest(depth: int) -> JsonValue:
    """A list `depth` lists deep."""
    value: JsonValue = []
    for _ in range(depth):
        value = [value]
    return value


# --- strategies -----------------------------------------------------------------------------

cuts = st.binary(max_size=16)

json_scalars: st.SearchStrategy[JsonValue] = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values: st.SearchStrategy[JsonValue] = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
# A value of the wrong type for a field, cheaper to draw than any JSON at all.
wrong_types = st.sampled_from([None, 0, -1, 2**70, 1.5, True, "", "x", [], ["x"], {}, {"a": 1}])
nested_json = st.builds(
    lambda depth, kind: kind[0] * depth + kind[1] + kind[2] * depth,
    st.integers(0, 5000),
    st.sampled_from([("[", "", "]"), ('{"a":', "1", "}")]),
)

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# One draw: a leading "_" or "-" becomes a letter, so the id still starts with one.
valid_ids = st.text(ALNUM + "_-", min_size=1, max_size=100).map(
    lambda text: text if text[0] in ALNUM else f"a{text[1:]}"
)
hostile_ids = st.sampled_from(
    [
        *[
            "",
            "../x",
            "a/b",
            "a.b",
            "a%2F",
            "a?b",
            "a#b",
            "a b",
            "a\n",
            "a\r\n",
            "a\x00",
            "a" * 101,
        ],
        *["\uff41", "\u0661\u0662", "\u00df", "a\u2028", "a\ufeff", "-a", "_a", "a$", "a\\b"],
    ]
)
ids = valid_ids | hostile_ids | st.text(max_size=110)

statuses = st.sampled_from([status.value for status in PredictionStatus] + ["aborted", ""])

HOST_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.-"
hosts = st.sampled_from(
    [
        *[
            "api.replicate.com",
            "API.Replicate.COM",
            "stream.replicate.com",
            "x.svc.y.replicate.net",
        ],
        *["replicate.com", "evilreplicate.com", "replicate.com.evil.test", "api.replicate.com."],
        *["h.test", "127.0.0.1", "[::1]", "xn--nxasmq6b.com", "домен.рф", "a..b", ""],
        "é.replicate.com",
    ]
) | st.text(HOST_CHARS, min_size=1, max_size=20)
starts = [
    scheme + userinfo
    for scheme in ["https://", "http://", "HTTPS://", "ftp://", "data:", "file://", "//", ""]
    for userinfo in ["", "user@", "api.replicate.com@", "a:b@"]
]
urls = (
    st.builds(
        "{}{}{}/{}".format,
        st.sampled_from(starts),
        hosts,
        st.sampled_from(["", ":443", ":80", ":8443", ":0", ":65536", ":x", ":"]),
        st.text(max_size=12),
    )
    | st.sampled_from(
        [
            *["/relative/x.png", "?q", "#f", "\\\\evil.test\\x", "http:evil", "x.png"],
            # The longest URL followed, and one character more.
            *[f"http://a/{'x' * (MAX_URL_LENGTH - 9 + extra)}" for extra in (0, 1)],
        ]
    )
    | st.text(max_size=40)
)
timestamps = (
    st.sampled_from(
        [
            *["2024-01-01T00:00:00Z", "2024-01-01T00:00:00.123456+14:00", "0001-01-01T00:00:00Z"],
            *["9999-12-31T23:59:59-14:00", "10000-01-01T00:00:00Z", "2024-13-45", "yesterday"],
        ]
    )
    | st.integers()
)
json_urls: st.SearchStrategy[JsonValue] = urls
outputs: st.SearchStrategy[JsonValue] = (
    json_values
    | urls
    | st.lists(json_urls, max_size=3)
    | st.lists(json_scalars, max_size=5)
    | st.integers(0, 500).map(nest)
)
prediction_bodies = st.fixed_dictionaries(
    {"id": ids},
    optional={
        "status": statuses | wrong_types,
        "model": st.text(max_size=20) | wrong_types,
        "output": outputs,
        "error": st.text(max_size=20) | json_values,
        "logs": st.text(max_size=20) | wrong_types,
        "created_at": timestamps,
        "completed_at": timestamps,
        "urls": st.fixed_dictionaries(
            {}, optional={"get": urls, "stream": urls | wrong_types, "cancel": urls}
        )
        | wrong_types,
        "metrics": st.fixed_dictionaries({}, optional={"predict_time": st.floats() | wrong_types}),
        "data_removed": st.booleans() | wrong_types,
        "extra": json_values,
    },
)
protocols = st.sampled_from(PROTOCOLS)

# Charsets a server may name: some are not text codecs at all (base64, rot13, zlib).
charsets = st.sampled_from(
    [
        *["utf-8", "latin-1", "utf-16", "utf-32", "idna", "punycode", "base64", "hex", "rot13"],
        *["zlib", "bz2", "uu", "quopri", "undefined", "unicode_escape", "utf-7", "nonsense", ""],
    ]
)
content_types = (
    st.sampled_from(["", "application/json", "application/problem+json", "text/html"])
    | charsets.map("text/plain; charset={}".format)
    | st.binary(max_size=30).map(lambda raw: b"application/json; charset=" + raw)
)
bodies = (
    st.binary(max_size=200)
    | json_values.map(dumps)
    | nested_json.map(str.encode)
    | st.text(max_size=100).map(str.encode)
    | st.integers(4000, 6000).map(lambda digits: b"[" + b"9" * digits + b"]")
)


# --- predictions -----------------------------------------------------------------------------


def assert_safe_prediction(protocol: BaseProtocol, snapshot: PredictionSnapshot) -> None:
    """What a decoded prediction promises, and what the SDK may do with it next."""
    assert not FORBIDDEN_IN_IDS.search(snapshot.id)
    assert check_prediction_id(snapshot.id) == snapshot.id
    assert isinstance(snapshot.status, PredictionStatus)
    assert snapshot.error is None or isinstance(snapshot.error, str)
    sdk_value(lambda: build_result(None, snapshot))
    if isinstance(protocol, OfficialProtocol):
        request = protocol.stream_request(snapshot)
        if request is not None:
            # The stream request carries the token: only where the client trusts.
            assert request.headers["Authorization"] == f"Bearer {TOKEN}"
            assert protocol.trusts(request.url)
    outputs = snapshot.output if isinstance(snapshot.output, list) else [snapshot.output]
    for output in outputs:
        if isinstance(output, str):
            download = checked(partial(protocol.download_request, output))
            if download is not None:
                assert download.url.scheme in ("http", "https")
                assert download.url.host
                assert "authorization" not in download.headers
                assert "cookie" not in download.headers


def read_both(protocol: BaseProtocol, response: httpx.Response) -> None:
    """Decode `response` as a prediction and as a create's answer; check what decodes.

    What does not decode is a `ResponseValidationError` with a message of bounded length.
    """
    reads: list[Callable[[], PredictionSnapshot]] = [
        partial(protocol.read_prediction, response),
        partial(protocol.read_created, response, MODELS[0]),
    ]
    for read in reads:
        snapshot: PredictionSnapshot | ResponseValidationError
        try:
            snapshot = read()
        except ResponseValidationError as exc:
            snapshot = exc
        if isinstance(snapshot, PredictionSnapshot):
            assert_safe_prediction(protocol, snapshot)
        else:
            assert len(str(snapshot)) < MAX_MESSAGE


@examples(0.4)
@given(protocol=protocols, body=bodies, content_type=content_types, request=requests)
def test_any_bytes_decode_to_a_prediction_or_an_sdk_error(
    protocol: BaseProtocol, body: bytes, content_type: str | bytes, request: httpx.Request
) -> None:
    """Random bytes, deep nesting and huge numbers, under any Content-Type."""
    headers = [(b"content-type", header_bytes(content_type))]
    read_both(protocol, httpx.Response(200, headers=headers, content=body, request=request))


@examples(0.25)
@given(protocol=protocols, body=json_values)
def test_any_json_decodes_to_a_prediction_or_an_sdk_error(
    protocol: BaseProtocol, body: JsonValue
) -> None:
    """Any JSON document at all."""
    read_both(protocol, httpx.Response(200, content=dumps(body), request=REQUEST))


@examples(0.3)
@given(protocol=protocols, body=prediction_bodies)
def test_near_valid_predictions_decode_safely_or_are_refused(
    protocol: BaseProtocol, body: dict[str, JsonValue]
) -> None:
    """Predictions with hostile ids, statuses, outputs and links."""
    response = httpx.Response(200, content=dumps(body), request=REQUEST)
    snapshot = sdk_value(lambda: protocol.read_prediction(response))
    given_id = body["id"]
    assert isinstance(given_id, str)
    if checked(lambda: check_prediction_id(given_id)) is None:
        assert snapshot is None
    if snapshot is not None:
        assert_safe_prediction(protocol, snapshot)
    read_both(protocol, response)


# --- webhook deliveries ----------------------------------------------------------------------

WEBHOOK_KEY = b"property test webhook key"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(WEBHOOK_KEY).decode()
header_names = st.sampled_from(["webhook-id", "Webhook-Timestamp", "WEBHOOK-SIGNATURE", "x"])
header_values = (
    st.text(max_size=60)
    | st.sampled_from(["v1,", "v1,=", "v1,AAAA", "v1a,x v1,y", "1700000000", "-1", "1e9"])
    | st.integers().map(str)
    | wrong_types
)
signature_entries = st.builds(
    "{},{}".format,
    st.sampled_from(["v1", "v1a", "v2", "", "V1", "v1 "]),
    st.text(max_size=50) | st.text(f"{ALNUM}+/=", max_size=50),
) | st.text(max_size=10)
# Deliveries of this moment, so that the check reaches the signatures, which are all wrong.
current_headers = st.builds(
    lambda message_id, entries, extra: {
        **extra,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": " ".join(entries),
    },
    st.text(max_size=20),
    st.lists(signature_entries, max_size=4),
    st.dictionaries(header_names, header_values, max_size=2),
)
secrets = st.text(max_size=60) | st.text(f"{ALNUM}+/=", max_size=60).map("whsec_{}".format)


def signed_headers(body: bytes) -> dict[str, str]:
    """The headers of a delivery of `body`, signed now with `WEBHOOK_KEY`."""
    timestamp = str(int(time.time()))
    digest = hmac.new(WEBHOOK_KEY, f"m.{timestamp}.".encode() + body, hashlib.sha256).digest()
    signature = "v1," + base64.b64encode(digest).decode()
    return {"webhook-id": "m", "webhook-timestamp": timestamp, "webhook-signature": signature}


@examples(0.3)
@given(body=bodies | prediction_bodies.map(dumps))
def test_a_signed_delivery_gives_what_a_poll_of_its_body_gives(body: bytes) -> None:
    """Whatever a signed body holds, `verify` accepts and refuses it as a poll's answer is."""
    polled = sdk_value(
        lambda: OFFICIAL.read_prediction(httpx.Response(200, content=body, request=REQUEST))
    )
    if polled is not None:
        assert verify(body, signed_headers(body), WEBHOOK_SECRET) == polled
        return
    with pytest.raises(WebhookVerificationError, match="signed but is not a prediction") as caught:
        verify(body, signed_headers(body), WEBHOOK_SECRET)
    assert len(str(caught.value)) < MAX_MESSAGE


@examples(0.75)
@given(
    headers=st.dictionaries(header_names, header_values, max_size=4) | current_headers,
    body=st.binary(max_size=40),
    secret=secrets,
)
def test_any_headers_and_secret_are_refused_with_a_verification_error(
    headers: dict[str, str], body: bytes, secret: str
) -> None:
    """Unsigned deliveries: random headers, any secret; the message never quotes the secret."""
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, secret)
    message = str(caught.value)
    assert len(message) < MAX_MESSAGE
    key = secret.strip().removeprefix("whsec_")
    assert len(key) < 6 or key not in message


# --- error answers ----------------------------------------------------------------------------

problems = st.fixed_dictionaries(
    {},
    optional={
        "type": st.text(max_size=20),
        "title": st.text(max_size=40) | wrong_types,
        "status": st.integers() | wrong_types,
        "detail": st.text(max_size=200) | json_values,
        "error": st.text(max_size=40) | wrong_types,
        "message": st.text(max_size=40),
        "instance": st.text(max_size=20),
    },
)
error_bodies = bodies | problems.map(dumps) | st.just(b"<html><body>Bad gateway</body></html>")
status_codes = st.integers(400, 599)


def assert_status_error(error: APIStatusError, status: int) -> None:
    """An error answer became the right class, with a message of bounded length."""
    assert type(error) is status_error_class(status)
    assert error.status_code == status
    assert len(str(error)) < MAX_MESSAGE


@examples(0.4)
@given(
    status=status_codes,
    body=error_bodies,
    content_type=content_types,
    reason=st.binary(max_size=20) | st.just(b"x" * 10_000),
    request=requests,
)
def test_any_error_answer_becomes_a_status_error(
    status: int, body: bytes, content_type: str | bytes, reason: bytes, request: httpx.Request
) -> None:
    """Any 4xx or 5xx answer, whatever its body, Content-Type, reason phrase and URL."""
    response = httpx.Response(
        status,
        headers=[(b"content-type", header_bytes(content_type))],
        content=body,
        request=request,
        extensions={"reason_phrase": reason},
    )
    assert_status_error(error_for_status(response), status)


@examples(0.0125)
@given(
    status=status_codes,
    key=st.sampled_from(["detail", "error", "title", "message"]),
    seed=st.text(min_size=1, max_size=8),
)
def test_a_megabyte_of_detail_makes_a_short_message(status: int, key: str, seed: str) -> None:
    """A problem+json body whose explanation is a megabyte long."""
    detail = seed * (1_000_000 // len(seed) + 1)
    response = httpx.Response(
        status,
        headers={"content-type": "application/problem+json"},
        content=dumps({key: detail, "type": "about:blank"}),
        request=REQUEST,
    )
    error = error_for_status(response)
    assert_status_error(error, status)
    assert detail[:100] in str(error)


# --- server-sent events ----------------------------------------------------------------------

SSE_PIECES = [
    *[b"data:", b"data: ", b"event:", b"event: output", b"event: done", b"id:", b"id: 7"],
    *[b"id: \x00", b"retry:", b"retry: 1000", b"retry: x", b":", b"\n", b"\r", b"\r\n", b"\n\n"],
    *[b"\xef\xbb\xbf", b"\xe2\x82\xac", b"\xe2", b"\x82\xac", b"\xff", b" ", b"x", b"yz"],
]
sse_streams = pieces_of(SSE_PIECES, 80) | st.binary(max_size=300)
caps = st.integers(1, 40) | st.just(UNCAPPED)


def sse_decode(
    chunks: Iterable[bytes], max_line: int = UNCAPPED, max_event: int = UNCAPPED
) -> tuple[list[ServerSentEvent], bool]:
    """The events of a stream fed as `chunks`, and whether a cap stopped it."""
    decoder = SSEDecoder(max_line=max_line, max_event=max_event)
    events: list[ServerSentEvent] = []
    try:
        for chunk in chunks:
            events.extend(decoder.feed(chunk))
        events.extend(decoder.end())
    except EventTooLargeError:
        return events, True
    return events, False


@examples(0.75)
@given(stream=sse_streams, cut=cuts)
def test_events_do_not_depend_on_how_the_stream_is_split(stream: bytes, cut: bytes) -> None:
    """The same bytes give the same events, fed whole, cut anywhere, or byte by byte."""
    whole = sse_decode([stream])
    assert not whole[1]
    assert sse_decode(split(stream, cut)) == whole
    assert sse_decode([bytes([byte]) for byte in stream]) == whole


@examples(0.5)
@given(stream=sse_streams, cut=cuts, max_line=caps, max_event=caps)
def test_event_caps_hold_however_the_stream_is_split(
    stream: bytes, cut: bytes, max_line: int, max_event: int
) -> None:
    """A cap stops the stream at the same place whatever the split, and no event exceeds it."""
    uncapped, _ = sse_decode([stream])
    whole, whole_stopped = sse_decode([stream], max_line, max_event)
    parts, parts_stopped = sse_decode(split(stream, cut), max_line, max_event)
    assert whole_stopped == parts_stopped
    if not whole_stopped:
        assert whole == parts == uncapped
    else:
        # Events completed before the cap was hit come out, in order, and no others.
        assert parts == uncapped[: len(parts)]
    for event in parts:
        assert len(event.data) <= max_event
        assert len(event.event) <= max_line
        assert event.id is None or len(event.id) <= max_line


# --- compressed bodies -----------------------------------------------------------------------


def raw_deflate(data: bytes) -> bytes:
    """`data` as raw deflate, without zlib's header, as some servers send "deflate"."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "identity": bytes,
    "": bytes,
    "deflate, gzip": lambda data: gzip.compress(zlib.compress(data)),
    "GZIP , identity": gzip.compress,
}
ENCODINGS: list[Callable[[bytes], bytes]] = [gzip.compress, zlib.compress, raw_deflate, bytes]
ENCODING_NAMES = ["gzip", "x-gzip", "deflate", "identity", "", "br", "zstd", "GZIP", "gzip;q=1"]
payloads = st.binary(max_size=200) | st.builds(
    lambda seed, count: seed * count, st.binary(min_size=1, max_size=8), st.integers(1, 40_000)
)
encodings = (
    st.binary(max_size=3).map(
        lambda raw: ", ".join(ENCODING_NAMES[b % len(ENCODING_NAMES)] for b in raw)
    )
    | st.text(max_size=12)
    | st.binary(max_size=12)
)


@st.composite
def encoded_bodies(draw: st.DrawFn) -> bytes:
    """Compressed, truncated, padded or random bodies."""
    payload = draw(payloads)
    encode = draw(st.sampled_from(ENCODINGS))
    body = encode(payload)
    end = draw(st.integers(0, len(body) + 20))
    return (body + b"\x00garbage" * 3)[:end]


def decode_body(
    encoding: str | bytes, chunks: Sequence[bytes], cap: int | None
) -> tuple[list[bytes], Exception | None]:
    """The pieces a `BodyDecoder` yields for `chunks`, and the SDK error that stopped it.

    Empty chunks are left out: ``b""`` means the end of the body, as a driver's reads do.
    """
    response = httpx.Response(
        200, headers=[(b"content-encoding", header_bytes(encoding))], request=REQUEST
    )
    pieces: list[bytes] = []
    try:
        decoder = BodyDecoder(response, cap)
        for chunk in [*filter(None, chunks), b""]:
            pieces.extend(decoder.feed(chunk))
    except (ResponseTooLargeError, ResponseValidationError) as exc:
        return pieces, exc
    return pieces, None


@examples(0.4)
@given(
    encoding=encodings,
    body=encoded_bodies() | st.binary(max_size=300),
    cut=cuts,
    cap=st.integers(0, 1 << 16) | st.none(),
)
def test_any_body_decodes_within_its_cap_or_is_refused(
    encoding: str | bytes, body: bytes, cut: bytes, cap: int | None
) -> None:
    """Any bytes under any Content-Encoding: pieces, never more than the cap, or an SDK error."""
    pieces, error = decode_body(encoding, split(body, cut), cap)
    if cap is not None:
        assert sum(map(len, pieces)) <= cap
    if isinstance(error, ResponseTooLargeError):
        assert error.limit == cap


@examples(0.5)
@given(
    payload=payloads,
    encoding=st.sampled_from(sorted(ENCODERS)),
    cut=cuts,
    room=st.integers(0, 100) | st.none(),
)
def test_compressed_bodies_round_trip_however_they_are_split(
    payload: bytes, encoding: str, cut: bytes, room: int | None
) -> None:
    """A body that fits its cap comes back whole, in pieces of at most `PIECE` bytes."""
    cap = None if room is None else len(payload) + room
    pieces, error = decode_body(encoding, split(ENCODERS[encoding](payload), cut), cap)
    assert error is None
    assert b"".join(pieces) == payload
    if encoding not in ("", "identity"):
        assert all(len(piece) <= PIECE for piece in pieces)


@examples(0.25)
@given(payload=payloads, first=st.integers(1, 1 << 16), cut=cuts)
def test_raw_deflate_round_trips_however_it_is_split(
    payload: bytes, first: int, cut: bytes
) -> None:
    """Raw deflate sent as "deflate" decodes, even when its first chunk is a single byte."""
    body = raw_deflate(payload)
    pieces, error = decode_body("deflate", [body[:first], *split(body[first:], cut)], None)
    assert error is None
    assert b"".join(pieces) == payload


@examples(0.25)
@given(
    payload=payloads.filter(lambda payload: len(payload) > 1),
    encoding=st.sampled_from(["gzip", "deflate", "identity"]),
    shortfall=st.integers(1, 1 << 20),
)
def test_a_body_over_its_cap_stops_at_the_cap(
    payload: bytes, encoding: str, shortfall: int
) -> None:
    """A compression bomb, or a plain body, one byte too many or more."""
    cap = max(0, len(payload) - shortfall)
    pieces, error = decode_body(encoding, [ENCODERS[encoding](payload)], cap)
    assert isinstance(error, ResponseTooLargeError)
    assert sum(map(len, pieces)) <= cap
    assert payload.startswith(b"".join(pieces))


# --- Retry-After ------------------------------------------------------------------------------

numbers = (
    st.floats().map(repr)
    | st.integers().map(str)
    | st.sampled_from(["inf", "-inf", "nan", "-nan", "1e400", "-0", "1_000", " 5 ", "٣", "0x10"])
)
dates = st.datetimes(timezones=st.just(UTC)).map(email.utils.format_datetime) | st.builds(
    "{}, {:02d} {} {} 12:{:02d}:00 {}".format,
    st.sampled_from(["Mon", "Sun", "Xyz"]),
    st.integers(0, 40),
    st.sampled_from(["Jan", "Feb", "Dec", "Foo"]),
    st.integers(-1, 100_000),
    st.integers(0, 99),
    st.integers(-10_000, 10_000).map("{:+05d}".format) | st.sampled_from(["GMT", "UT", "Z"]),
)
header_texts = numbers | dates | st.text(max_size=40)


@examples(0.5)
@given(
    seconds=header_texts | st.none(),
    millis=header_texts | st.none(),
    now=st.floats(0, 1e10),
)
def test_retry_after_is_none_or_a_finite_delay(
    seconds: str | None, millis: str | None, now: float
) -> None:
    """Any ``Retry-After`` and ``retry-after-ms`` text: no hint, or a finite delay >= 0."""
    raw = [(b"retry-after", seconds), (b"retry-after-ms", millis)]
    headers = httpx.Headers([(name, value.encode()) for name, value in raw if value is not None])
    hint = retry_after(headers, now=lambda: now)
    if hint is not None:
        assert isinstance(hint, float)
        assert math.isfinite(hint)
        assert hint >= 0.0
    if millis is None and seconds is not None and seconds.isascii() and seconds.isdigit():
        assert hint == float(seconds)


@examples(4)
@given(moment=st.integers(0, 2 * 10**9 * 10**6))
def test_retry_after_reads_an_http_date_relative_to_now(moment: int) -> None:
    """An HTTP-date `delay` seconds ahead is a hint of `delay` seconds.

    One drawn number holds both the time now and the delay: one draw, not two.
    """
    now, delay = divmod(moment, 10**6)
    when = datetime.fromtimestamp(now + delay, UTC)
    text = email.utils.format_datetime(when, usegmt=True)
    assert retry_after(httpx.Headers({"retry-after": text}), now=lambda: now) == delay


# --- ids, URLs and file names -----------------------------------------------------------------


@examples(3.5)
@given(value=ids)
def test_an_accepted_id_is_safe_in_a_url_path(value: str) -> None:
    """The id check and the prediction model agree, and what they accept cannot escape a path."""
    accepted = checked(lambda: check_prediction_id(value))
    try:
        PredictionSnapshot.model_validate({"id": value})
    except ValidationError:
        assert accepted is None
    else:
        assert accepted == value
    if accepted is not None:
        assert not FORBIDDEN_IN_IDS.search(accepted)
        assert 1 <= len(accepted) <= 100
        # The official API puts the id in the path: it must stay one segment, unchanged.
        assert OFFICIAL.get_request(accepted).url.path == f"/v1/predictions/{accepted}"


@examples(4)
@given(value=valid_ids)
def test_every_well_formed_id_is_accepted(value: str) -> None:
    """The check refuses nothing that looks like an id."""
    assert check_prediction_id(value) == value


bases = st.sampled_from(
    [None, httpx.URL("http://h.test/"), httpx.URL(f"{API_URL}/v1/"), httpx.URL("http://[::1]:8/")]
)


@examples(0.75)
@given(text=urls, base=bases)
def test_an_accepted_url_is_http_with_a_host(text: str, base: httpx.URL | None) -> None:
    """Any text, absolute or relative to a base: an http(s) URL with a host, or `ValueError`."""
    url = checked(lambda: parse_url(text, base=base))
    if url is not None:
        assert url.scheme in ("http", "https")
        assert url.host
        assert len(text) <= MAX_URL_LENGTH


patterns = st.lists(
    st.sampled_from(["api.replicate.com", "*.replicate.com", "*.replicate.net", "h.test"])
    | st.builds("{}{}".format, st.sampled_from(["", "*."]), st.text(HOST_CHARS, max_size=12)),
    max_size=3,
)


@examples(0.4)
@given(text=urls, base=st.sampled_from([API_URL, BASE_URL, SELF_HOSTED_URL]), hosts=patterns)
def test_the_token_goes_only_to_the_origin_or_a_trusted_https_host(
    text: str, base: str, hosts: list[str]
) -> None:
    """`Trust.allows` says yes only for the API's origin or a matching https host."""
    url = checked(lambda: parse_url(text, base=httpx.URL(base)))
    if url is None:
        return
    trust = Trust.of(base, hosts)
    if not trust.allows(url) or (url.scheme, url.host, url.port) == trust.origin:
        return
    assert url.scheme == "https"
    assert url.port in (None, 443)
    # What is matched is the host a connection is made to, in its ASCII form.
    host = url.raw_host.decode("ascii").lower()
    assert any(
        host.endswith(pattern[1:]) if pattern.startswith("*.") else host == pattern
        for pattern in hosts
    )


SIGNATURES = (b"", PNG, b"\xff\xd8\xff", b"RIFF\0\0\0\0WEBP", b"\0\0\0\x18ftypavif")


@examples(7)
@given(raw=st.binary(max_size=40))
def test_is_image_decides_on_the_first_bytes(raw: bytes) -> None:
    """Any bytes: yes for a known signature, and the same answer from the first 16 bytes alone.

    The first byte drawn picks a signature to put in front (or none): one draw, not two.
    """
    data = (SIGNATURES[raw[0] % len(SIGNATURES)] + raw[1:]) if raw else b""
    answer = is_image(data)
    assert answer is is_image(data[:16])
    if raw and raw[0] % len(SIGNATURES):
        assert answer


@examples(0.75)
@given(prediction_id=ids, url=urls)
def test_a_default_file_name_is_one_safe_component(prediction_id: str, url: str) -> None:
    """Whatever the server calls the prediction and its image, the name stays in the folder."""
    name = default_name(prediction_id, url)
    assert IMAGE_NAME.fullmatch(name)
    assert len(name) <= 105


# --- the lifecycle, end to end ----------------------------------------------------------------

poll_answers = st.tuples(
    st.sampled_from([200, 200, 200, 301, 303, 307, 404, 429, 500, 503]),
    prediction_bodies.map(dumps) | bodies,
    urls,
    header_texts,
)
stream_events = st.lists(
    st.tuples(st.sampled_from(["output", "done", "error", "output", "x"]), st.text(max_size=30)),
    max_size=8,
).map(lambda events: "".join(f"event: {e}\ndata: {d}\n\n" for e, d in events).encode())


def official_lifecycle(clock: FakeClock) -> Lifecycle:
    """An official-API lifecycle with small limits, on a clock that moves only when it sleeps."""
    return Lifecycle(
        OFFICIAL,
        RetryPolicy(max_retries=1, poll_interval=2.0),
        httpx.Timeout(30.0),
        wait_timeout=5.0,
        limits=Limits(response=4096, event=256, download=4096),
        clock=clock,
    )


def drive(
    flow: Flow[T],
    answer: Callable[[httpx.Request], tuple[httpx.Response, list[bytes]]],
    clock: FakeClock,
) -> tuple[T | None, list[str | bytes]]:
    """Run `flow` against `answer`; return its value (``None`` for an SDK error) and emits.

    Every request the flow sends is checked: the token goes only where the client trusts.
    """
    emitted: list[str | bytes] = []
    reply: httpx.Response | bytes | None = None
    body: list[bytes] = []
    for _ in range(2000):
        try:
            step = resume(flow, reply)
        except ReplicateHomeError:
            return None, emitted
        reply = None
        if isinstance(step, Finished):
            return step.value, emitted
        if isinstance(step, Send):
            if "authorization" in step.request.headers:
                assert OFFICIAL.trusts(step.request.url)
            reply, body = answer(step.request)
            reply.request = step.request
        elif isinstance(step, Read):
            reply = body.pop(0) if body else b""
        elif isinstance(step, Sleep):
            assert 0 <= step.seconds <= 60
            clock.now += step.seconds
        elif isinstance(step, Emit):
            emitted.append(step.chunk)
        else:
            assert isinstance(step, Close)
    raise AssertionError("the flow did not finish in 2000 steps")


@examples(0.1)
@given(
    stream=stream_events | sse_streams,
    encoding=st.sampled_from(["", "gzip", "deflate", "br"]),
    cut=cuts,
    polls=st.lists(poll_answers, min_size=1, max_size=4),
    stream_url=st.sampled_from([f"{API_URL}/stream", "https://stream.replicate.com/v1/x"]) | urls,
)
def test_following_a_prediction_ends_in_a_value_or_an_sdk_error(
    stream: bytes,
    encoding: str,
    cut: bytes,
    polls: list[tuple[int, bytes, str, str]],
    stream_url: str,
) -> None:
    """A hostile event stream, then hostile polls, redirects and retry hints."""
    clock = FakeClock()
    life = official_lifecycle(clock)
    chunks = split(ENCODERS.get(encoding, bytes)(stream), cut)
    answers = iter(polls)

    def answer(request: httpx.Request) -> tuple[httpx.Response, list[bytes]]:
        """The stream for the stream request; the next poll answer (the last one again) else."""
        if request.headers.get("accept") == "text/event-stream":
            headers = {"content-type": "text/event-stream", "content-encoding": encoding}
            return httpx.Response(200, headers=headers), list(chunks)
        status, body, location, hint = next(answers, polls[-1])
        raw = [(b"location", location.encode()), (b"retry-after", hint.encode())]
        return httpx.Response(status, headers=raw), [body]

    start = PredictionSnapshot.model_validate({"id": "p1", "urls": {"stream": stream_url}})
    value, emitted = drive(life.wait(Tracked(start), life.deadline(), stream=True), answer, clock)
    assert all(isinstance(chunk, str) for chunk in emitted)
    if value is not None:
        assert value.status == PredictionStatus.SUCCEEDED


BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=%"
data_uris = st.builds(
    "data:{}{},{}".format,
    st.sampled_from(["image/png", "", "text/plain"]),
    st.sampled_from([";base64", "", ";base64;x"]),
    st.text(max_size=40) | st.text(BASE64, max_size=40),
) | st.text(max_size=20).map("data:{}".format)


@examples(0.15)
@given(
    url=data_uris | urls,
    body=encoded_bodies(),
    encoding=encodings,
    cut=cuts,
    image=st.booleans(),
)
def test_a_download_emits_bytes_within_its_limit_or_raises_an_sdk_error(
    url: str, body: bytes, encoding: str | bytes, cut: bytes, image: bool
) -> None:
    """Any output URL, answered with any body: bytes within the limit, never the token."""
    clock = FakeClock()
    life = official_lifecycle(clock)

    def answer(request: httpx.Request) -> tuple[httpx.Response, list[bytes]]:
        """The download's answer."""
        assert "authorization" not in request.headers
        headers = [(b"content-encoding", header_bytes(encoding))]
        return httpx.Response(200, headers=headers), split(body, cut)

    _, emitted = drive(life.download(url, life.deadline(), image=image), answer, clock)
    received = b"".join(chunk for chunk in emitted if isinstance(chunk, bytes))
    assert len(received) == sum(map(len, emitted))
    assert len(received) <= life.limits.download
    if image and received:
        assert is_image(received[:16])
