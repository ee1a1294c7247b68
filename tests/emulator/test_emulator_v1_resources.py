"""The emulator's ``/v1`` routes beyond create and poll, with raw httpx requests: the prediction
object's shape, logs, ``Cancel-After``, the list and its cursors, deployments, versions, the
webhook secret and the Files API, hostile inputs included."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
import pytest

import replicatehome.emulator._uploads
from replicatehome.emulator import EmulatorApp, EmulatorConfig, Faults
from replicatehome.emulator._files import FILE_OWNER, MAX_PARTS, download_signature, parse_multipart
from replicatehome.emulator._requests import parse_cancel_after
from replicatehome.emulator._responses import Cursor, paginate, parse_cursor
from replicatehome.emulator._uploads import FILE_TTL, UploadStore

from ..helpers import FakeClock
from .helpers import (
    BASE,
    GEMMA,
    SD3,
    WEBHOOK_SECRET,
    asgi_client,
    assert_problem,
    create,
    events_of,
    get,
)

EPOCH = 1_700_000_000.0
FILES_SECRET = "files-secret"
DEPLOYMENT = "acme/writer"

# The API reference's prediction object: its required fields, and the type of each field
# (a tuple where null is allowed too).
REQUIRED = {"id", "model", "version", "input", "output", "data_removed", "error", "status"}
REQUIRED |= {"created_at", "urls"}
TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "model": str,
    "version": str,
    "input": dict,
    "logs": str,
    "error": (str, type(None)),
    "status": str,
    "created_at": str,
    "started_at": str,
    "completed_at": str,
    "deadline": str,
    "deployment": str,
    "source": str,
    "urls": dict,
    "metrics": dict,
    "data_removed": bool,
}
STATUSES = {"starting", "processing", "succeeded", "failed", "canceled", "aborted"}


def assert_prediction(body: Mapping[str, object]) -> None:
    """Check `body` against the API reference's prediction schema."""
    assert body.keys() >= REQUIRED, REQUIRED - body.keys()
    for key, value in body.items():
        if key in TYPES:
            assert isinstance(value, TYPES[key]), (key, value)
    assert body["status"] in STATUSES
    assert body["source"] in ("web", "api")
    urls = body["urls"]
    assert isinstance(urls, dict)
    assert {"get", "cancel", "web"} <= urls.keys()
    for moment in ("created_at", "started_at", "completed_at", "deadline"):
        if moment in body:
            assert isinstance(body[moment], str)
            datetime.fromisoformat(str(body[moment]))


@pytest.fixture
def app(clock: FakeClock) -> EmulatorApp:
    config = EmulatorConfig(
        starting=0.2,
        duration=1.0,
        deployments={DEPLOYMENT: GEMMA.name},
        webhook_secret=WEBHOOK_SECRET,
        files_secret=FILES_SECRET,
        max_upload_bytes=1000,
    )
    return EmulatorApp(config, clock=clock, wall_epoch=EPOCH)


# --- the prediction object --------------------------------------------------------------------


