"""Webhooks: `replicatehome.webhooks.verify`, and ``client.webhooks.default_secret()``.

Deliveries are signed here with `hmac` directly, as the Standard Webhooks scheme says, and the
signer is checked against the scheme's published test vector, so `verify` is held to the scheme
rather than to itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping

import httpx
import pytest
import respx
from starlette.datastructures import Headers as StarletteHeaders

from replicatehome import (
    AuthenticationError,
    PredictionSnapshot,
    PredictionStatus,
    ReplicateHomeError,
    ResponseTooLargeError,
    ResponseValidationError,
    UnsupportedFeatureError,
    WebhookVerificationError,
    webhooks,
)
from replicatehome.webhooks import verify

from ..helpers import Mode, call, close, make_client

NOW = 1_700_000_000
KEY = bytes(range(24))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
OTHER_KEY = b"another key, for rotation"
TOKEN = "r8_webhook_test_token"
SECRET_URL = "/v1/webhooks/default/secret"
BODY = json.dumps(
    {
        "id": "ufawqhfynnddngldkgtslldrkq",
        "model": "google-deepmind/gemma-2b-it",
        "version": "dff94eaf770e1fc211e425a50b51baa8e4cac6c39ef074681f9e39d778773626",
        "input": {"prompt": "Write a haiku"},
        "output": ["Sea ", "foam ", "é✓"],
        "logs": "",
        "error": None,
        "status": "succeeded",
        "created_at": "2024-01-01T00:00:00.000Z",
        "completed_at": "2024-01-01T00:00:02.500Z",
        "urls": {"get": "https://api.replicate.com/v1/predictions/ufawqhfynnddngldkgtslldrkq"},
        "metrics": {"predict_time": 2.1},
        "webhook": "https://example.com/hook",
        "webhook_events_filter": ["completed"],
    },
    ensure_ascii=False,  # as Replicate sends it: UTF-8, so a str body differs from its bytes
).encode()


def signature(key: bytes, body: bytes, msg_id: str = "msg_1", timestamp: int = NOW) -> str:
    """A ``v1,<base64>`` signature of a delivery, made as the scheme says."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def delivery(
    body: bytes = BODY, *keys: bytes, msg_id: str = "msg_1", timestamp: int = NOW
) -> dict[str, str]:
    """The headers of a delivery of `body`, signed with each of `keys` (`KEY` by default)."""
    signatures = [signature(key, body, msg_id, timestamp) for key in keys or (KEY,)]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wall clock reads `NOW` for `verify`."""
    monkeypatch.setattr(webhooks, "_now", lambda: float(NOW))


# --- verify: deliveries that pass ---------------------------------------------------------


def test_the_signer_here_matches_the_standard_webhooks_test_vector() -> None:
    # From the Standard Webhooks reference libraries' own tests.
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    made = signature(key, b'{"test": 2432232314}', "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330)
    assert made == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_standard_webhooks_test_vector_passes_its_signature_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhooks, "_now", lambda: 1614265330.0)
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body, secret = '{"test": 2432232314}', "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    # Signed, so what fails is the body: the vector's body is not a prediction.
    with pytest.raises(WebhookVerificationError, match=r"signed but is not a prediction.*\bid\b"):
        verify(body, headers, secret)
    headers["webhook-signature"] = headers["webhook-signature"].replace("OE=", "OA=")
    with pytest.raises(WebhookVerificationError, match=r"No v1 signature .* matches"):
        verify(body, headers, secret)


def test_a_signed_delivery_gives_the_typed_prediction() -> None:
    prediction = verify(BODY, delivery(), SECRET)

    assert isinstance(prediction, PredictionSnapshot)
    assert prediction.id == "ufawqhfynnddngldkgtslldrkq"
    assert prediction.status is PredictionStatus.SUCCEEDED
    assert prediction.output == ["Sea ", "foam ", "é✓"]
    assert prediction.metrics is not None
    assert prediction.metrics.predict_time == 2.1
    assert prediction.model_extra == {
        "webhook": "https://example.com/hook",
        "webhook_events_filter": ["completed"],
    }


def test_a_str_body_verifies_as_its_utf8_bytes() -> None:
    text = BODY.decode()
    assert len(text) < len(BODY)

    assert verify(text, delivery(), SECRET) == verify(BODY, delivery(), SECRET)


def _starlette(pairs: list[tuple[str, str]]) -> StarletteHeaders:
    # As an ASGI server hands them over: raw bytes, names lowercased.
    return StarletteHeaders(raw=[(name.lower().encode(), value.encode()) for name, value in pairs])


@pytest.mark.parametrize(
    "make",
    [dict, httpx.Headers, _starlette],
    ids=["dict", "httpx", "starlette"],
)
def test_header_names_match_in_any_case_from_any_headers_object(
    make: Callable[[list[tuple[str, str]]], Mapping[str, str]],
) -> None:
    names = ("Webhook-Id", "WEBHOOK-TIMESTAMP", "webhook-Signature")
    headers = make(list(zip(names, delivery().values(), strict=True)))

    assert verify(BODY, headers, SECRET).id == "ufawqhfynnddngldkgtslldrkq"


def test_one_valid_signature_among_others_is_enough() -> None:
    headers = delivery()
    good = headers["webhook-signature"]
    headers["webhook-signature"] = "  ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",  # someone else's
            "v2," + good[3:],  # a version this scheme does not know: skipped
            "v1a,c2lnbmVk",  # an asymmetric signature: skipped
            "v1,not base64!",
            "v1,é",
            "v1",
            good,
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
        ]
    )

    assert verify(BODY, headers, SECRET).status == "succeeded"


def test_during_a_key_rotation_both_secrets_verify_and_no_third() -> None:
    headers = delivery(BODY, OTHER_KEY, KEY)  # signed with the old key and the new one
    old = "whsec_" + base64.b64encode(OTHER_KEY).decode()

    assert verify(BODY, headers, SECRET).id == verify(BODY, headers, old).id
    with pytest.raises(WebhookVerificationError, match="No v1 signature"):
        verify(BODY, headers, "whsec_" + base64.b64encode(b"a third key").decode())


@pytest.mark.parametrize(
    "secret",
    [
        SECRET,
        SECRET.removeprefix("whsec_"),  # as some dashboards show it
        SECRET.rstrip("="),  # unpadded
        f"  {SECRET}\n",  # read from a file
    ],
    ids=["whsec", "no-prefix", "unpadded", "whitespace"],
)
def test_a_secret_is_accepted_in_the_forms_it_is_stored(secret: str) -> None:
    assert verify(BODY, delivery(), secret).id == "ufawqhfynnddngldkgtslldrkq"


@pytest.mark.parametrize(
    ("age", "tolerance", "verdict"),
    [
        (300, 300, None),
        (301, 300, "301 s old"),
        (-300, 300, None),
        (-301, 300, "301 s in the future"),
        (0, 0, None),
        (1, 0, "1 s old"),
        (-1, 0, "1 s in the future"),
        (11, 10.5, "11 s old"),
        (86_400, 90_000, None),
    ],
)
def test_the_timestamp_must_be_within_the_tolerance_either_way(
    age: int, tolerance: float, verdict: str | None
) -> None:
    headers = delivery(timestamp=NOW - age)

    if verdict is None:
        assert verify(BODY, headers, SECRET, tolerance=tolerance).id
    else:
        with pytest.raises(WebhookVerificationError, match=verdict):
            verify(BODY, headers, SECRET, tolerance=tolerance)


def test_the_default_tolerance_is_five_minutes() -> None:
    verify(BODY, delivery(timestamp=NOW - 300), SECRET)
    with pytest.raises(WebhookVerificationError, match="old"):
        verify(BODY, delivery(timestamp=NOW - 301), SECRET)


# --- verify: deliveries that fail, each with its reason -------------------------------------


def _without(name: str) -> dict[str, str]:
    headers = delivery()
    del headers[name]
    return headers


def _with(**changes: str) -> dict[str, str]:
    headers = delivery()
    headers.update({name.replace("_", "-"): value for name, value in changes.items()})
    return headers


FAILURES: dict[str, tuple[bytes | str, Mapping[str, str], str, str]] = {
    # id: (body, headers, secret, what the message says)
    "no-id": (BODY, _without("webhook-id"), SECRET, "has no webhook-id header"),
    "no-timestamp": (BODY, _without("webhook-timestamp"), SECRET, "no webhook-timestamp"),
    "no-signature": (BODY, _without("webhook-signature"), SECRET, "no webhook-signature"),
    "no-headers": (BODY, {}, SECRET, "no webhook-id, webhook-timestamp, webhook-signature hea"),
    "empty-id": (BODY, _with(webhook_id=""), SECRET, "no webhook-id header"),
    "twice": (
        BODY,
        {**delivery(), "Webhook-Id": "msg_2"},
        SECRET,
        "webhook-id header is given more than once",
    ),
    "not-text": (
        BODY,
        {**delivery(), "webhook-id": 1},  # type: ignore[dict-item]
        SECRET,
        "webhook-id header is not text",
    ),
    "fractional-timestamp": (
        BODY,
        _with(webhook_timestamp=f"{NOW}.0"),
        SECRET,
        "not whole unix seconds",
    ),
    "signed-timestamp": (BODY, _with(webhook_timestamp=f"+{NOW}"), SECRET, "whole unix seconds"),
    "word-timestamp": (BODY, _with(webhook_timestamp="yesterday"), SECRET, "whole unix seconds"),
    "huge-timestamp": (BODY, _with(webhook_timestamp="9" * 400), SECRET, "whole unix seconds"),
    "old": (BODY, delivery(timestamp=NOW - 3600), SECRET, "3,600 s old.*late or replayed"),
    "future": (BODY, delivery(timestamp=NOW + 3600), SECRET, "in the future.*clock"),
    # The right HMAC, under other versions' names: only v1 entries are signatures to check.
    "no-v1": (
        BODY,
        _with(webhook_signature=f"v1a,{signature(KEY, BODY)[3:]} v2,{signature(KEY, BODY)[3:]}"),
        SECRET,
        "holds no v1 signature",
    ),
    "blank-signature": (BODY, _with(webhook_signature="   "), SECRET, "holds no v1 signature"),
    "other-body": (BODY + b" ", delivery(), SECRET, "No v1 signature .* matches"),
    "other-id": (BODY, {**delivery(), "webhook-id": "msg_2"}, SECRET, "No v1 signature"),
    "other-timestamp": (
        BODY,
        {**delivery(), "webhook-timestamp": str(NOW - 1)},
        SECRET,
        "No v1 signature",
    ),
    "other-secret": (
        BODY,
        delivery(BODY, OTHER_KEY),
        SECRET,
        "the body, the headers or the secret differ",
    ),
    "truncated-signature": (
        BODY,
        _with(webhook_signature=delivery()["webhook-signature"][:-8] + "AAAA"),
        SECRET,
        "No v1 signature",
    ),
    "secret-not-base64": (BODY, delivery(), "whsec_not-base64!", "secret is malformed.*base64"),
    "secret-empty": (BODY, delivery(), "whsec_", "secret is malformed: it holds no key"),
    "secret-not-ascii": (BODY, delivery(), "whsec_clé", "secret is malformed.*base64"),
    "not-json": (b"<html>", delivery(b"<html>"), SECRET, "not a prediction: Invalid JSON"),
    "a-list": (b"[1]", delivery(b"[1]"), SECRET, "not a prediction: Input should be an object"),
    "no-prediction-id": (b"{}", delivery(b"{}"), SECRET, r"Field required \(at id\)"),
    "hostile-id": (
        b'{"id": "../x"}',
        delivery(b'{"id": "../x"}'),
        SECRET,
        r"should match pattern .*\(at id\)",
    ),
    "deep": (
        b"[" * 100_000 + b"]" * 100_000,
        delivery(b"[" * 100_000 + b"]" * 100_000),
        SECRET,
        "recursion limit",
    ),
    "not-unicode": ("\udcff", delivery(), SECRET, "not valid Unicode; pass the raw bytes"),
}


@pytest.mark.parametrize(
    ("body", "headers", "secret", "reason"), list(FAILURES.values()), ids=list(FAILURES)
)
def test_each_failure_says_why_and_never_quotes_a_secret(
    body: bytes | str, headers: Mapping[str, str], secret: str, reason: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=reason) as caught:
        verify(body, headers, secret)

    message = str(caught.value)
    assert isinstance(caught.value, ReplicateHomeError)
    assert isinstance(caught.value, ValueError)
    # Nothing chained either: a traceback shows this message and no other.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    expected = signature(KEY, body if isinstance(body, bytes) else b"", "msg_1", NOW)
    for secret_text in (SECRET[6:], secret.strip()[6:], expected[3:], expected[3:20]):
        assert not secret_text or secret_text not in message


def test_a_body_over_the_size_limit_is_refused_before_its_signature_is_checked() -> None:
    headers = delivery()
    headers["webhook-signature"] = "v1,AAAA"  # not checked: the size is refused first
    size = f"{len(BODY):,}"
    with pytest.raises(WebhookVerificationError, match=f"is {size} bytes, more than max_body"):
        verify(BODY, headers, SECRET, max_body_bytes=len(BODY) - 1)
    assert verify(BODY, delivery(), SECRET, max_body_bytes=len(BODY)).id


def test_mistakes_in_the_arguments_are_type_and_value_errors() -> None:
    with pytest.raises(TypeError, match="body must be bytes or str"):
        verify(bytearray(BODY), delivery(), SECRET)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="secret must be the whsec_"):
        verify(BODY, delivery(), KEY)  # type: ignore[arg-type]
    for tolerance in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="tolerance must be 0 or more"):
            verify(BODY, delivery(), SECRET, tolerance=tolerance)


# --- client.webhooks.default_secret() -----------------------------------------------------


async def test_default_secret_reads_the_key_with_the_token(
    mode: Mode, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    route = mock.get(SECRET_URL).respond(200, json={"key": SECRET})
    client = make_client(mode, api_token=TOKEN)

    with caplog.at_level(logging.DEBUG, logger="replicatehome"):
        secret = await call(client.webhooks.default_secret())
    await close(client)

    assert secret == SECRET
    assert isinstance(secret, str)
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert SECRET_URL in caplog.text
    for text in (caplog.text, repr(client), repr(client.webhooks)):
        assert SECRET[6:] not in text
        assert TOKEN not in text
    assert verify(BODY, delivery(), secret).id  # the key verifies deliveries as it is


async def test_default_secret_is_retried_like_any_read(
    mode: Mode, mock: respx.MockRouter, sleeps: list[float]
) -> None:
    route = mock.get(SECRET_URL)
    route.side_effect = [httpx.Response(503), httpx.Response(200, json={"key": SECRET})]
    client = make_client(mode, api_token=TOKEN)

    assert await call(client.webhooks.default_secret()) == SECRET
    await close(client)

    assert route.call_count == 2
    assert len(sleeps) == 1


async def test_default_secret_raises_the_typed_error_of_a_refusal(
    mode: Mode, mock: respx.MockRouter
) -> None:
    mock.get(SECRET_URL).respond(401, json={"detail": "Invalid token."})
    client = make_client(mode, api_token=TOKEN)

    with pytest.raises(AuthenticationError, match=r"401.*Invalid token"):
        await call(client.webhooks.default_secret())
    await close(client)


async def test_default_secret_on_the_homepage_backend_sends_nothing(
    mode: Mode, mock: respx.MockRouter
) -> None:
    client = make_client(mode)

    with pytest.raises(UnsupportedFeatureError, match="homepage backend has no webhooks"):
        await call(client.webhooks.default_secret())
    await close(client)

    assert not mock.calls


HOSTILE_SECRETS: dict[str, tuple[httpx.Response, str]] = {
    "html": (httpx.Response(200, text=f"<p>{SECRET}</p>"), "not a JSON object with a 'key'"),
    "a-string": (httpx.Response(200, json=SECRET), "not a JSON object"),
    "no-key": (httpx.Response(200, json={"secret": SECRET}), "with a 'key' string"),
    "key-not-text": (httpx.Response(200, json={"key": [SECRET]}), "with a 'key' string"),
    "not-whsec": (httpx.Response(200, json={"key": SECRET + "!"}), "is not a whsec_ secret"),
    "long-key": (
        httpx.Response(200, json={"key": "whsec_" + "A" * 2000}),
        "2,006 characters long, more than 1,024",
    ),
}


@pytest.mark.parametrize(
    ("answer", "reason"), list(HOSTILE_SECRETS.values()), ids=list(HOSTILE_SECRETS)
)
async def test_a_hostile_secret_answer_is_refused_without_quoting_it(
    mode: Mode, mock: respx.MockRouter, answer: httpx.Response, reason: str
) -> None:
    mock.get(SECRET_URL).mock(return_value=answer)
    client = make_client(mode, api_token=TOKEN)

    with pytest.raises(ResponseValidationError, match=reason) as caught:
        await call(client.webhooks.default_secret())
    await close(client)

    error = caught.value
    assert SECRET_URL in str(error)
    assert SECRET[6:] not in str(error)
    assert SECRET[6:] not in repr(error)
    assert error.body == "[redacted]"
    assert error.response is None
    assert error.__cause__ is None
    assert error.__context__ is None


async def test_a_huge_secret_answer_stops_at_the_response_limit(
    mode: Mode, mock: respx.MockRouter
) -> None:
    mock.get(SECRET_URL).respond(200, json={"key": SECRET, "pad": "x" * 100_000})
    client = make_client(mode, api_token=TOKEN, max_response_bytes=4096)

    with pytest.raises(ResponseTooLargeError) as caught:
        await call(client.webhooks.default_secret())
    await close(client)

    assert caught.value.limit == 4096
    assert SECRET[6:] not in str(caught.value)
