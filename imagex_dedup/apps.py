from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImagexDedupConfig(AppConfig):
    name = "imagex_dedup"
    verbose_name = _("Image duplicates")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wiring only: no database queries here.
        from . import checks  # noqa: F401  (registers system checks)
