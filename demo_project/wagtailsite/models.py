"""The demo's one page type: an image in each of the places Wagtail keeps image references."""

from django.db import models
from wagtail import blocks
from wagtail.fields import RichTextField, StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.models import Page


class FigureBlock(blocks.StructBlock):
    image = ImageChooserBlock()
    caption = blocks.CharBlock(required=False)

    class Meta:
        template = "wagtailsite/figure.html"


class ArticlePage(Page):
    cover = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    intro = RichTextField(blank=True)
    body = StreamField(
        [
            ("figure", FigureBlock()),
            ("gallery", blocks.ListBlock(ImageChooserBlock())),
            ("text", blocks.RichTextBlock()),
        ],
        blank=True,
    )

    content_panels = [*Page.content_panels, "cover", "intro", "body"]
