"""The interface every detection backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from ..models import ImageFingerprint


class DetectionBackend(ABC):
    """Finds the duplicates of one stored host image and applies them.

    ``check`` runs inside a django-q2 worker. It must record its outcome through
    ``imagex_dedup.results.apply_result`` (at once, or later from the callback view), so that
    every backend changes groups the same way.
    """

    name: ClassVar[str]

    @abstractmethod
    def check(self, fp_record: ImageFingerprint) -> None:
        """Look for duplicates of ``fp_record`` (a record with a usable fingerprint)."""