async def test_prediction_object_follows_the_reference(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    created = await create(api)
    assert_prediction(created)
    assert (created["status"], created["source"], created["logs"]) == ("starting", "api", "")
    # Times the reference leaves out until they have a value, never sent as null.
    assert not {"started_at", "completed_at", "deadline", "deployment"} & created.keys()
    clock.now += 0.7
    running = await get(api, created["id"])
    assert_prediction(running)
    assert "started_at" in running
    assert "completed_at" not in running
    assert running["logs"] == "Starting prediction\n"
    clock.now += 1
    done = await get(api, created["id"])
    assert_prediction(done)
    assert done["status"] == "succeeded"
    assert done["completed_at"] == datetime.fromtimestamp(EPOCH + 1.2, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )


async def test_logs_grow_as_the_stream_sends_them(app: EmulatorApp, clock: FakeClock) -> None:
    app.faults = Faults(failure_rate=1.0)
    async with asgi_client(app) as api:
        created = await create(api)
        clock.now += 5
        failed = await get(api, created["id"])
        events = await events_of(api, created["id"])
    assert failed["status"] == "failed"
    streamed = [event.data for event in events if event.event == "logs"]
    assert "".join(f"{line}\n" for line in streamed) == failed["logs"]
    assert streamed == ["Starting prediction", failed["error"]]


async def test_homepage_predictions_are_listed_as_web(api: httpx.AsyncClient) -> None:
    body = {"model": SD3.name, "version": SD3.version, "input": {"prompt": "a cat"}}
    web = (await api.post("/api/prediction", json=body)).json()
    ours = await create(api)
    listed = (await api.get("/v1/predictions")).json()["results"]
    assert [(p["id"], p["source"]) for p in listed] == [(ours["id"], "api"), (web["id"], "web")]
    only_web = (await api.get("/v1/predictions", params={"source": "web"})).json()
    assert [p["id"] for p in only_web["results"]] == [web["id"]]
    assert "source" not in web  # the homepage protocol's object is as it was


# --- Cancel-After -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), ("30s", 30.0), ("5m", 300.0), ("1h30m45s", 5445.0), ("1.5m", 90.0), (" 6s ", 6)],
)
def test_cancel_after_durations(header: str, seconds: float) -> None:
    assert parse_cancel_after(header) == seconds


@pytest.mark.parametrize(
    "header",
    ["", "4s", "4", "0", "-5s", "5x", "s", "1m1h", "5 s", "1e3", "9" * 40, "8d", "169h", "nan"],
)
def test_cancel_after_refuses(header: str) -> None:
    with pytest.raises(ValueError, match="Cancel-After"):
        parse_cancel_after(header)


async def test_cancel_after_sets_a_deadline_that_cancels(
    api: httpx.AsyncClient, app: EmulatorApp, clock: FakeClock
) -> None:
    app.faults = Faults(never_finish=True)
    response = await api.post(
        f"/v1/models/{GEMMA.name}/predictions",
        json={"input": {"prompt": "x"}},
        headers={"Cancel-After": "1m30s"},
    )
    created = response.json()
    assert_prediction(created)
    deadline = datetime.fromisoformat(created["deadline"])
    assert deadline - datetime.fromisoformat(created["created_at"]) == _seconds(90)
    clock.now += 89
    assert (await get(api, created["id"]))["status"] == "processing"
    clock.now += 2
    ended = await get(api, created["id"])
    assert (ended["status"], ended["completed_at"]) == ("canceled", created["deadline"])


@pytest.mark.parametrize("header", ["4s", "soon", "1m1h"])
async def test_cancel_after_below_the_minimum_or_malformed_is_422(
    api: httpx.AsyncClient, app: EmulatorApp, header: str
) -> None:
    response = await api.post(
        "/v1/predictions",
        json={"version": GEMMA.version, "input": {"prompt": "x"}},
        headers={"Cancel-After": header},
    )
    assert_problem(response, 422, "Cancel-After")
    assert app.stats.predictions == 0


def _seconds(n: float) -> object:
    return datetime.fromtimestamp(n, UTC) - datetime.fromtimestamp(0, UTC)


# --- the list ---------------------------------------------------------------------------------


async def test_list_pages_newest_first_with_cursors(api: httpx.AsyncClient) -> None:
    ids = [(await create(api, prompt=str(n)))["id"] for n in range(205)]
    first = (await api.get("/v1/predictions")).json()
    assert set(first) == {"next", "previous", "results"}
    assert first["previous"] is None
    assert [p["id"] for p in first["results"]] == ids[::-1][:100]
    for prediction in first["results"][:3]:
        assert_prediction(prediction)
    second = (await api.get(first["next"])).json()
    assert first["next"].startswith(f"{BASE}/v1/predictions?cursor=")
    assert [p["id"] for p in second["results"]] == ids[::-1][100:200]
    third = (await api.get(second["next"])).json()
    assert [p["id"] for p in third["results"]] == ids[::-1][200:]
    assert third["next"] is None
    back = (await api.get(third["previous"])).json()
    assert back["results"] == second["results"]
    assert (await api.get(back["previous"])).json()["previous"] is None


