"""Raw content rewriting: only image references move, in every stored shape Wagtail uses."""

from __future__ import annotations

from wagtail import blocks
from wagtail.images import get_image_model
from wagtail.images.blocks import ImageBlock, ImageChooserBlock

from imagex_dedup.contrib.wagtail import content

IMAGE = get_image_model()
MAPPING = {7: 3}
STREAM = blocks.StreamBlock(
    [
        ("image", ImageChooserBlock()),
        ("with_alt", ImageBlock()),
        ("list", blocks.ListBlock(ImageChooserBlock())),
        ("page", blocks.PageChooserBlock()),
        ("text", blocks.RichTextBlock()),
    ]
)


def rewrite(raw: list) -> list:
    return content.stream(STREAM, raw, IMAGE, MAPPING)


def test_rich_text_moves_image_embeds_only() -> None:
    html = (
        '<p><embed embedtype="image" id="7" format="left" alt="a"/>'
        '<embed embedtype="media" url="https://example.com/7"/><a linktype="page" id="7">x</a>'
        '<embed alt="b" embedtype="image" format="right" id="8"/></p>'
    )
    moved = html.replace('embedtype="image" id="7"', 'embedtype="image" id="3"')
    assert moved != html
    assert content.rich_text(html, MAPPING) == moved


def test_every_block_shape_and_nothing_else() -> None:
    raw = [
        {"type": "image", "value": 7, "id": "a"},
        {"type": "image", "value": 8, "id": "b"},
        {
            "type": "with_alt",
            "value": {"image": 7, "decorative": False, "alt_text": "x"},
            "id": "c",
        },
        {"type": "with_alt", "value": 7, "id": "d"},  # ImageBlock's legacy bare id
        {"type": "list", "value": [{"type": "item", "value": 7, "id": "e"}], "id": "f"},
        {"type": "list", "value": [7, 8], "id": "g"},  # ListBlock's legacy plain list
        {"type": "page", "value": 7, "id": "h"},  # a page id, not an image
        {"type": "gone", "value": 7, "id": "i"},  # a block type removed from the definition
        {"type": "image", "value": None, "id": "j"},
    ]

    assert [item["value"] for item in rewrite(raw)] == [
        3,
        8,
        {"image": 3, "decorative": False, "alt_text": "x"},
        3,
        [{"type": "item", "value": 3, "id": "e"}],
        [3, 8],
        7,
        7,
        None,
    ]
    assert raw[0]["value"] == 7  # the input is left as it was
