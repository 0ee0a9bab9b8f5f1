"""Re-point image ids inside Wagtail content: StreamField JSON, rich text, revision data.

Everything here works on *raw* data (what the database and revisions store), never on rendered
values, so unknown block types, missing images and legacy formats pass through untouched.
A ``mapping`` is ``{old image pk: new image pk}``; each function returns the rewritten copy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from django.db import models
from modelcluster.models import get_all_child_relations
from wagtail import blocks
from wagtail.fields import RichTextField, StreamField
from wagtail.images.blocks import ImageBlock

IdMap = Mapping[int, int]

# Wagtail stores rich text with its own serializer: double-quoted attributes, one <embed/> tag
# per image (``<embed embedtype="image" id="12" format="left" alt="..."/>``).
_EMBED = re.compile(r"<embed\b[^>]*>", re.IGNORECASE)
_IMAGE_TYPE = re.compile(r'\sembedtype="image"', re.IGNORECASE)
_ID = re.compile(r'(\sid=")(\d+)(")', re.IGNORECASE)


def _new_id(value: Any, mapping: IdMap) -> Any:
    """The mapped id, keeping the stored type (int in JSON, str in some legacy data)."""
    try:
        key = int(value)
    except (TypeError, ValueError):
        return value
    if key not in mapping:
        return value
    return str(mapping[key]) if isinstance(value, str) else mapping[key]


def rich_text(html: str, mapping: IdMap) -> str:
    """Rich-text HTML with every image embed's id re-pointed."""

    def embed(match: re.Match[str]) -> str:
        tag = match.group(0)
        if not _IMAGE_TYPE.search(tag):
            return tag
        return _ID.sub(lambda m: f"{m[1]}{_new_id(m[2], mapping)}{m[3]}", tag, count=1)

    return _EMBED.sub(embed, html) if html else html


def _is_list_item(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") == "item" and "value" in item


def block_value(block: blocks.Block, raw: Any, model: type[models.Model], mapping: IdMap) -> Any:
    """Raw value of ``block`` with references to ``model`` re-pointed, at any depth."""
    if isinstance(block, ImageBlock) and not isinstance(raw, dict):
        block = block.child_blocks["image"]  # legacy: an ImageChooserBlock's bare id
    if isinstance(block, blocks.ChooserBlock):
        same = block.target_model._meta.concrete_model is model._meta.concrete_model
        return _new_id(raw, mapping) if same else raw
    if isinstance(block, blocks.RichTextBlock) and isinstance(raw, str):
        return rich_text(raw, mapping)
    if isinstance(block, blocks.BaseStreamBlock) and isinstance(raw, list):
        return stream(block, raw, model, mapping)
    if isinstance(block, blocks.ListBlock) and isinstance(raw, list):
        child = block.child_block
        return [
            {**item, "value": block_value(child, item["value"], model, mapping)}
            if _is_list_item(item)
            else block_value(child, item, model, mapping)
            for item in raw
        ]
    if isinstance(block, blocks.BaseStructBlock) and isinstance(raw, dict):
        return {
            name: block_value(block.child_blocks[name], value, model, mapping)
            if name in block.child_blocks
            else value
            for name, value in raw.items()
        }
    return raw


def stream(
    block: blocks.BaseStreamBlock, raw: list[Any], model: type[models.Model], mapping: IdMap
) -> list[Any]:
    """A StreamBlock's raw list (``{"type", "value", "id"}`` items) re-pointed."""
    result = []
    for item in raw:
        child = block.child_blocks.get(item.get("type")) if isinstance(item, dict) else None
        if child is None:
            result.append(item)
        else:
            result.append({**item, "value": block_value(child, item.get("value"), model, mapping)})
    return result


def content_fields(model: type[models.Model]) -> list[models.Field]:
    """The fields of ``model`` that can name images inside their content."""
    return [f for f in model._meta.concrete_fields if isinstance(f, StreamField | RichTextField)]


def field_raw(field: models.Field, value: Any) -> Any:
    """What the database stores for a live value of a content field (JSON-able)."""
    return field.get_prep_value(value) if isinstance(field, StreamField) else value


def field_value(field: models.Field, raw: Any, model: type[models.Model], mapping: IdMap) -> Any:
    """Raw content of ``field`` re-pointed (a StreamField's list, a rich-text string)."""
    if raw is None:
        return raw
    if isinstance(field, StreamField):
        return stream(field.stream_block, raw, model, mapping)
    return rich_text(raw, mapping)


def serialized(
    owner: type[models.Model], data: dict[str, Any], model: type[models.Model], mapping: IdMap
) -> dict[str, Any]:
    """Revision content (modelcluster's serializable data of ``owner``) re-pointed: foreign
    keys to ``model``, content fields (a StreamField is a JSON string there) and the same in
    every child relation's rows."""
    result = dict(data)
    target = model._meta.concrete_model
    for f in owner._meta.concrete_fields:
        if f.name not in data or data[f.name] is None:
            continue
        if isinstance(f, models.ForeignKey) and f.related_model._meta.concrete_model is target:
            result[f.name] = _new_id(data[f.name], mapping)
        elif isinstance(f, StreamField):
            value = data[f.name]
            raw = json.loads(value) if isinstance(value, str) else value
            new = stream(f.stream_block, raw, model, mapping)
            if new != raw:
                result[f.name] = json.dumps(new) if isinstance(value, str) else new
        elif isinstance(f, RichTextField):
            result[f.name] = rich_text(data[f.name], mapping)
    for relation in get_all_child_relations(owner):
        name = relation.get_accessor_name()
        if isinstance(data.get(name), list):
            child = relation.related_model
            result[name] = [serialized(child, row, model, mapping) for row in data[name]]
    return result
