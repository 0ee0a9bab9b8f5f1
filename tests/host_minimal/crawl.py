"""Run in a child process with ``tests.host_minimal.settings``: request every URL the app
mounts (and its admin pages), anonymously and as a superuser, and print ``{key: status}`` as
JSON. A plain module so the host's settings never meet the test run's."""

from __future__ import annotations

import json
import re

import django

django.setup()

from django.contrib import admin  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import URLPattern, URLResolver, get_resolver, reverse  # noqa: E402

# Values for the URL parameters of the app's routes.
SAMPLES = {
    "task_id": "no-such-task",
    "member_id": "1",
    "pk": "1",
    "format": "json",
    "name": "swagger-ui-dist/swagger-ui.css",
}


def app_urls() -> list[str]:
    """Every named route of the ``imagex_dedup`` namespace, reversed with sample values."""
    urls = set()

    def walk(patterns: list[URLPattern | URLResolver], namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, entry.namespace or namespace)
            elif namespace == "imagex_dedup" and entry.name:
                names = entry.pattern.regex.groupindex
                kwargs = {key: SAMPLES[key] for key in names}
                urls.add(reverse(f"imagex_dedup:{entry.name}", kwargs=kwargs))

    walk(get_resolver().url_patterns, "")
    urls.add(reverse("imagex_dedup:service").rstrip("/"))  # the slash-less service
    return sorted(urls)


def admin_urls() -> list[str]:
    urls = []
    for model in admin.site._registry:
        if model._meta.app_label == "imagex_dedup":
            prefix = f"admin:imagex_dedup_{model._meta.model_name}"
            urls += [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
    return sorted(urls)


def main() -> None:
    anonymous, staff = Client(raise_request_exception=False), Client(raise_request_exception=False)
    staff.force_login(get_user_model().objects.create_superuser("admin", password="pw"))
    statuses: dict[str, int] = {}
    for url in app_urls():
        for who, client in (("anonymous", anonymous), ("staff", staff)):
            statuses[f"GET {url} {who}"] = client.get(url).status_code
            statuses[f"POST {url} {who}"] = client.post(url, b"{}", "application/json").status_code
    for url in admin_urls():
        statuses[f"GET {url} staff"] = staff.get(url).status_code
    service = {}
    for url in (reverse("imagex_dedup:service"), reverse("imagex_dedup:service").rstrip("/")):
        query = "?Action=GetImageDuplicateDetection&Version=2018-08-01&ServiceId=demo"
        answer = anonymous.post(url + query, b'{"Urls": []}', "application/json")
        error = json.loads(answer.content)["ResponseMetadata"]["Error"]
        service[f"POST {url}"] = [answer.status_code, error["Code"], error["CodeN"]]
    schema = anonymous.get(reverse("imagex_dedup:api-schema"), {"format": "json"})
    paths = sorted(json.loads(schema.content)["paths"]) if schema.status_code == 200 else []
    docs = anonymous.get(reverse("imagex_dedup:api-docs")).content.decode()
    assets = sorted(set(re.findall(r'(?:src|href)="([^"]+)"', docs)))
    report = {"statuses": statuses, "service": service, "schema_paths": paths}
    print(json.dumps({**report, "docs_assets": assets}))


if __name__ == "__main__":
    main()
