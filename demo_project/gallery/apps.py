from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "demo_project.gallery"
    label = "gallery"
    verbose_name = "Gallery"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The code form of registration (Photo uses the settings form, see settings.py).
        import imagex_dedup
        from demo_project.gallery.models import Author

        imagex_dedup.register(Author, field="avatar")
