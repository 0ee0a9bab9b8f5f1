"""The default backend: the engine, in the worker, against the database index."""

from __future__ import annotations

from ..conf import dedup_settings
from ..index import find_matches
from ..models import DetectionTask, ImageFingerprint
from ..results import apply_result
from .base import DetectionBackend


class LocalBackend(DetectionBackend):
    """Looks a record up in the fingerprint index and applies the matches as a ``Result``.

    A ``DetectionTask`` (kind ``check``) is recorded only when there are matches, so a library
    backfill does not leave one task per image.
    """

    name = "local"

    def check(self, fp_record: ImageFingerprint) -> None:
        similarity = float(dedup_settings.SIMILARITY)
        matches = find_matches(fp_record, similarity)
        if not matches:
            return
        refs = [fp_record.ref, *(record.ref for record, _ in matches)]
        result: dict[str, object] = {"Groups": {"group0": refs}}
        if len(matches) == 1:
            result["Score"] = str(round(matches[0][1], 4))
        task = DetectionTask.objects.create(
            kind=DetectionTask.Kind.CHECK,
            backend=self.name,
            request={
                "Urls": refs,
                "Refs": {ref: ref for ref in refs},
                "Subject": fp_record.ref,
                "Similarity": similarity,
            },
        )
        apply_result(task, result)
