"""Who may call a service and read its tasks.

* A request signed with an access key may use that key's service only, and read that
  service's tasks.
* A user of the host site (any DRF authentication) may use the services they own and read the
  tasks they created or that belong to services they own.
* Staff users holding :data:`USE_ANY_SERVICE` may use every service and read every task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from imagex_dedup.models import AccessKey, DetectionService, DetectionTask
from imagex_dedup.service.errors import ServiceError

USE_ANY_SERVICE = "imagex_dedup.use_any_detectionservice"


@dataclass(frozen=True)
class Caller:
    """The authenticated party of a request: a signing access key and/or a host-site user."""

    user: Any = None  # an authenticated user, or None
    access_key: AccessKey | None = None

    @property
    def access_key_id(self) -> str:
        return self.access_key.access_key_id if self.access_key else ""

    @property
    def can_use_any(self) -> bool:
        user = self.user
        return bool(
            self.access_key is None
            and user is not None
            and user.is_staff
            and user.has_perm(USE_ANY_SERVICE)
        )


def get_service(caller: Caller, service_id: str, action: str) -> DetectionService:
    """The active service ``service_id`` if ``caller`` may use it, else ServiceError."""
    service = DetectionService.objects.filter(service_id=service_id, is_active=True).first()
    if service is None:
        raise ServiceError("InvalidServiceId", None, service_id)
    if caller.access_key is not None:
        allowed = caller.access_key.service_id == service.pk
    else:
        allowed = caller.can_use_any or (
            caller.user is not None and service.owner_id == caller.user.pk
        )
    if not allowed:
        raise ServiceError("AccessDenied", None, f"{action} on ServiceId {service_id}")
    return service


def visible_tasks(caller: Caller) -> QuerySet[DetectionTask]:
    """The service tasks ``caller`` may poll."""
    tasks = DetectionTask.objects.filter(kind=DetectionTask.Kind.SERVICE)
    if caller.access_key is not None:
        return tasks.filter(service_id=caller.access_key.service_id)
    if caller.can_use_any:
        return tasks
    if caller.user is None:
        return tasks.none()
    return tasks.filter(Q(created_by=caller.user) | Q(service__owner=caller.user))
