from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def watch_image_model() -> None:
    """Watch filer's image model unless the ``MODELS`` setting or host code registered it."""
    from imagex_dedup.contrib.filer.rewriter import image_model
    from imagex_dedup.hook import registry

    model = image_model()
    if not registry.is_registered(model):
        registry.register(model, field="file")


class FilerDedupConfig(AppConfig):
    name = "imagex_dedup.contrib.filer"
    label = "imagex_dedup_filer"
    verbose_name = _("Image duplicates for django-filer")

    def ready(self) -> None:
        # Wiring only: no database queries here.
        from imagex_dedup.contrib.filer.rewriter import FilerImageRewriter
        from imagex_dedup.review.rewriters import register_rewriter

        watch_image_model()
        register_rewriter(FilerImageRewriter())
