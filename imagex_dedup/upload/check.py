"""The check itself: does an uploaded file look like images already in the library?

:func:`check_upload` fingerprints the file with the site's limits, looks the fingerprint up in
the index at the host's similarity, and returns an :class:`UploadCheck`: the matches (host
objects that still exist, best first) and the analysis. The analysis is also handed to the save
hook (:mod:`imagex_dedup.index.handoff`), so the worker that stores the saved image does not
decode it again.

A check that cannot run (a file it cannot read or decode, a database error) never stops a save:
it logs, and returns a result without matches whose ``error`` says why.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, models, transaction
from django.urls import NoReverseMatch, reverse

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine.similarity import display_score, parse_similarity
from imagex_dedup.hook.registry import get_registration
from imagex_dedup.index import handoff
from imagex_dedup.index.analysis import Analysis, analyse
from imagex_dedup.index.lookup import find_similar
from imagex_dedup.models import ImageFingerprint
from imagex_dedup.review.perms import can_view_host

logger = logging.getLogger(__name__)

WARN, BLOCK, OFF = "warn", "block", "off"


def upload_check_mode(model: type[models.Model]) -> str:
    """``"warn"``, ``"block"`` or ``"off"`` for uploads to ``model``: its registration's
    ``upload_check``, else the ``UPLOAD_CHECK`` setting; ``"off"`` for a model not registered."""
    registration = get_registration(model)
    if registration is None:
        return OFF
    return registration.upload_check or dedup_settings.upload_check


@dataclass(frozen=True)
class UploadMatch:
    """One library image the upload looks like: its index record, its host object, the score."""

    record: ImageFingerprint
    object: models.Model
    score: float

    @property
    def label(self) -> str:
        return str(self.object)

    @property
    def shown_score(self) -> float:
        return display_score(self.score)

    @property
    def percent(self) -> float:
        """The shown score as a percentage, for templates ("93% similar")."""
        return self.shown_score * 100

    def admin_url(self, site_name: str = "admin") -> str | None:
        """The host object's change page on the admin site ``site_name`` (``None`` when its
        model is not in that admin)."""
        opts = self.object._meta
        try:
            return reverse(
                f"{site_name}:{opts.app_label}_{opts.model_name}_change", args=[self.object.pk]
            )
        except NoReverseMatch:
            return None

    @property
    def thumbnail_url(self) -> str | None:
        """A small preview, served to users who may view the host model (``None`` when the
        app's URLs are not mounted)."""
        try:
            return reverse("imagex_dedup:upload-thumbnail", args=[self.record.pk])
        except NoReverseMatch:
            return None

    def visible_to(self, user: Any) -> bool:
        """May ``user`` see this match (view or change permission on its host model)?"""
        return user is not None and can_view_host(user, type(self.object))


@dataclass(frozen=True)
class UploadCheck:
    """What :func:`check_upload` found.

    ``mode`` is the model's upload-check mode; ``analysis`` the upload's fingerprint and facts
    (``None`` when the check was off); ``error`` says why the check could not run (then there
    are no matches and the save goes ahead).
    """

    mode: str
    similarity: float = 0.0
    analysis: Analysis | None = None
    matches: tuple[UploadMatch, ...] = ()
    error: str = ""

    @property
    def can_confirm(self) -> bool:
        """May the uploader save anyway? (``"warn"`` mode)"""
        return self.mode == WARN

    def stops_save(self, *, confirmed: bool) -> bool:
        """Must the save wait? Yes when there are matches, unless the mode is ``"warn"`` and the
        uploader confirmed."""
        return bool(self.matches) and not (confirmed and self.can_confirm)

    def visible_matches(self, user: Any) -> list[UploadMatch]:
        return [match for match in self.matches if match.visible_to(user)]


def check_upload(
    file: IO[bytes] | bytes,
    *,
    model: type[models.Model],
    similarity: float | None = None,
    exclude: models.Model | Iterable[models.Model] | None = None,
) -> UploadCheck:
    """Look an uploaded image up in the library before it is saved.

    ``file``: the upload (a Django ``UploadedFile``, any binary file object, or bytes); its
    position is put back, so the save reads it whole. ``model``: the host model it is uploaded
    to (its registration decides the mode). ``similarity``: the threshold (default
    ``SIMILARITY``). ``exclude``: the host object being changed (or several objects), which never
    match.
    Nothing is done when the mode is ``"off"``.
    """
    mode = upload_check_mode(model)
    if mode == OFF:
        return UploadCheck(mode=mode)
    threshold = parse_similarity(dedup_settings.similarity if similarity is None else similarity)
    analysis = analyse_upload(file)
    if analysis.error:
        logger.warning(
            "imagex_dedup: upload to %s not checked: %s", model._meta.label, analysis.error
        )
        return UploadCheck(mode, threshold, analysis, error=analysis.error)
    handoff.remember(analysis)
    try:
        # A savepoint: a failed look-up must not break the transaction the save runs in.
        with transaction.atomic(using=ImageFingerprint.objects.db):
            excluded = _refs_of(exclude)
            found = find_similar(analysis.fingerprint or b"", threshold)
            matches = _with_objects(
                (record, score) for record, score in found if _ref(record) not in excluded
            )
    except DatabaseError as error:
        logger.exception("imagex_dedup: upload to %s not checked", model._meta.label)
        return UploadCheck(mode, threshold, analysis, error=f"database_error: {error}")
    return UploadCheck(mode, threshold, analysis, tuple(matches))


def analyse_upload(file: IO[bytes] | bytes) -> Analysis:
    """Fingerprint an upload with the site's limits, reading at most one byte over the size
    limit, and put the file's position back."""
    if isinstance(file, bytes | bytearray | memoryview):
        return analyse(bytes(file), dedup_settings.load_limits())
    try:
        position = file.tell()
        file.seek(0)
        data = file.read(dedup_settings.max_image_bytes + 1)
        file.seek(position)
    except (OSError, ValueError) as error:  # ValueError: a closed file
        return Analysis(error=f"unreadable: {error}")
    return analyse(data, dedup_settings.load_limits())


def _ref(record: ImageFingerprint) -> tuple[int, str]:
    return (record.content_type_id, record.object_id)


def _refs_of(exclude: models.Model | Iterable[models.Model] | None) -> set[tuple[int, str]]:
    """``(content type id, object id)`` of the saved objects in ``exclude``."""
    objects = [exclude] if isinstance(exclude, models.Model) else list(exclude or ())
    return {
        (ContentType.objects.get_for_model(obj).pk, str(obj.pk))
        for obj in objects
        if obj.pk is not None
    }


def _with_objects(found: Iterable[tuple[ImageFingerprint, float]]) -> list[UploadMatch]:
    """The matches whose host object still exists (one query per host model), best first."""
    found = list(found)
    by_type: dict[int, list[ImageFingerprint]] = defaultdict(list)
    for record, _score in found:
        by_type[record.content_type_id].append(record)
    objects: dict[tuple[int, str], models.Model] = {}
    for content_type_id, records in by_type.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            continue
        pk_field = model._meta.pk
        ids = {pk_field.to_python(record.object_id) for record in records}
        for obj in model._base_manager.filter(pk__in=ids):
            objects[(content_type_id, str(obj.pk))] = obj
    return [
        UploadMatch(record, objects[(record.content_type_id, record.object_id)], score)
        for record, score in found
        if (record.content_type_id, record.object_id) in objects
    ]
