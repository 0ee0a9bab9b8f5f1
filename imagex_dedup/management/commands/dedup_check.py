"""``manage.py dedup_check PATH_OR_URL... [--similarity 0.84]``: the engine CLI, plus the library.

Prints one JSON object on stdout::

    {"Result": {"Score"?: "0.97", "Groups": {...}},          # exactly what the CLI prints
     "Library": {"<input>": [{"model": "gallery.photo", "pk": "12", "field": "image",
                              "file": "photos/a.jpg", "score": "0.98"}, ...], ...}}

``Library`` lists, for each input that could be read, the stored images it matches (best first),
looked up in the fingerprint index. Inputs that cannot be read are reported on stderr.
The CLI's own functions fetch (each URL once) and fingerprint the inputs, with the ``MAX_IMAGE_*``
limits of the settings; the same fingerprints give the ``Result`` and the library look-up.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandParser

from imagex_dedup.conf import dedup_settings
from imagex_dedup.engine import cli
from imagex_dedup.engine.fingerprint import Fingerprint
from imagex_dedup.engine.similarity import RULE, wire_score
from imagex_dedup.index.lookup import find_similar
from imagex_dedup.models import ImageFingerprint


def library_entry(record: ImageFingerprint, score: float) -> dict[str, str]:
    content_type = ContentType.objects.get_for_id(record.content_type_id)
    return {
        "model": f"{content_type.app_label}.{content_type.model}",
        "pk": record.object_id,
        "field": record.field_name,
        "file": record.file_name,
        "score": wire_score(score),
    }


class Command(BaseCommand):
    help = "Check image files or URLs for near-duplicates, among themselves and in the library."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inputs", nargs="+", metavar="PATH_OR_URL")
        parser.add_argument(
            "--similarity",
            type=cli.similarity_argument,
            default=None,
            help=f"threshold: {RULE} (default: the SIMILARITY setting)",
        )
        parser.add_argument(
            "--allow-private-urls",
            action="store_true",
            help="allow URLs on loopback and private networks",
        )
        self.parser = parser

    def handle(self, *args: Any, **options: Any) -> None:
        similarity = options["similarity"]
        if similarity is None:
            similarity = dedup_settings.similarity
        policy = dedup_settings.fetch_policy()
        if options["allow_private_urls"]:
            policy = dataclasses.replace(policy, allow_private=True)
        inputs = cli.expand_inputs(options["inputs"], self.parser)
        loaded = cli.fingerprint_inputs(inputs, policy, dedup_settings.load_limits())
        library = {
            item.label: [
                library_entry(record, score) for record, score in find_similar(new, similarity)
            ]
            for item, new in zip(inputs, loaded, strict=True)
            if isinstance(new, Fingerprint)
        }
        self.stdout.write(
            json.dumps(
                {"Result": cli.result_object(inputs, loaded, similarity), "Library": library}
            )
        )
