"""The interface every detection backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from imagex_dedup.models import ImageFingerprint


class DetectionBackend(ABC):
    """Finds the duplicates of one stored host image and applies them.

    ``check`` runs inside a django-q2 worker. It must record its outcome through
    :mod:`imagex_dedup.groups` (``link`` for matches it found itself, ``apply_result`` for a
    wire ``Result``, at once or later from the callback view), so that every backend changes
    groups the same way.
    """

    name: ClassVar[str]

    @abstractmethod
    def check(self, fp_record: ImageFingerprint) -> None:
        """Look for duplicates of ``fp_record`` (a record with a usable fingerprint)."""
