"""Benchmark runner for Replicate's new SDK, ``replicate`` 2.x (a pre-release), in its own venv.

    python replicate_2.py cold URL
    python replicate_2.py FIGURE URL [options]

It speaks the official ``/v1`` API only: ``replicate.Replicate(bearer_token=...,
base_url=...)``, where the base URL ends in ``/v1``. Predictions of an official model are
created with ``client.models.predictions.create(model_owner=..., model_name=..., input=...)``;
``client.predictions.wait(id)`` gets the prediction at once, then every ``client.poll_interval``
(0.5 s, ``$REPLICATE_POLL_INTERVAL``). The async figure uses ``replicate.AsyncReplicate``.
"""

from __future__ import annotations

import sys

OWNER, NAME = "google-deepmind", "gemma-2b-it"
TOKEN = "r8_benchmark"


def cold(url: str) -> None:
    """Import, make a client, create one prediction."""
    import replicate

    with replicate.Replicate(bearer_token=TOKEN, base_url=f"{url}/v1") as client:
        client.models.predictions.create(
            model_owner=OWNER, model_name=NAME, input={"prompt": "cold start"}
        )


def main(argv):
    if argv[0] == "cold":
        cold(argv[1])
        return

    import _common
    import replicate

    def fresh(options):
        return replicate.Replicate(bearer_token=TOKEN, base_url=f"{options.url}/v1")

    def fresh_async(options):
        return replicate.AsyncReplicate(bearer_token=TOKEN, base_url=f"{options.url}/v1")

    def run_one(client, inputs):
        created = client.models.predictions.create(model_owner=OWNER, model_name=NAME, input=inputs)
        prediction = client.predictions.wait(created.id)
        return prediction.id, prediction.status, prediction.created_at, prediction.completed_at

    def create_get(client, inputs):
        created = client.models.predictions.create(model_owner=OWNER, model_name=NAME, input=inputs)
        client.predictions.get(prediction_id=created.id)

    async def run_one_async(client, inputs):
        created = await client.models.predictions.create(
            model_owner=OWNER, model_name=NAME, input=inputs
        )
        prediction = await client.predictions.wait(created.id)
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
