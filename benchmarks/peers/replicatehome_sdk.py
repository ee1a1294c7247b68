"""Benchmark runner for this project's SDK, as installed in the interpreter that runs it.

    python replicatehome_sdk.py cold URL [homepage|official]
    python replicatehome_sdk.py FIGURE URL [--protocol homepage|official] [options]

``cold`` imports the SDK, makes a `Client` and creates one prediction, and nothing else: the
driver times the whole process. The other figures are described in ``_common.py``. The homepage
protocol is anonymous and polls; the official one takes a (dummy) token and follows the event
stream. `predictions.create` then `wait` is used on both, as the peers do. The timed figures'
inputs carry the emulator's duration key, which is no input of the model, so they are sent
unchecked (``validate_input=False``), as the peers send them; ``cold`` and ``cpu`` send the
model's own input, checked against its schema as users' calls are by default.
"""

from __future__ import annotations

import sys

MODEL = "gemma-2b"
"""The catalog's alias of ``google-deepmind/gemma-2b-it``."""
TOKEN = "r8_benchmark"


def cold(url: str, protocol: str) -> None:
    """Import, make a client, create one prediction: what a script or a serverless start feels."""
    from replicatehome import Client

    token = TOKEN if protocol == "official" else None
    with Client(base_url=url, api_token=token) as client:
        client.predictions.create(MODEL, input={"prompt": "cold start"})


def main(argv: list[str]) -> None:
    """Measure the figure asked for, and print it as JSON."""
    if argv[0] == "cold":
        cold(argv[1], argv[2] if len(argv) > 2 else "homepage")
        return

    import _common

    from replicatehome import AsyncClient, Client

    def fresh(options: _common.Options) -> Client:
        token = TOKEN if options.protocol == "official" else None
        return Client(base_url=options.url, api_token=token)

    def fresh_async(options: _common.Options) -> AsyncClient:
        token = TOKEN if options.protocol == "official" else None
        return AsyncClient(base_url=options.url, api_token=token)

    def run_one(client: Client, inputs: dict[str, object]) -> tuple[str, str, object, object]:
        prediction = client.predictions.create(MODEL, input=inputs, validate_input=False)
        prediction.wait()
        snapshot = prediction.snapshot
        return snapshot.id, snapshot.status.value, snapshot.created_at, snapshot.completed_at

    def create_get(client: Client, inputs: dict[str, object]) -> None:
        prediction = client.predictions.create(MODEL, input=inputs)
        client.predictions.get(prediction.id)

    async def run_one_async(client: AsyncClient, inputs: dict[str, object]) -> str:
        prediction = await client.predictions.create(MODEL, input=inputs, validate_input=False)
        await prediction.wait()
        return prediction.status.value

    _common.run(
        argv,
        fresh=fresh,
        run_one=run_one,
        create_get=create_get,
        fresh_async=fresh_async,
        run_one_async=run_one_async,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
