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

import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandParser

from ...conf import dedup_settings
from ...engine import FetchPolicy, cli
from ...index import find_similar, load_limits
from ...models import ImageFingerprint


def library_entry(record: ImageFingerprint, score: float) -> dict[str, str]:
    content_type = ContentType.objects.get_for_id(record.content_type_id)
    return {
        "model": f"{content_type.app_label}.{content_type.model}",
        "pk": record.object_id,
        "field": record.field_name,
        "file": record.file_name,
        "score": cli.format_score(score),
    }


class Command(BaseCommand):
    help = "Check image files or URLs for near-duplicates, among themselves and in the library."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("inputs", nargs="+", metavar="PATH_OR_URL")
        parser.add_argument(
            "--similarity",
            type=cli.parse_similarity,
            default=None,
            help="threshold in [0, 1], two decimals at most (default: the SIMILARITY setting)",
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
            similarity = float(dedup_settings.SIMILARITY)
        policy = FetchPolicy(allow_private=options["allow_private_urls"])
        inputs = cli.expand_inputs(options["inputs"], self.parser)
        loaded = cli.fingerprint_inputs(inputs, policy, load_limits())
        library = {
            item.label: [
                library_entry(record, score) for record, score in find_similar(new, similarity)
            ]
            for item, new in loaded
        }
        self.stdout.write(
            json.dumps(
                {"Result": cli.result_object(inputs, loaded, similarity), "Library": library}
            )
        )
