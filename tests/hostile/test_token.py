"""Class 4: the API token goes only where the client trusts, whatever the server points at."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from replicatehome import TextResult

from ..helpers import call, collect, prediction
from .conftest import TOKEN, Api, Clients
from .server import HostileServer, answers, event_stream, respond, running

pytestmark = pytest.mark.parametrize("api", ["official"], indirect=True)


@pytest.fixture
def elsewhere() -> Iterator[HostileServer]:
    """A second server: another origin, as an attacker's host would be."""
    with running() as server:
        yield server


def carried_token(server: HostileServer) -> bool:
    """Whether any request `server` received carried the token."""
    return any(TOKEN in request.headers.get("authorization", "") for request in server.requests)


@pytest.mark.parametrize(
    "stream_url",
    ["{elsewhere}/stream/p1", "{here_https}/stream/p1", "ftp://{host}/stream", "http://[::1"],
    ids=["other-origin", "other-scheme", "not-http", "unparseable"],
)
async def test_a_stream_url_outside_the_trust_is_not_followed(
    clients: Clients,
    hostile: HostileServer,
    elsewhere: HostileServer,
    api: Api,
    stream_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = stream_url.format(
        elsewhere=elsewhere.url,
        here_https=hostile.url.replace("http:", "https:"),
        host=f"127.0.0.1:{elsewhere.port}",
    )
    urls = {"stream": url}
    hostile.route("POST", api.create, respond(201, prediction("processing", urls=urls)))
    hostile.route("GET", api.poll, respond(200, prediction("succeeded", ["ok"], urls=urls)))
    client = clients(trusted_hosts=["127.0.0.1", "*.0.0.1"])  # https only: no help on http

    with caplog.at_level(logging.WARNING, logger="replicatehome"):
        chunks = await collect(client.stream_text("hi"))

    assert "".join(chunks) == "ok"  # polling took over
    assert elsewhere.requests == []
    assert not hostile.sent("GET", "/stream/")
    warnings = [r for r in caplog.records if "event stream" in r.getMessage()]
    assert len(warnings) == 1


async def test_a_trusted_stream_host_is_followed_with_the_token(
    clients: Clients, hostile: HostileServer, api: Api
) -> None:
    urls = {"stream": f"{hostile.url}/stream/p1"}
    hostile.route("POST", api.create, respond(201, prediction("processing", urls=urls)))
    hostile.route("GET", api.poll, respond(200, prediction("succeeded", ["ok"])))
    hostile.route("GET", "/stream/", event_stream(b"event: done\ndata: {}\n\n", b"", 1))
    client = clients()

    await collect(client.stream_text("hi"))

    (stream,) = hostile.sent("GET", "/stream/")
    assert stream.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_another_origin_drops_the_token_and_cookies(
    clients: Clients,
    hostile: HostileServer,
    elsewhere: HostileServer,
    api: Api,
    status: int,
) -> None:
    hostile.route("POST", api.create, respond(201, prediction("processing")))
    away = [("Location", f"{elsewhere.url}/v1/predictions/p1")]
    hostile.route("GET", api.poll, respond(status, {}, away))
    elsewhere.route("GET", "/v1/", respond(200, prediction("succeeded", ["ok"])))
    client = clients(headers={"Cookie": "session=mine"})

    result = await call(client.generate_text("hi"))

    assert isinstance(result, TextResult)
    assert result.text == "ok"
    assert elsewhere.sent("GET", "/v1/predictions/p1")
    assert not carried_token(elsewhere)
    assert all(request.headers.get("cookie") == "session=mine" for request in hostile.requests)
    assert not any("cookie" in request.headers for request in elsewhere.requests)


async def test_a_redirect_loop_ends_in_a_typed_error(
    clients: Clients, hostile: HostileServer, api: Api
) -> None:
    from replicatehome import ResponseValidationError

    hostile.route("POST", api.create, respond(201, prediction("processing")))
    hostile.route("GET", api.poll, respond(302, {}, [("Location", "/v1/predictions/p1")]))
    client = clients()

    with pytest.raises(ResponseValidationError, match="redirected more than 5 times"):
        await call(client.generate_text("hi"))
    assert len(hostile.sent("GET", api.poll)) == 6


async def test_a_create_redirected_elsewhere_keeps_its_body_but_not_the_token(
    clients: Clients, hostile: HostileServer, elsewhere: HostileServer, api: Api
) -> None:
    hostile.route("POST", api.create, respond(307, {}, [("Location", f"{elsewhere.url}/x")]))
    elsewhere.route("POST", "/x", answers(respond(201, prediction("succeeded", ["ok"]))))
    client = clients()

    await call(client.generate_text("hi"))

    ((moved,),) = [elsewhere.sent("POST", "/x")]
    assert b'"prompt"' in moved.body
    assert not carried_token(elsewhere)


async def test_the_webhook_secret_redirected_elsewhere_is_read_without_the_token(
    clients: Clients, hostile: HostileServer, elsewhere: HostileServer
) -> None:
    secret = "whsec_c2VjcmV0IGtleSBmb3IgdGVzdHM="
    away = [("Location", f"{elsewhere.url}/secret")]
    hostile.route("GET", "/v1/webhooks/default/secret", respond(302, {}, away))
    elsewhere.route("GET", "/secret", respond(200, {"key": secret}))
    client = clients()

    assert await call(client.webhooks.default_secret()) == secret

    (asked,) = hostile.sent("GET", "/v1/webhooks/default/secret")
    assert asked.headers["authorization"] == f"Bearer {TOKEN}"
    assert elsewhere.sent("GET", "/secret")
    assert not carried_token(elsewhere)
