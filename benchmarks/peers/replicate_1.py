"""Benchmark runner for replicate-python 1.x (the ``replicate`` package), in its own venv.

    python replicate_1.py cold URL
    python replicate_1.py FIGURE URL [options]

It speaks the official ``/v1`` API only, with a dummy token: ``replicate.Client(api_token=...,
base_url=...)``, where the base URL is the server's root. It waits as it does by default:
`Prediction.wait` polls every ``client.poll_interval`` (0.5 s, ``$REPLICATE_POLL_INTERVAL``),
sleeping first. The async figure uses ``predictions.async_create`` and ``async_wait``.
"""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager, contextmanager

MODEL = "google-deepmind/gemma-2b-it"
TOKEN = "r8_benchmark"


def cold(url: str) -> None:
    """Import, make a client, create one prediction."""
    import replicate

    client = replicate.Client(api_token=TOKEN, base_url=url)
    client.predictions.create(model=MODEL, input={"prompt": "cold start"})


def main(argv):
    if argv[0] == "cold":
        cold(argv[1])
        return

    import _common
    import replicate

    @contextmanager
    def fresh(options):
        client = replicate.Client(api_token=TOKEN, base_url=options.url)
        try:
            yield client
        finally:
            client._client.close()

    @asynccontextmanager
    async def fresh_async(options):
        client = replicate.Client(api_token=TOKEN, base_url=options.url)
        try:
            yield client
        finally:
            await client._async_client.aclose()

    def run_one(client, inputs):
        prediction = client.predictions.create(model=MODEL, input=inputs)
        prediction.wait()
        return prediction.id, prediction.status, prediction.created_at, prediction.completed_at

    def create_get(client, inputs):
        prediction = client.predictions.create(model=MODEL, input=inputs)
        client.predictions.get(prediction.id)

    async def run_one_async(client, inputs):
        prediction = await client.predictions.async_create(model=MODEL, input=inputs)
        await prediction.async_wait()
        return prediction.status

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
