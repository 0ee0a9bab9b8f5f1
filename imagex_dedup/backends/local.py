"""The default backend: the engine, in the worker, against the database index."""

from __future__ import annotations

from django.utils import timezone

from imagex_dedup.backends.base import DetectionBackend
from imagex_dedup.conf import dedup_settings
from imagex_dedup.db import write_transaction
from imagex_dedup.groups import link
from imagex_dedup.index.lookup import find_matches
from imagex_dedup.models import DetectionTask, ImageFingerprint


class LocalBackend(DetectionBackend):
    """Looks a record up in the fingerprint index and links it with its matches.

    The matches go to :func:`imagex_dedup.groups.link` as they are (records and scores): no
    wire ``Result`` is built and parsed back. A ``DetectionTask`` (kind ``check``) records each
    check that found matches (``result``: ``{"Matches": {ref: score}}``), so a library backfill
    does not leave one task per image.
    """

    name = "local"

    def check(self, fp_record: ImageFingerprint) -> None:
        similarity = dedup_settings.similarity
        matches = find_matches(fp_record, similarity)
        if not matches:
            return
        with write_transaction():
            DetectionTask.objects.create(
                kind=DetectionTask.Kind.CHECK,
                backend=self.name,
                status=DetectionTask.Status.SUCCESS,
                request={"Subject": fp_record.ref, "Similarity": similarity},
                result={"Matches": {record.ref: score for record, score in matches}},
                finished_at=timezone.now(),
            )
            link(fp_record, matches, similarity=similarity, backend=self.name)