async def test_list_filters_by_creation_time(api: httpx.AsyncClient, clock: FakeClock) -> None:
    early = await create(api)
    clock.now += 10
    late = await create(api)
    middle = datetime.fromtimestamp(EPOCH + 5, UTC).isoformat()
    after = (await api.get("/v1/predictions", params={"created_after": middle})).json()
    before = (await api.get("/v1/predictions", params={"created_before": middle})).json()
    assert [p["id"] for p in after["results"]] == [late["id"]]
    assert [p["id"] for p in before["results"]] == [early["id"]]
    naive = datetime.fromtimestamp(EPOCH + 5, UTC).replace(tzinfo=None).isoformat()
    also = (await api.get("/v1/predictions", params={"created_after": naive})).json()
    assert also["results"] == after["results"]


async def test_list_keeps_filters_in_its_links(api: httpx.AsyncClient) -> None:
    for n in range(101):
        await create(api, prompt=str(n))
    since = datetime.fromtimestamp(EPOCH - 1, UTC).isoformat()
    first = (await api.get("/v1/predictions", params={"created_after": since})).json()
    assert httpx.URL(first["next"]).params["created_after"] == since


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "nope"},
        {"cursor": ""},
        {"cursor": "!!!!"},
        {"cursor": base64.urlsafe_b64encode(b"before:x").decode()},
        {"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()},
        {"cursor": "QQ" * 100},
        {"cursor": "é"},
        {"created_after": "yesterday"},
        {"created_before": "2024-13-01"},
        {"created_after": "9" * 100},
        {"source": "api"},
    ],
)
async def test_list_refuses_bad_parameters(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert_problem(await api.get("/v1/predictions", params=params), 400)


def test_cursors_round_trip_and_pages_at_the_ends() -> None:
    cursor = Cursor("after", 41)
    assert parse_cursor(cursor.encode()) == cursor
    assert parse_cursor(None) is None
    items = list(range(9, -1, -1))  # seq = the item, newest first
    page = paginate(items, lambda n: n, Cursor("before", 0), size=3)
    assert (list(page.items), page.next, page.previous) == ([], None, None)
    page = paginate(items, lambda n: n, Cursor("after", 8), size=3)  # fewer than a page newer
    assert (list(page.items), page.next, page.previous) == ([9, 8, 7], Cursor("before", 7), None)
    page = paginate(items, lambda n: n, Cursor("after", 2), size=3)
    assert list(page.items) == [5, 4, 3]
    assert page.previous == Cursor("after", 5)


# --- deployments, versions, the webhook secret --------------------------------------------------


async def test_deployment_predictions(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"/v1/deployments/{DEPLOYMENT}/predictions", json={"input": {"prompt": "hi"}}
    )
    assert response.status_code == 201
    created = response.json()
    assert_prediction(created)
    assert (created["deployment"], created["model"]) == (DEPLOYMENT, GEMMA.name)
    assert created["version"] == GEMMA.version
    deployment = (await api.get(f"/v1/deployments/{DEPLOYMENT}")).json()
    assert deployment["current_release"]["model"] == GEMMA.name
    assert (deployment["owner"], deployment["name"]) == tuple(DEPLOYMENT.split("/"))


async def test_unknown_deployments(api: httpx.AsyncClient) -> None:
    path = f"/v1/deployments/{GEMMA.name}/predictions"  # models are not deployed here
    assert_problem(await api.post(path, json={"input": {"prompt": "hi"}}), 404, GEMMA.name)
    assert_problem(await api.get("/v1/deployments/acme/nope"), 404, "acme/nope")


async def test_every_model_is_deployed_by_default(clock: FakeClock) -> None:
    app = EmulatorApp(EmulatorConfig(), clock=clock)
    async with asgi_client(app) as api:
        path = f"/v1/deployments/{SD3.name}/predictions"
        created = (await api.post(path, json={"input": {"prompt": "a cat"}})).json()
    assert (created["deployment"], created["model"]) == (SD3.name, SD3.name)


async def test_versions_list(api: httpx.AsyncClient) -> None:
    listed = (await api.get(f"/v1/models/{GEMMA.name}/versions")).json()
    one = (await api.get(f"/v1/models/{GEMMA.name}/versions/{GEMMA.version}")).json()
    assert listed == {"next": None, "previous": None, "results": [one]}
    past = Cursor("before", 0).encode()
    paged = (await api.get(f"/v1/models/{GEMMA.name}/versions", params={"cursor": past})).json()
    assert paged["results"] == []
    bad = await api.get(f"/v1/models/{GEMMA.name}/versions", params={"cursor": "x"})
    assert_problem(bad, 400)
    assert_problem(await api.get("/v1/models/acme/nope/versions"), 404, "acme/nope")


async def test_webhook_secret(api: httpx.AsyncClient, app: EmulatorApp) -> None:
    response = await api.get("/v1/webhooks/default/secret")
    assert response.json() == {"key": WEBHOOK_SECRET}
    assert app.stats.requests["account"] == 1


@pytest.mark.parametrize(
    "options",
    [
        {"deployments": {"nope": GEMMA.name}},
        {"deployments": {"acme/x": "acme/unknown-model"}},
        {"webhook_secret": "secret"},
        {"webhook_secret": "whsec_"},
        {"webhook_secret": "whsec_not base64!"},
        {"webhook_retry_delays": (-1.0,)},
        {"webhook_retry_delays": (float("nan"),)},
        {"webhook_retry_delays": (0.1,) * 11},
        {"files_secret": ""},
        {"max_upload_bytes": 0},
    ],
)
def test_config_refuses(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (each option has its own message)
        EmulatorConfig(**options)  # type: ignore[arg-type]


def test_secrets_are_random_by_default_and_not_shown() -> None:
    first, second = EmulatorConfig(), EmulatorConfig()
    assert first.webhook_secret.startswith("whsec_")
    assert first.webhook_secret != second.webhook_secret
    assert first.files_secret != second.files_secret
    assert first.webhook_secret not in repr(first)
    assert first.files_secret not in repr(first)


# --- files ------------------------------------------------------------------------------------


async def upload(
    api: httpx.AsyncClient, content: bytes = b"hello", **fields: str
) -> httpx.Response:
    return await api.post(
        "/v1/files", files={"content": ("a.txt", content, "text/plain")}, data=fields
    )


async def test_files_create_get_list_delete(api: httpx.AsyncClient, app: EmulatorApp) -> None:
    response = await upload(api, metadata='{"ref": 7}')
    assert response.status_code == 201
    created = response.json()
    assert created == {
        "id": created["id"],
        "checksums": {"sha256": hashlib.sha256(b"hello").hexdigest()},
        "content_type": "text/plain",
        "created_at": datetime.fromtimestamp(EPOCH, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "expires_at": datetime.fromtimestamp(EPOCH + FILE_TTL, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        ),
        "metadata": {"ref": 7},
        "size": 5,
        "urls": {"get": f"{BASE}/v1/files/{created['id']}"},
    }
    assert (await api.get(created["urls"]["get"])).json() == created
    second = (await upload(api, b"two")).json()
    listed = (await api.get("/v1/files")).json()
    assert [f["id"] for f in listed["results"]] == [second["id"], created["id"]]
    assert listed["next"] is None
    deleted = await api.delete(f"/v1/files/{created['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert_problem(await api.get(f"/v1/files/{created['id']}"), 404, created["id"])
    assert_problem(await api.delete(f"/v1/files/{created['id']}"), 404)
    assert app.stats.requests["uploads"] == 7


async def test_file_fields_default_or_come_from_parts(api: httpx.AsyncClient) -> None:
    plain = (await api.post("/v1/files", files={"content": b"raw"})).json()
    assert (plain["content_type"], plain["metadata"]) == ("application/octet-stream", {})
    fields = {"type": "image/png", "filename": "b.png", "metadata[ref]": "7"}
    typed = await upload(api, b"png", **fields)
    assert (typed.json()["content_type"], typed.json()["metadata"]) == ("image/png", {"ref": "7"})


async def test_files_unknown_ids_and_bad_cursors(api: httpx.AsyncClient) -> None:
    for file_id in ("nope", "a" * 26, "x" * 5000, "%00"):
        assert_problem(await api.get(f"/v1/files/{file_id}"), 404)
        assert_problem(await api.delete(f"/v1/files/{file_id}"), 404)
    assert_problem(await api.get("/v1/files", params={"cursor": "bad"}), 400)


async def test_oversized_upload_is_413(api: httpx.AsyncClient, app: EmulatorApp) -> None:
    assert_problem(await upload(api, b"x" * 1001), 413, "1000 bytes")
    # Far more than the cap, with the overhead allowed for the other parts: cut off, still 413.
    assert_problem(await upload(api, b"x" * 200_000), 413, "1000 bytes")
    assert (await upload(api, b"x" * 1000)).status_code == 201
    assert len((await api.get("/v1/files")).json()["results"]) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"content": "x"}'),
        ("multipart/form-data", b"--b\r\n\r\n--b--"),  # no boundary
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data\r\n\r\nx"),
        ("multipart/form-data; boundary=b", b"--b\r\nno colon\r\n\r\nx\r\n--b--"),
        ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data; name="c"'),
        ("multipart/form-data; boundary=b", b"--bjunk\r\n\r\n\r\n--b--"),
        ("multipart/form-data; boundary=b", b"--b--"),  # no content part
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="content"\r\n\r\nx\r\n'
            b'--b\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n[1]\r\n--b--',
        ),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="content"\r\n\r\nx\r\n'
            b'--b\r\nContent-Disposition: form-data; name="type"\r\n\r\n\xff\r\n--b--',
        ),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="content"\r\n\r\nx\r\n'
            b'--b\r\nContent-Disposition: form-data; name="filename"\r\n\r\n'
            + b"f" * 256
            + b"\r\n--b--",
        ),
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="content"\r\n\r\nx\r\n'
            b'--b\r\nContent-Disposition: form-data; name="type"\r\n\r\n'
            + b"t" * 256
            + b"\r\n--b--",
        ),
    ],
)
async def test_malformed_uploads_are_400(
    api: httpx.AsyncClient, content_type: str, body: bytes
) -> None:
    response = await api.post("/v1/files", content=body, headers={"content-type": content_type})
    assert_problem(response, 400)
    assert (await api.get("/v1/files")).json()["results"] == []


