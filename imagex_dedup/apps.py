from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImagexDedupConfig(AppConfig):
    name = "imagex_dedup"
    verbose_name = _("Image duplicates")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wiring only: no database queries here.
        from . import checks, handlers, registry  # noqa: F401  (checks: registers system checks)

        registry.register_from_settings()
        for registration in registry.registrations():
            # Models registered in code before the app registry was ready get their proxies now.
            handlers.connect(registration.model)
        from .admin_actions import install_host_actions  # no-op without django.contrib.admin

        install_host_actions()
