"""The OpenAPI schema describes both actions of the service endpoint."""

from __future__ import annotations

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator


def test_schema_has_both_actions_with_examples() -> None:
    GENERATOR_STATS.reset()
    schema = SchemaGenerator(urlconf="tests.urls").get_schema(request=None, public=True)
    service_views = "imagex_dedup/api/service_views.py"
    assert not [w for w in GENERATOR_STATS._warn_cache if service_views in str(w)]
    assert not [e for e in GENERATOR_STATS._error_cache if service_views in str(e)]
    operations = schema["paths"]["/imagex/"]
    post, get = operations["post"], operations["get"]
    assert post["operationId"] == "GetImageDuplicateDetection"
    assert get["operationId"] == "GetDedupTaskStatus"
    body = post["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/DetectionRequest"}
    assert set(body["examples"]) == {"Sync", "Async"}
    assert set(post["responses"]) == {"200", "400", "401", "403", "404", "413", "429", "504"}
    parameters = {p["name"]: p for p in get["parameters"]}
    assert parameters["Action"]["schema"]["enum"] == ["GetDedupTaskStatus", "GetDedupUsage"]
    assert {"volcengineSignature": []} in post["security"]
    components = schema["components"]["schemas"]
    assert {"Status", "TaskId", "Result", "Score", "Groups"} <= set(
        components["TaskStatus"]["properties"]
    )
    assert set(components["DetectionResult"]["required"]) == {"Groups", "FailedUrls"}
