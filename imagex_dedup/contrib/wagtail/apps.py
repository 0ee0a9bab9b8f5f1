from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def watch_image_model() -> None:
    """Watch the site's image model (custom ones included) unless the ``MODELS`` setting or
    host code registered it already, with the fields it chose."""
    from wagtail.images import get_image_model

    from imagex_dedup.hook import registry

    model = get_image_model()
    if not registry.is_registered(model):
        registry.register(model, field="file")


class WagtailDedupConfig(AppConfig):
    name = "imagex_dedup.contrib.wagtail"
    label = "imagex_dedup_wagtail"
    verbose_name = _("Image duplicates for Wagtail")

    def ready(self) -> None:
        # Wiring only: no database queries here.
        from imagex_dedup.contrib.wagtail.rewriter import WagtailImageRewriter
        from imagex_dedup.review.rewriters import register_rewriter

        watch_image_model()
        register_rewriter(WagtailImageRewriter())
