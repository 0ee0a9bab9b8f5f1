"""``manage.py load_wagtail_demo`` (with ``demo_project.settings_wagtail``): Wagtail images, some
of them near-duplicates, and article pages that use the duplicates in a foreign key (the cover),
a StreamField (figure and gallery blocks) and rich text (an image embed).

Idempotent: images are looked up by title and pages by slug. ``--sync`` runs the duplicate
checks in this process, so the "Duplicates" menu of the Wagtail admin lists groups at once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django_q.conf import Conf
from wagtail.images import get_image_model
from wagtail.models import Page

from demo_project.gallery.management.commands.load_demo import Sample
from demo_project.wagtailsite.models import ArticlePage
from imagex_dedup.models import DuplicateGroup

IMAGES = [
    Sample("Frangipani", "flower.jpg"),
    Sample("Frangipani (mirrored)", "flower.jpg", "hflip"),
    Sample("Frangipani (resized)", "flower.jpg", "resize"),
    Sample("Test card", "test-card.png"),
    Sample("Test card (recompressed)", "test-card.png", "jpeg_q30"),
    Sample("Mountain peak", "exif-72dpi-int.jpg"),
]


def embed(image: Any) -> str:
    return (
        f'<p>As seen here:</p><embed alt="" embedtype="image" format="fullwidth" id="{image.pk}"/>'
    )


class Command(BaseCommand):
    help = "Load the Wagtail demo: images with near-duplicates and pages that use them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sync",
            action="store_true",
            help="Run the duplicate checks in this process instead of leaving them to qcluster.",
        )

    def handle(self, *args: Any, sync: bool = False, **options: Any) -> None:
        previous, Conf.SYNC = Conf.SYNC, sync or Conf.SYNC
        try:
            images = {sample.title: self._image(sample) for sample in IMAGES}
        finally:
            Conf.SYNC = previous
        home = Page.objects.get(depth=2)
        self._article(
            home,
            "flowers",
            "Flowers",
            cover=images["Frangipani (resized)"],
            intro=embed(images["Frangipani (mirrored)"]),
            body=[
                ("figure", {"image": images["Frangipani"], "caption": "The original"}),
                ("gallery", [images["Frangipani (mirrored)"], images["Mountain peak"]]),
            ],
        )
        self._article(
            home,
            "test-card",
            "Test card",
            cover=images["Test card"],
            intro=embed(images["Test card (recompressed)"]),
            body=[("text", embed(images["Test card (recompressed)"]))],
        )
        groups = DuplicateGroup.objects.filter(status=DuplicateGroup.Status.OPEN).count()
        self.stdout.write(
            f"Wagtail demo: {len(images)} images, {ArticlePage.objects.count()} articles, "
            f"{groups} open duplicate groups (Wagtail admin: /cms/duplicates/)."
        )

    def _image(self, sample: Sample) -> Any:
        model = get_image_model()
        image = model.objects.filter(title=sample.title).first()
        if image is None:
            image = model(title=sample.title, file=sample.content())
            image.save()
            self.stdout.write(f"  + image {sample.title!r}")
        return image

    def _article(self, home: Page, slug: str, title: str, **content: Any) -> None:
        if ArticlePage.objects.filter(slug=slug).exists():
            return
        page = ArticlePage(title=title, slug=slug, **content)
        home.add_child(instance=page)
        page.save_revision().publish()
        self.stdout.write(f"  + page {title!r}")
