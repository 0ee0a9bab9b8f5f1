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
from typing import TYPE_CHECKING

from imagex_dedup.engine.batch import check_batch
from imagex_dedup.engine.errors import EngineError
from imagex_dedup.engine.fingerprint import Fingerprint, fingerprint_many
from imagex_dedup.engine.loading import LoadLimits, image_extensions
from imagex_dedup.engine.scoring import DEFAULT_SIMILARITY
from imagex_dedup.engine.similarity import RULE, InvalidSimilarity, parse_similarity, wire_score

if TYPE_CHECKING:
    from imagex_dedup.engine.fetch import FetchPolicy

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class CheckInput:
    label: str  # what the output names it: the argument as given, or a file found in a directory
    location: str  # a URL or a filesystem path

    @property
    def is_url(self) -> bool:
        return _URL.match(self.location) is not None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    inputs = expand_inputs(args.inputs, parser)
    policy = None
    if any(item.is_url for item in inputs):
        # The URL stack (requests, urllib3: a third of the start-up) only when a URL is given.
        from imagex_dedup.engine.fetch import FetchPolicy

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
        type=similarity_argument,
        default=DEFAULT_SIMILARITY,
        help=f"threshold: {RULE} (default {DEFAULT_SIMILARITY})",
    )
    check.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="allow URLs on loopback and private networks (off: refused as SSRF risks)",
    )
    return parser


def similarity_argument(text: str) -> float:
    """``--similarity``: the engine's one rule, reported the argparse way."""
    try:
        return parse_similarity(text)
    except InvalidSimilarity as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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


def fingerprint_inputs(
    inputs: list[CheckInput], policy: FetchPolicy | None, limits: LoadLimits | None = None
) -> list[Fingerprint | EngineError]:
    """Fetch (each URL once, under ``policy``: the default one if ``None``) and fingerprint the
    inputs: one fingerprint or error per input; errors are reported on stderr."""
    urls = list(dict.fromkeys(item.location for item in inputs if item.is_url))
    downloads: dict[str, bytes | EngineError] = {}
    if urls:  # the download stack is imported only when a URL is given
        from imagex_dedup.engine.fetch import FetchPolicy, fetch_many

        downloads = dict(zip(urls, fetch_many(urls, policy or FetchPolicy()), strict=True))
    sources = [downloads[item.location] if item.is_url else item.location for item in inputs]
    loadable = [
        index for index, source in enumerate(sources) if not isinstance(source, EngineError)
    ]
    fingerprints = fingerprint_many([sources[index] for index in loadable], limits=limits)
    outcomes: list[Fingerprint | EngineError] = list(sources)  # type: ignore[arg-type]
    for index, result in zip(loadable, fingerprints, strict=True):
        outcomes[index] = result
    for item, outcome in zip(inputs, outcomes, strict=True):
        if isinstance(outcome, EngineError):
            print(f"{item.label}: {outcome.code}: {outcome}", file=sys.stderr)
    return outcomes


def result_object(
    inputs: list[CheckInput], outcomes: list[Fingerprint | EngineError], similarity: float
) -> dict[str, object]:
    """The ``Result`` object: ``Score`` when exactly two inputs were given and both loaded."""
    checked = check_batch(outcomes, similarity)
    result: dict[str, object] = {}
    if checked.score is not None:
        result["Score"] = wire_score(checked.score)
    result["Groups"] = {
        f"group{number}": [inputs[index].label for index in members]
        for number, members in enumerate(checked.groups)
    }
    return result


def check_inputs(
    inputs: list[CheckInput], similarity: float, policy: FetchPolicy | None
) -> dict[str, object]:
    """The ``Result`` object for the inputs; unreadable ones are reported on stderr, left out."""
    return result_object(inputs, fingerprint_inputs(inputs, policy), similarity)
