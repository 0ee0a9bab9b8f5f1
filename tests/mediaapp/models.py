"""Media-library hosts. Wagtail: every shape of image use (a foreign key, StreamField blocks at
every depth, rich text, an inline child row, a snippet with drafts, locking and workflows).
django-filer: an article with an image field and a file field."""

from django.db import models
from filer.fields.file import FilerFileField
from filer.fields.image import FilerImageField
from modelcluster.fields import ParentalKey
from wagtail import blocks
from wagtail.fields import RichTextField, StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.images.models import AbstractImage, AbstractRendition, Image
from wagtail.models import (
    DraftStateMixin,
    LockableMixin,
    Orderable,
    Page,
    RevisionMixin,
    WorkflowMixin,
)


class FigureBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    caption = blocks.CharBlock(required=False)

    class Meta:
        template = "mediaapp/blocks/figure.html"


class SectionBlock(blocks.StreamBlock):
    image = ImageChooserBlock()
    figure = FigureBlock()
    text = blocks.RichTextBlock()


class ImagePage(Page):
    hero = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    intro = RichTextField(blank=True)
    body = StreamField(
        [
            ("image", ImageChooserBlock()),
            ("figure", FigureBlock()),
            ("gallery", blocks.ListBlock(ImageChooserBlock())),
            ("section", SectionBlock()),
            ("text", blocks.RichTextBlock()),
        ],
        blank=True,
    )

    content_panels = [*Page.content_panels, "hero", "intro", "body", "slides"]


class Slide(Orderable):
    page = ParentalKey(ImagePage, on_delete=models.CASCADE, related_name="slides")
    image = models.ForeignKey("wagtailimages.Image", on_delete=models.CASCADE, related_name="+")


class Banner(WorkflowMixin, DraftStateMixin, LockableMixin, RevisionMixin, models.Model):
    """A snippet with drafts, locking and workflows."""

    title = models.CharField(max_length=100)
    image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = RichTextField(blank=True)

    def __str__(self) -> str:
        return self.title


class Article(models.Model):
    """A django-filer host: an image field and a file field that may hold an image."""

    title = models.CharField(max_length=100)
    image = FilerImageField(null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attachment = FilerFileField(null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return self.title


class CustomImage(AbstractImage):
    """A custom image model (``WAGTAILIMAGES_IMAGE_MODEL``), as many Wagtail sites have."""

    credit = models.CharField(max_length=100, blank=True)
    admin_form_fields = (*Image.admin_form_fields, "credit")


class CustomRendition(AbstractRendition):
    image = models.ForeignKey(CustomImage, on_delete=models.CASCADE, related_name="renditions")

    class Meta:
        unique_together = (("image", "filter_spec", "focal_point_key"),)


class Credit(models.Model):
    """Uses a custom image through a foreign key and rich text."""

    image = models.ForeignKey(CustomImage, null=True, on_delete=models.SET_NULL, related_name="+")
    text = RichTextField(blank=True)
