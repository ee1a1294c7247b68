"""Bearer-token auth for every ``/v1`` route: a 401 problem unless the token is accepted."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ._backend import Backend
from ._responses import problem
from ._routing import Endpoint

__all__ = ["authenticated"]


def authenticated(backend: Backend, endpoint: Endpoint) -> Endpoint:
    """Wrap `endpoint` so that it runs only for a request with a token `backend` accepts."""

    async def checked(request: Request) -> Response:
        refusal = _refusal(backend, request)
        return refusal if refusal is not None else await endpoint(request)

    return checked


def _refusal(backend: Backend, request: Request) -> Response | None:
    """The 401 for a request without an accepted token, or ``None``. Tokens are never echoed."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    # "Token" is the scheme Replicate's API documented first, which older clients still send.
    if scheme.lower() not in ("bearer", "token") or not token:
        return _unauthenticated(request, "You did not pass an authentication token")
    accepted = backend.config.api_tokens
    if accepted is not None and token not in accepted:
        return _unauthenticated(
            request, "You did not pass a valid authentication token", title="Invalid token"
        )
    return None


def _unauthenticated(request: Request, detail: str, *, title: str = "Unauthenticated") -> Response:
    return problem(
        401, title, detail, instance=request.url.path, headers={"WWW-Authenticate": "Bearer"}
    )