def test_multipart_parts() -> None:
    body = (
        b"preamble\r\n--xyz \r\n"
        b'Content-Disposition: form-data; name="content"; filename="a \\"q\\".bin"\r\n'
        b"Content-Type: image/png\r\n\r\n"
        b"data with \r\n--xy inside\r\n"
        b"--xyz\r\nContent-Disposition: form-data; name=plain\r\n\r\n\r\n--xyz--\r\nepilogue"
    )
    parts = parse_multipart('multipart/form-data; boundary="xyz"', body)
    assert [(p.name, p.filename, p.content_type, p.data) for p in parts] == [
        ("content", 'a "q".bin', "image/png", b"data with \r\n--xy inside"),
        ("plain", None, None, b""),
    ]
    many = b"".join(
        b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n\r\n' for _ in range(MAX_PARTS + 1)
    )
    with pytest.raises(ValueError, match="parts"):
        parse_multipart("multipart/form-data; boundary=b", many + b"--b--")


async def test_download_by_signed_link(api: httpx.AsyncClient, clock: FakeClock) -> None:
    created = (await upload(api, b"secret bytes")).json()
    expiry = int(EPOCH) + 60
    signature = base64.b64encode(
        hmac.new(
            FILES_SECRET.encode(), f"emulator {created['id']} {expiry}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert signature == download_signature(FILES_SECRET, FILE_OWNER, created["id"], expiry)
    good = {"owner": FILE_OWNER, "expiry": str(expiry), "signature": signature}
    path = f"/v1/files/{created['id']}/download"
    async with httpx.AsyncClient(transport=api._transport, base_url=BASE) as anonymous:
        response = await anonymous.get(path, params=good)  # the signature is the credential
        assert (response.content, response.headers["content-type"]) == (
            b"secret bytes",
            "text/plain",
        )
        for bad in (
            {**good, "signature": "x" + signature[1:]},
            {**good, "owner": "someone"},
            {**good, "expiry": str(expiry + 1)},
        ):
            assert_problem(await anonymous.get(path, params=bad), 404, "not valid")
        for missing in ("owner", "expiry", "signature"):
            params = {k: v for k, v in good.items() if k != missing}
            assert_problem(await anonymous.get(path, params=params), 400)
        assert_problem(await anonymous.get(path, params={**good, "expiry": "-1"}), 400)
        assert_problem(await anonymous.get(path, params={**good, "expiry": "9" * 13}), 400)
        clock.now += 61
        assert_problem(await anonymous.get(path, params=good), 404, "expired")


async def test_files_expire(api: httpx.AsyncClient, clock: FakeClock) -> None:
    created = (await upload(api)).json()
    clock.now += FILE_TTL
    assert_problem(await api.get(f"/v1/files/{created['id']}"), 404)
    assert (await api.get("/v1/files")).json()["results"] == []


def test_upload_store_bounds(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    monkeypatch.setattr(replicatehome.emulator._uploads, "MAX_FILES", 3)
    monkeypatch.setattr(replicatehome.emulator._uploads, "MAX_STORED_BYTES", 10)
    store = UploadStore(clock=clock)

    def add(data: bytes) -> str:
        return store.add(data, content_type="t", filename="f", metadata={}).id

    ids = [add(b"1"), add(b"2"), add(b"3"), add(b"4")]
    assert [f.id for f in store.newest_first()] == ids[::-1][:3]  # the oldest evicted
    big = add(b"x" * 9)  # leaves room for 1 byte: only "4" can stay
    assert [f.id for f in store.newest_first()] == [big, ids[3]]
    huge = add(b"y" * 20)  # larger than the cap on its own: kept alone
    assert [f.id for f in store.newest_first()] == [huge]
    clock.now += FILE_TTL
    assert not store.delete(huge)  # expired: as if gone
    assert store.get(huge) is None


NEW_ROUTES = [
    ("GET", "/v1/predictions"),
    ("POST", f"/v1/deployments/{DEPLOYMENT}/predictions"),
    ("GET", f"/v1/deployments/{DEPLOYMENT}"),
    ("GET", f"/v1/models/{GEMMA.name}/versions"),
    ("GET", "/v1/webhooks/default/secret"),
    ("POST", "/v1/files"),
    ("GET", "/v1/files"),
    ("GET", "/v1/files/abc"),
    ("DELETE", "/v1/files/abc"),
]


@pytest.mark.parametrize(("method", "path"), NEW_ROUTES)
async def test_new_routes_need_a_token(api: httpx.AsyncClient, method: str, path: str) -> None:
    async with httpx.AsyncClient(transport=api._transport, base_url=BASE) as anonymous:
        response = await anonymous.request(method, path)
    assert_problem(response, 401)
