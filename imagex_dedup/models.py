"""Database records of imagex_dedup.

Host objects are referenced through ``(content_type, object_id, field_name)``: a generic relation,
with a ``CharField`` object id so UUID and string primary keys work too.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _new_task_id() -> str:
    return uuid.uuid4().hex


class HostObjectRef(models.Model):
    """Abstract: a pointer to one image field of one host object."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.CharField(max_length=191)
    field_name = models.CharField(max_length=100)
    content_object = GenericForeignKey("content_type", "object_id")

    class Meta:
        abstract = True

    @property
    def ref(self) -> str:
        """A stable text key ``"<content_type_id>:<object_id>:<field_name>"``."""
        return f"{self.content_type_id}:{self.object_id}:{self.field_name}"


class ImageFingerprint(HostObjectRef):
    """The perceptual fingerprint of one image field of one host object."""

    fingerprint = models.BinaryField(null=True, blank=True, editable=False)
    fingerprint_version = models.PositiveSmallIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)
    file_name = models.CharField(max_length=500, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    format = models.CharField(max_length=16, blank=True)
    byte_size = models.BigIntegerField(null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "When its duplicates were last looked up; empty while stored but not checked yet "
            "(an interrupted dedup_scan does it again)."
        ),
    )
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("image fingerprint")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field_name"],
                name="imagex_dedup_fingerprint_unique_ref",
            )
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_id}.{self.field_name}"


class ImageFingerprintKey(models.Model):
    """Inverted index over fingerprints: one row per key from ``engine.index_keys``.

    A new image is looked up with ``key IN engine.query_keys(fp)``, so a check reads only the
    candidates that share a key instead of every stored fingerprint.
    """

    fingerprint = models.ForeignKey(ImageFingerprint, on_delete=models.CASCADE, related_name="keys")
    key = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["key", "fingerprint"], name="imagex_dedup_key_idx")]

    def __str__(self) -> str:
        return f"{self.key} -> {self.fingerprint_id}"


class DuplicateGroup(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        MERGED = "merged", _("merged")
        DISMISSED = "dismissed", _("not duplicates")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    similarity = models.FloatField(help_text=_("Threshold the group was found at."))
    backend = models.CharField(max_length=32, default="local")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("duplicate group")
        ordering = ["-created_at", "-pk"]
        # Merging deletes host rows, so it has its own permission on top of "change".
        permissions = [("merge_duplicategroup", _("Can merge duplicate groups"))]
        indexes = [models.Index(fields=["status", "-created_at"], name="imagex_dedup_group_status")]

    def __str__(self) -> str:
        return f"Duplicate group #{self.pk} ({self.get_status_display()})"


class DuplicateGroupMember(HostObjectRef):
    group = models.ForeignKey(DuplicateGroup, on_delete=models.CASCADE, related_name="members")
    fingerprint = models.ForeignKey(
        ImageFingerprint,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="memberships",
    )
    score = models.FloatField(default=1.0, help_text=_("Similarity to the group's primary."))
    is_primary = models.BooleanField(default=False)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("duplicate group member")
        ordering = ["-is_primary", "-score", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "content_type", "object_id", "field_name"],
                name="imagex_dedup_member_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "field_name"], name="imagex_dedup_member_ref"
            )
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_id}.{self.field_name}"


class DismissedPair(models.Model):
    """Two images a person said are not duplicates; they are never grouped together again.

    ``ref_a < ref_b`` (``HostObjectRef.ref`` strings), so each pair has one row.
    """

    ref_a = models.CharField(max_length=300)
    ref_b = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ref_a", "ref_b"], name="imagex_dedup_dismissed_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(ref_a__lt=models.F("ref_b")), name="imagex_dedup_dismissed_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref_a} != {self.ref_b}"

    @classmethod
    def ordered(cls, a: str, b: str) -> tuple[str, str]:
        return (a, b) if a < b else (b, a)


class DetectionService(models.Model):
    """A ServiceId of the veImageX-compatible detection service this app serves."""

    service_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_similarity = models.DecimalField(max_digits=3, decimal_places=2, default=0.84)
    allowed_url_hosts = models.JSONField(
        default=list,
        blank=True,
        help_text=_('Host names the service may fetch from ("*.example.com" allowed); empty: any.'),
    )
    allow_private_urls = models.BooleanField(
        default=False, help_text=_("Let the fetcher reach private and loopback addresses.")
    )
    callback_secret = models.CharField(
        max_length=128, blank=True, help_text=_("Secret used to sign outbound callback bodies.")
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("detection service")
        permissions = [
            ("use_any_detectionservice", _("Can call every detection service (staff)")),
        ]

    def __str__(self) -> str:
        return self.name or self.service_id


class AccessKey(models.Model):
    """An AK/SK pair allowed to call a service with Volcengine-style request signatures."""

    service = models.ForeignKey(
        DetectionService, on_delete=models.CASCADE, related_name="access_keys"
    )
    access_key_id = models.CharField(max_length=128, unique=True)
    # The verifier needs the secret itself to recompute HMAC signatures.
    secret_access_key = models.CharField(max_length=128)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("access key")

    def __str__(self) -> str:
        return self.access_key_id


class UsageRecord(models.Model):
    """Metering: input images per request, per service and caller (the cloud bills per image)."""

    service = models.ForeignKey(
        DetectionService, null=True, blank=True, on_delete=models.SET_NULL, related_name="usage"
    )
    access_key_id = models.CharField(max_length=128, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=64)
    request_id = models.CharField(max_length=64, blank=True)
    image_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("usage record")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action}: {self.image_count} image(s)"


