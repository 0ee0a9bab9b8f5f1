from django.apps import AppConfig


class MediaAppConfig(AppConfig):
    name = "tests.mediaapp"
    label = "mediaapp"
    default_auto_field = "django.db.models.BigAutoField"
