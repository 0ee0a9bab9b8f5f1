"""Find near-duplicate images with the official ``volcengine`` SDK, against imagex_dedup.

    pip install volcengine
    VOLC_ACCESSKEY=AK... VOLC_SECRETKEY=... python docs/examples/sdk_client.py URL URL [URL ...]

The defaults fit the demo (``bash scripts/demo.sh`` prints the key, the secret and this command
with two of its photos): the service at ``http://127.0.0.1:8000/imagex/``, ServiceId ``demo``.
``IMAGEX_DEDUP_HOST``, ``IMAGEX_DEDUP_SCHEME`` and ``IMAGEX_DEDUP_SERVICE_ID`` point it elsewhere.
"""

import json
import os
import sys

from volcengine.ApiInfo import ApiInfo
from volcengine.imagex.v2.imagex_service import ImagexService

HOST = os.environ.get("IMAGEX_DEDUP_HOST", "127.0.0.1:8000")  # instead of imagex.volcengineapi.com
SCHEME = os.environ.get("IMAGEX_DEDUP_SCHEME", "http")  # the demo serves plain http
SERVICE_ID = os.environ.get("IMAGEX_DEDUP_SERVICE_ID", "demo")
MOUNT = "/imagex/"  # where the host project mounted the app

if len(sys.argv) < 3:
    sys.exit(f"usage: {sys.argv[0]} URL URL [URL ...]")

svc = ImagexService()  # the key and secret come from VOLC_ACCESSKEY and VOLC_SECRETKEY
svc.set_host(HOST)
svc.set_scheme(SCHEME)
svc.set_connection_timeout(5)
# Seconds to wait for the answer: more than the service's 30 s per request (SYNC_TIME_BUDGET),
# which is more than its 10 s per image (FETCH_TIMEOUT). The SDK's default is 10.
svc.set_socket_timeout(60)
# The SDK's API table posts to "/": give each action the mount path instead.
svc.api_info = {
    name: ApiInfo(api.method, MOUNT, api.query, api.form, api.header)
    for name, api in svc.api_info.items()
}

reply = svc.get_image_duplicate_detection({"ServiceId": SERVICE_ID}, {"Urls": sys.argv[1:]})
print(json.dumps(reply["Result"], indent=2))
