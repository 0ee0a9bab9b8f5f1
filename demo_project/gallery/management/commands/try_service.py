"""``manage.py try_service``: call the running demo's detection service like a veImageX client.

Sends a signed ``GetImageDuplicateDetection`` request (with the access key ``load_demo`` made)
whose URLs are the gallery's photos as the development server serves them, and prints the
``Result``. It calls the demo on ``127.0.0.1`` at ``--port``, else ``PORT`` (as
``scripts/demo.sh`` reads it), else 8000; ``--base-url`` names any other address. With
``--async`` it starts a task whose ``Callback`` is the demo's own receiver (``/demo/callback/``)
and polls ``GetDedupTaskStatus`` until it ends (the qcluster worker runs it).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from demo_project.gallery.management.commands.load_demo import SERVICE_ID
from demo_project.gallery.models import Photo
from imagex_dedup.models import AccessKey
from imagex_dedup.volc.client import ImageXAPIError, ImageXClient
from imagex_dedup.volc.signing import Credentials


class Command(BaseCommand):
    help = "Send the gallery's photo URLs to the running demo's detection service."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
        parser.add_argument("--base-url", help="default: http://127.0.0.1:<port>")
        parser.add_argument("--similarity", type=float, default=None)
        parser.add_argument("--async", dest="is_async", action="store_true")
        parser.add_argument("--wait", type=float, default=60.0, help="seconds to poll (--async)")

    def handle(self, *args: Any, **options: Any) -> None:
        key = AccessKey.objects.filter(service__service_id=SERVICE_ID, is_active=True).first()
        if key is None:
            raise CommandError("No access key for the service 'demo': run `manage.py load_demo`.")
        base = (options["base_url"] or f"http://127.0.0.1:{options['port']}").rstrip("/")
        urls = [f"{base}{settings.MEDIA_URL}{photo.image.name}" for photo in Photo.objects.all()]
        client = ImageXClient(
            Credentials(key.access_key_id, key.secret_access_key),
            endpoint=f"{base}/imagex/",
            max_retries=0,
        )
        try:
            with client:
                result = client.get_image_duplicate_detection(
                    SERVICE_ID,
                    urls,
                    similarity=options["similarity"],
                    async_=options["is_async"],
                    callback=f"{base}{reverse('demo-callback')}" if options["is_async"] else None,
                )
                if options["is_async"]:
                    self.stdout.write(f"Task {result['TaskId']} started; polling its status.")
                    result = self._poll(client, result["TaskId"], options["wait"])
        except ImageXAPIError as error:
            raise CommandError(f"The service refused the request: {error}") from error
        self.stdout.write(json.dumps(result, indent=2))

    @staticmethod
    def _poll(client: ImageXClient, task_id: str, wait: float) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        while True:
            status = client.get_dedup_task_status(task_id)
            if status["Status"] != 0:
                return status
            if time.monotonic() > deadline:
                raise CommandError(
                    f"Task {task_id} still running after {wait:.0f} s: is qcluster up?"
                )
            time.sleep(1)
