"""``manage.py dedup_check PATH_OR_URL... [--similarity 0.84]``: the engine CLI, plus the library.

Prints one JSON object on stdout::

    {"Result": {"Score"?: "0.97", "Groups": {...}},          # exactly what the CLI prints
     "Library": {"<input>": [{"model": "gallery.photo", "pk": "12", "field": "image",
                              "file": "photos/a.jpg", "score": "0.98"}, ...], ...}}

``Library`` lists, for each input that could be read, the stored images it matches (best first),
looked up in the fingerprint index. Inputs that cannot be read are reported on stderr.
The CLI's own functions do the checking; URLs are fetched once for it and once for the lookup.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandParser

from ...conf import dedup_settings
from ...engine import EngineError, FetchPolicy, cli, fetch_many, fingerprint
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
        result = cli.check_inputs(inputs, similarity, policy)
        self.stdout.write(
            json.dumps({"Result": result, "Library": self._library(inputs, similarity, policy)})
        )

    def _library(
        self, inputs: list[Any], similarity: float, policy: FetchPolicy
    ) -> dict[str, list[dict[str, str]]]:
        urls = [item.location for item in inputs if item.is_url]
        downloads = dict(zip(urls, fetch_many(urls, policy), strict=True))
        library: dict[str, list[dict[str, str]]] = {}
        for item in inputs:
            source = downloads[item.location] if item.is_url else item.location
            try:
                if isinstance(source, EngineError):
                    raise source
                new = fingerprint(source, limits=load_limits())
            except EngineError:
                continue  # already reported on stderr by the CLI's check
            matches = find_similar(new, similarity)
            library[item.label] = [library_entry(record, score) for record, score in matches]
        return library
