"""The upload check for Wagtail's upload paths: which existing images a new file nearly repeats.

A thin adapter over the index (``index.analysis`` + ``index.lookup.find_similar``), shaped like
the shared ``imagex_dedup.upload.check_upload(file, *, model, similarity=None, exclude=None)``
so it can be replaced by that function once it lands. The views only use ``matches``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import models

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine.similarity import display_score
from imagex_dedup.index.analysis import Analysis, analyse
from imagex_dedup.index.lookup import find_similar
from imagex_dedup.review.relations import content_type_ids


@dataclass(frozen=True)
class Match:
    """An existing object the upload nearly repeats."""

    object: models.Model
    score: float  # in [0, 1]

    @property
    def percent(self) -> float:
        """The score as people read it (see ``engine.similarity.display_score``)."""
        return display_score(self.score) * 100


@dataclass(frozen=True)
class UploadCheck:
    analysis: Analysis
    matches: list[Match] = field(default_factory=list)


def check_upload(
    file: IO[bytes],
    *,
    model: type[models.Model],
    similarity: float | None = None,
    exclude: Iterable[models.Model] = (),
) -> UploadCheck:
    """Fingerprint ``file`` and find the stored objects of ``model`` near it, best first.

    ``exclude`` names objects that must not match (the just-saved upload itself)."""
    threshold = dedup_settings.similarity if similarity is None else similarity
    file.seek(0)
    analysis = analyse(file, dedup_settings.load_limits())
    file.seek(0)
    if analysis.fingerprint is None:
        return UploadCheck(analysis)
    excluded = {str(obj.pk) for obj in exclude}
    types = set(content_type_ids(model._meta.concrete_model))
    found = [
        (record.object_id, score)
        for record, score in find_similar(analysis.fingerprint, threshold)
        if record.content_type_id in types and record.object_id not in excluded
    ]
    objects: dict[str, Any] = model._base_manager.in_bulk([pk for pk, _ in found])
    by_str = {str(pk): obj for pk, obj in objects.items()}
    return UploadCheck(analysis, [Match(by_str[pk], score) for pk, score in found if pk in by_str])
