"""The ASGI application of ``approvalflow serve``: the HTTP API and, when present, the 电子监察 console.

:func:`create_app` builds a FastAPI application over a :class:`~approvalflow.service.context.ServiceContext`; the
OpenAPI document is generated from the routes' pydantic models and served at ``/openapi.json`` (the interactive
documentation at ``/docs``). Every error is an RFC 9457 problem (:mod:`approvalflow.service.problems`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse

from .api import router
from .context import ServiceContext
from .problems import install

__all__ = ["create_app"]

DESCRIPTION = """\
The HTTP API of approvalflow: deploy BPMN processes, start cases, complete steps and every approval operation
(签收, 转办, 委派, 退回, 撤回, 撤销, 终止, 中止, 加签, 减签, 抄送, 催办, 一次告知, 补正), under the same rules,
audit trail and case store as the library. Authenticate with `Authorization: Bearer <key>` (keys made by
`approvalflow keys create`). Errors are RFC 9457 problem details (`application/problem+json`) carrying the rule
ids of a refusal. Guide: docs/service.md.
"""


def _console_router() -> APIRouter | None:
    """The router of the 电子监察 console (:mod:`approvalflow.service.console`), or None when it is not installed."""
    try:
        from .console import router  # type: ignore[import-not-found,attr-defined,unused-ignore]
    except ImportError:
        return None
    return router if isinstance(router, APIRouter) else None


def _version() -> str:
    """The installed approvalflow's version (the package's ``__version__`` is a layer above this one)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("approvalflow")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "0+unknown"


def _with_extra_schemas(app: FastAPI) -> None:
    """The OpenAPI document also defines the models a route reads itself (the JSON body of a deploy)."""
    from pydantic.json_schema import models_json_schema

    from .models import DeployBody

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)  # fmt: skip
            _, defs = models_json_schema([(DeployBody, "validation")], ref_template="#/components/schemas/{model}")
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(context: ServiceContext, *, console: bool = True) -> FastAPI:
    """The application serving ``context``: the API under ``/api/v1``, the console under ``/console`` (when
    ``console`` and the console module is installed), the OpenAPI document at ``/openapi.json``.

    While it serves (its lifespan: uvicorn; a test client used in a ``with`` block), the routes' worker threads are
    ``context.threads`` at most when that is set."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if context.threads is not None:
            import anyio.to_thread

            anyio.to_thread.current_default_thread_limiter().total_tokens = context.threads
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="approvalflow",
        version=_version(),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.context = context
    install(app)
    app.include_router(router)
    _with_extra_schemas(app)
    pages = _console_router() if console else None
    if pages is not None:
        app.include_router(pages)

        @app.get("/", include_in_schema=False)
        def home() -> RedirectResponse:
            return RedirectResponse("/console")

    return app
