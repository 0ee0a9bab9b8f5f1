"""Command line: ``python -m imagex_dedup check PATH_OR_URL... [--similarity 0.84]``.

Prints the ``Result`` object of the cloud API's GetImageDuplicateDetection as JSON on stdout:
``{"Score": "0.93", "Groups": {"group0": [input, ...], ...}}``. ``Score`` is there only when
exactly two images were given and both loaded; ``Groups`` holds only groups of two or more.
A directory stands for every image file under it (recursively, sorted, hidden files skipped).
Inputs that cannot be read are reported on stderr, one line each, and left out.
Exit status: 0 on success, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from .errors import EngineError
from .fingerprint import Fingerprint, fingerprint_many
from .grouping import group
from .loading import LoadLimits, image_extensions
from .scoring import DEFAULT_SIMILARITY, compare

if TYPE_CHECKING:
    from .fetch import FetchPolicy

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class CheckInput:
    label: str  # what the output names it: the argument as given, or a file found in a directory
    location: str  # a URL or a filesystem path

    @property
    def is_url(self) -> bool:
        return _URL.match(self.location) is not None


def format_score(score: float) -> str:
    """Format a score like the cloud API does ("1.0", "0.93").

    Two decimals, truncated rather than rounded: a pair's shown score reaches a two-decimal
    similarity threshold exactly when the pair is grouped at that threshold.
    """
    clamped = min(max(score, 0.0), 1.0)
    hundredths = Decimal(repr(clamped)).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    return str(float(hundredths))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    inputs = expand_inputs(args.inputs, parser)
    policy = None
    if any(item.is_url for item in inputs):
        # The URL stack (requests, urllib3: a third of the start-up) only when a URL is given.
        from .fetch import FetchPolicy

        policy = FetchPolicy(allow_private=args.allow_private_urls)
    print(json.dumps(check_inputs(inputs, args.similarity, policy)))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m imagex_dedup", description="Find near-duplicate images."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="group near-duplicate images and print the result as JSON",
        description="Group near-duplicate images; print the cloud API's Result object as JSON.",
    )
    check.add_argument(
        "inputs", nargs="+", metavar="PATH_OR_URL", help="image file, directory or URL"
    )
    check.add_argument(
        "--similarity",
        type=parse_similarity,
        default=DEFAULT_SIMILARITY,
        help=f"threshold in [0, 1], at most two decimals (default {DEFAULT_SIMILARITY})",
    )
    check.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="allow URLs on loopback and private networks (off: refused as SSRF risks)",
    )
    return parser


def parse_similarity(text: str) -> float:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 <= value <= 1 or value.normalize().as_tuple().exponent < -2:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number in [0, 1] with at most two decimals"
        )
    return float(value)


def expand_inputs(arguments: Sequence[str], parser: argparse.ArgumentParser) -> list[CheckInput]:
    inputs: list[CheckInput] = []
    for argument in arguments:
        if _URL.match(argument):
            inputs.append(CheckInput(argument, argument))
        elif os.path.isdir(argument):
            inputs.extend(CheckInput(path, path) for path in _image_files(argument))
        elif os.path.exists(argument):
            inputs.append(CheckInput(argument, argument))
        else:
            parser.error(f"no such file or directory: {argument}")
    return inputs


def _image_files(directory: str) -> list[str]:
    """Files under ``directory`` whose extension belongs to an accepted image format."""
    extensions = image_extensions()
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        found.extend(
            os.path.join(root, name)
            for name in files
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in extensions
        )
    return sorted(found)


def _download(urls: list[str], policy: FetchPolicy | None) -> dict[str, bytes | EngineError]:
    from .fetch import FetchPolicy, fetch_many

    return dict(zip(urls, fetch_many(urls, policy or FetchPolicy()), strict=True))


def fingerprint_inputs(
    inputs: list[CheckInput], policy: FetchPolicy | None, limits: LoadLimits | None = None
) -> list[tuple[CheckInput, Fingerprint]]:
    """Fetch (each URL once, under ``policy``: the default one if ``None``) and fingerprint the
    inputs; unreadable ones are reported on stderr and left out."""
    urls = list(dict.fromkeys(item.location for item in inputs if item.is_url))
    downloads = _download(urls, policy) if urls else {}
    sources: list[str | bytes | EngineError] = [
        downloads[item.location] if item.is_url else item.location for item in inputs
    ]
    loadable = [
        (item, source)
        for item, source in zip(inputs, sources, strict=True)
        if not _report(item, source)
    ]
    fingerprints = fingerprint_many([source for _item, source in loadable], limits=limits)
    return [
        (item, result)
        for (item, _source), result in zip(loadable, fingerprints, strict=True)
        if not _report(item, result)
    ]


def result_object(
    inputs: list[CheckInput], loaded: list[tuple[CheckInput, Fingerprint]], similarity: float
) -> dict[str, object]:
    """The ``Result`` object: ``Score`` when exactly two inputs were given and both loaded."""
    result: dict[str, object] = {}
    if len(inputs) == 2 and len(loaded) == 2:
        result["Score"] = format_score(compare(loaded[0][1], loaded[1][1]))
    groups = group([fingerprint for _item, fingerprint in loaded], similarity)
    result["Groups"] = {
        f"group{number}": [loaded[index][0].label for index in members]
        for number, members in enumerate(groups)
    }
    return result


def check_inputs(
    inputs: list[CheckInput], similarity: float, policy: FetchPolicy | None
) -> dict[str, object]:
    """The ``Result`` object for the inputs; unreadable ones are reported on stderr, left out."""
    return result_object(inputs, fingerprint_inputs(inputs, policy), similarity)


def _report(item: CheckInput, value: object) -> bool:
    """Print an error value on stderr; True if ``value`` was one."""
    if not isinstance(value, EngineError):
        return False
    print(f"{item.label}: {value.code}: {value}", file=sys.stderr)
    return True
