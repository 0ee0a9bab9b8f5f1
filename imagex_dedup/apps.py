from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class ImagexDedupConfig(AppConfig):
    name = "imagex_dedup"
    verbose_name = _("Image duplicates")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wiring only: no database queries here.
        from imagex_dedup import checks  # noqa: F401  (registers the system checks)
        from imagex_dedup.hook import handlers, registry

        registry.register_from_settings()
        for registration in registry.registrations():
            # Models registered in code before the app registry was ready get their proxies now.
            handlers.connect(registration.model, registration.fields)
        if apps.is_installed("django.contrib.admin"):  # our admin modules need it to import
            from imagex_dedup.admin.host import install_host_actions

            install_host_actions()
        from django.db.models.signals import post_migrate

        from imagex_dedup.scan.schedule import on_post_migrate

        post_migrate.connect(
            on_post_migrate, sender=self, dispatch_uid="imagex_dedup_catchup_schedule"
        )
