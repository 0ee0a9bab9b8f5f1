"""The check on upload: warn (or refuse) when a new image looks like images already in the
library, before it is saved.

The public function is :func:`check_upload` (used by the admin, the form and serializer mixins,
and other integrations); ``forms.UploadCheckFormMixin``, ``imagex_dedup.api.upload`` and
``imagex_dedup.admin.host.UploadCheckAdminMixin`` put it in front of a save.
"""

from imagex_dedup.upload.check import (
    BLOCK,
    OFF,
    WARN,
    UploadCheck,
    UploadMatch,
    check_upload,
    upload_check_mode,
)

__all__ = [
    "BLOCK",
    "OFF",
    "WARN",
    "UploadCheck",
    "UploadMatch",
    "check_upload",
    "upload_check_mode",
]