class DetectionTask(models.Model):
    """One detection run: a service request, a host-object check, or a remote backend call."""

    class Status(models.IntegerChoices):
        RUNNING = 0, _("running")
        SUCCESS = 1, _("success")
        FAILED = 2, _("failed")

    class Kind(models.TextChoices):
        SERVICE = "service", _("service request")
        CHECK = "check", _("host object check")
        REMOTE = "remote", _("remote backend call")

    task_id = models.CharField(max_length=64, unique=True, default=_new_task_id)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    backend = models.CharField(max_length=32, default="local")
    service = models.ForeignKey(
        DetectionService, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    status = models.PositiveSmallIntegerField(choices=Status.choices, default=Status.RUNNING)
    request = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    callback_url = models.URLField(max_length=2000, blank=True)
    callback_delivered_at = models.DateTimeField(null=True, blank=True)
    remote_task_id = models.CharField(max_length=128, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("detection task")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.task_id


class CallbackAttempt(models.Model):
    """One delivery attempt of a task's result to its Callback URL (outbound) or one callback
    received for a task (inbound)."""

    class Direction(models.TextChoices):
        OUTBOUND = "out", _("sent")
        INBOUND = "in", _("received")

    task = models.ForeignKey(DetectionTask, on_delete=models.CASCADE, related_name="callbacks")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    url = models.URLField(max_length=2000, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["task", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} #{self.attempt} for {self.task_id}"


class MergeLog(models.Model):
    """What a merge did, so it can be audited and undone."""

    group = models.ForeignKey(
        DuplicateGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="merge_logs"
    )
    keeper_content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    keeper_object_id = models.CharField(max_length=191)
    # [{"model": "app.model", "pk": ..., "fields": {...}}] as serialized before deletion.
    duplicates = models.JSONField(default=list)
    # [{"model", "pk", "field", "kind": "fk|m2m|gfk|o2o", "old", "new"}]: each reference moved.
    changes = models.JSONField(default=list)
    deleted_duplicates = models.BooleanField(default=True)
    # [{"record": <serialized ImageFingerprint>, "keys": [int], "members": [member pk]}]: the
    # duplicates' fingerprint records a deleting merge removed, with the memberships that used
    # them, so undo puts back every detail (sizes, format, index keys) as it was.
    fingerprints = models.JSONField(default=list, blank=True, editable=False)
    deleted_files = models.JSONField(default=list, blank=True)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("merge log")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Merge #{self.pk} into {self.keeper_content_type.model} {self.keeper_object_id}"


class ScanRun(models.Model):
    """A scan of the library handed out as batches to the django-q2 cluster (``scan``).

    Progress is read from the batches (``scan.progress``), so workers never update this row."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        CANCELLED = "cancelled", _("cancelled")
        FINISHED = "finished", _("finished")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    # ["app_label.model.field", ...]: what the run covers.
    targets = models.JSONField(default=list)
    force = models.BooleanField(default=False, help_text=_("Fingerprint every image again."))
    batch_size = models.PositiveIntegerField(default=200)
    planned = models.BooleanField(
        default=False, help_text=_("Its batches have been written (the plan task ran).")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("library scan")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["status"], name="imagex_dedup_scanrun_status")]

    def __str__(self) -> str:
        return f"Scan #{self.pk} ({self.get_status_display()})"


class ScanBatch(models.Model):
    """One primary-key range of one image field, handed out to one worker at a time.

    A worker claims a batch (``SELECT ... FOR UPDATE SKIP LOCKED``) by setting ``lease_until``;
    a batch whose lease ran out (its worker died) can be claimed again."""

    class Stage(models.TextChoices):
        PENDING = "pending", _("to fingerprint")
        FINGERPRINTED = "fingerprinted", _("to check")
        CHECKED = "checked", _("done")
        FAILED = "failed", _("failed")

    run = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="batches")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    field_name = models.CharField(max_length=100)
    first_id = models.CharField(max_length=191)
    last_id = models.CharField(max_length=191)
    size = models.PositiveIntegerField()
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.PENDING)
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    fingerprinted = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    # ["<object id>: <error>", ...] (the first few), and the last failure of the batch itself.
    messages = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("library scan batch")
        ordering = ["run", "pk"]
        indexes = [
            models.Index(
                fields=["run", "stage", "lease_until"], name="imagex_dedup_scanbatch_claim"
            )
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model}.{self.field_name} {self.first_id}..{self.last_id}"


class PendingCheck(HostObjectRef):
    """Outbox: an image saved whose check has not finished yet.

    Written by the save hook in the host's transaction and deleted by the check; the periodic
    catch-up (``scan.catchup``) enqueues the check again for rows past ``due_at``, an indexed
    query however large the library is."""

    saved_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(
        help_text=_("When the check counts as lost if this row is still here.")
    )
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("pending check")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field_name"],
                name="imagex_dedup_pending_unique_ref",
            )
        ]
        indexes = [models.Index(fields=["due_at"], name="imagex_dedup_pending_due")]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_id}.{self.field_name}"


__all__: list[Any] = [
    "AccessKey",
    "CallbackAttempt",
    "DetectionService",
    "DetectionTask",
    "DismissedPair",
    "DuplicateGroup",
    "DuplicateGroupMember",
    "HostObjectRef",
    "ImageFingerprint",
    "ImageFingerprintKey",
    "MergeLog",
    "PendingCheck",
    "ScanBatch",
    "ScanRun",
    "UsageRecord",
]
