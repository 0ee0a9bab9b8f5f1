"""The app's OpenAPI schema, Swagger UI and ReDoc, working in any host and offline.

* Every DRF view of the app declares :data:`SCHEMA` itself, so the host's
  ``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]`` does not matter.
* The schema describes the app's own views only: a host view drf-spectacular cannot describe
  cannot break it.
* The pages use templates of this app and the JavaScript of ``drf-spectacular-sidecar``, read
  from that package by :func:`asset` (no CDN, no ``collectstatic``, and neither
  ``drf_spectacular`` nor its sidecar need be in ``INSTALLED_APPS``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import drf_spectacular_sidecar
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.static import serve
from drf_spectacular import utils
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.schemas.inspectors import ViewInspector

F = TypeVar("F", bound=Callable[..., Any])


class _AppSchema(ViewInspector):
    """A view's ``schema``: DRF's ``DefaultSchema`` with drf-spectacular's ``AutoSchema`` in
    place of the host's ``DEFAULT_SCHEMA_CLASS`` (a fresh inspector bound to the view at each
    access, unless one was set on the view instance, as schema generators do)."""

    def __get__(self, instance: Any, owner: type) -> Any:
        result = super().__get__(instance, owner)
        if not isinstance(result, _AppSchema):
            return result
        inspector = AutoSchema()
        inspector.view = instance
        return inspector


SCHEMA = _AppSchema()


def extend_schema(**kwargs: Any) -> Callable[[F], F]:
    """drf-spectacular's ``extend_schema`` for a view method, based on drf-spectacular's
    ``AutoSchema``.

    The original bases the schema class it makes on the host's ``DEFAULT_SCHEMA_CLASS`` (DRF's
    own, unless the host changed it), at import, unless the decorated function names one.
    """
    decorate = utils.extend_schema(**kwargs)

    def decorator(function: F) -> F:
        function.schema = AutoSchema  # type: ignore[attr-defined]
        decorated = decorate(function)
        del function.schema  # type: ignore[attr-defined]
        return decorated

    return decorator


SIDECAR_ROOT = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"
ASSET_DIRS = ("swagger-ui-dist/", "redoc/bundles/")
ASSET_MAX_AGE = 24 * 3600
SETTINGS = {"TITLE": "imagex_dedup", "DESCRIPTION": "Service and REST API of imagex_dedup."}


def only_this_app(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    """drf-spectacular preprocessing hook: keep the endpoints whose view is this app's."""
    return [e for e in endpoints if e[3].cls.__module__.startswith("imagex_dedup.")]


def asset_url(name: str) -> str:
    return reverse("imagex_dedup:apidocs-asset", args=[name])


def asset(request: HttpRequest, name: str) -> HttpResponse:
    """One file of the sidecar's Swagger UI or ReDoc distribution."""
    if not name.startswith(ASSET_DIRS):
        raise Http404(name)
    response = serve(request, name, document_root=SIDECAR_ROOT)
    response["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}"
    return response


class SchemaView(SpectacularAPIView):
    """The OpenAPI document (YAML, or JSON with ``?format=json``) of the app's views."""

    schema = None  # not an endpoint of the API it describes
    custom_settings = {**SETTINGS, "PREPROCESSING_HOOKS": [f"{__name__}.only_this_app"]}


class SwaggerView(SpectacularSwaggerView):
    schema = None
    template_name = "imagex_dedup/apidocs/swagger_ui.html"
    title = "imagex_dedup API"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return asset_url(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return asset_url("swagger-ui-dist/favicon-32x32.png")


class RedocView(SpectacularRedocView):
    schema = None
    template_name = "imagex_dedup/apidocs/redoc.html"
    title = "imagex_dedup API"

    @staticmethod
    def _redoc_standalone() -> str:
        return asset_url("redoc/bundles/redoc.standalone.js")
