"""Django admin of imagex_dedup.

``groups`` reviews duplicate groups and merge logs, ``records`` shows the detection records
(read-only), ``services`` manages the detection service's tenants; ``actions`` are the group
actions and ``host`` what host models' admins get.
"""

from imagex_dedup.admin import (  # noqa: F401  (registers the admins)
    groups,
    records,
    scans,
    services,
)
from imagex_dedup.admin.host import DuplicatesAdminMixin, check_for_duplicates

__all__ = ["DuplicatesAdminMixin", "check_for_duplicates"]
