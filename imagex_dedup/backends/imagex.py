"""The ``imagex`` backend: duplicate detection on veImageX (or another deployment of this app).

veImageX bills per input image and keeps no index, so each check is narrowed locally first: the
fingerprint index proposes the stored images scoring at least ``CANDIDATE_SIMILARITY`` (or
``SIMILARITY`` if lower) against the new one, and the ``TOP_K`` best are sent, by URL, with the
new image. The service decides which of them are duplicates at ``SIMILARITY``.

URLs go out in requests of at most ``BATCH_SIZE`` (the new image is in each). A check sending at
most ``ASYNC_THRESHOLD`` URLs waits for the answer; a larger one asks for ``Async`` processing
with a ``Callback`` to this app's callback view, which applies the result later. Each request is
one ``DetectionTask`` (kind ``remote``) whose ``request`` maps the URLs sent to host refs in the
format :mod:`imagex_dedup.groups` defines; results are applied by ``results.apply_result``.

Errors: the client already retried throttling, 5xx and transport failures. If those persist, the
task is marked failed and the error raised, so django-q2 retries the check later; other service
errors (bad credentials, parameters, quota) cannot improve on a retry: the task is marked failed
and the check ends. Groups are left untouched either way.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from imagex_dedup.backends.base import DetectionBackend
from imagex_dedup.backends.imagex_config import ImageXConfig
from imagex_dedup.backends.ratelimit import CacheRateLimiter
from imagex_dedup.backends.tokens import callback_url
from imagex_dedup.conf import dedup_settings
from imagex_dedup.db import refresh_connections
from imagex_dedup.groups import apply_result
from imagex_dedup.index.lookup import find_matches
from imagex_dedup.models import DetectionTask, ImageFingerprint
from imagex_dedup.volc.client import ImageXAPIError, ImageXClient

logger = logging.getLogger(__name__)


def image_url(record: ImageFingerprint) -> str:
    """The absolute URL the service can fetch ``record``'s image from.

    Built from the field's storage (so per-field storages and CDNs work) and made absolute
    with ``PUBLIC_BASE_URL`` when the storage gives a path.
    """
    model = ContentType.objects.get_for_id(record.content_type_id).model_class()
    if model is None:
        raise LookupError(f"no model for content type {record.content_type_id}")
    url = model._meta.get_field(record.field_name).storage.url(record.file_name)
    if urlsplit(url).scheme:
        return url
    base = dedup_settings.public_base_url
    if not base:
        raise ImproperlyConfigured(
            'The imagex backend needs IMAGEX_DEDUP["PUBLIC_BASE_URL"] to send storage URLs.'
        )
    return urljoin(base.rstrip("/") + "/", url)


def select_candidates(
    fp_record: ImageFingerprint, similarity: float, config: ImageXConfig
) -> list[ImageFingerprint]:
    """The ``TOP_K`` stored images most similar to ``fp_record`` above the candidate floor."""
    floor = min(config.candidate_similarity, similarity)
    return [record for record, _ in find_matches(fp_record, floor)[: config.top_k]]


def plan_batches(subject: str, others: list[str], batch_size: int) -> list[list[str]]:
    """Requests of at most ``batch_size`` URLs, each the subject plus a slice of ``others``."""
    step = batch_size - 1
    return [[subject, *others[start : start + step]] for start in range(0, len(others), step)]


class ImagexBackend(DetectionBackend):
    """Sends each check to the veImageX GetImageDuplicateDetection API."""

    name = "imagex"

    def __init__(self, *, session: requests.Session | None = None) -> None:
        # ``session`` lets tests put a transport adapter under the client.
        self._session = session

    def _client(self, config: ImageXConfig) -> ImageXClient:
        if not (config.access_key_id and config.secret_access_key and config.service_id):
            raise ImproperlyConfigured(
                "The imagex backend needs ACCESS_KEY_ID, SECRET_ACCESS_KEY (or VOLC_ACCESSKEY, "
                'VOLC_SECRETKEY) and SERVICE_ID in IMAGEX_DEDUP["IMAGEX"].'
            )
        return ImageXClient(
            config.credentials,
            endpoint=config.endpoint or None,
            timeout=config.timeout,
            rate_limiter=CacheRateLimiter(config.rate_limit, cache_alias=config.rate_limit_cache),
            session=self._session,
        )

    def check(self, fp_record: ImageFingerprint) -> None:
        config = ImageXConfig.from_settings()
        similarity = dedup_settings.similarity
        refs: dict[str, str] = {image_url(fp_record): fp_record.ref}
        for record in select_candidates(fp_record, similarity, config):
            # Two host objects sharing one file send it once; the first keeps the URL.
            refs.setdefault(image_url(record), record.ref)
        subject, *others = refs
        if not others:
            return  # nothing the service could group it with: no request, no cost
        use_async = len(refs) > config.async_threshold
        with self._client(config) as client:
            for urls in plan_batches(subject, others, config.batch_size):
                task = DetectionTask(
                    kind=DetectionTask.Kind.REMOTE,
                    backend=self.name,
                    request={
                        "Urls": urls,
                        "Refs": {url: refs[url] for url in urls},
                        "Subject": fp_record.ref,
                        "Similarity": similarity,
                        "ServiceId": config.service_id,
                    },
                )
                if use_async:
                    task.callback_url = callback_url(task)
                task.save()
                self._send(client, config, task)

    def _send(self, client: ImageXClient, config: ImageXConfig, task: DetectionTask) -> None:
        try:
            try:
                reply = client.get_image_duplicate_detection(
                    config.service_id,
                    task.request["Urls"],
                    similarity=task.request["Similarity"],
                    async_=bool(task.callback_url),
                    callback=task.callback_url,
                )
            finally:
                refresh_connections()  # the session may have been dropped during the wait
            if not task.callback_url:
                apply_result(task, reply)
                return
            if not reply.get("TaskId"):
                raise ImageXAPIError("InvalidResponse", None, "no TaskId in the reply", 200, None)
            task.remote_task_id = str(reply["TaskId"])
            task.save(update_fields=["remote_task_id"])
        except Exception as error:
            _fail(task, error)
            if isinstance(error, ImageXAPIError) and not error.retryable:
                logger.warning("imagex_dedup: veImageX refused task %s: %s", task.task_id, error)
                return
            raise


def _fail(task: DetectionTask, error: Exception) -> None:
    details: dict[str, Any] = {"Message": str(error)}
    if isinstance(error, ImageXAPIError):
        details = {
            "Code": error.code,
            "CodeN": error.code_n,
            "Message": error.message,
            "HttpStatus": error.http_status,
            "RequestId": error.request_id,
        }
    task.status = DetectionTask.Status.FAILED
    task.error = str(error)
    task.result = {"Groups": {}, "Error": details}
    task.finished_at = timezone.now()
    task.save(update_fields=["status", "error", "result", "finished_at"])
