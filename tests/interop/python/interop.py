"""Evaluates a table of cases with the OpenFeature Python SDK and its OFREP provider.

usage: interop.py BASE_URL SDK_KEY CASES_JSON  -> one JSON array of results on stdout
"""
import json
import sys

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext


def main() -> None:
    base, key, path = sys.argv[1:4]
    with open(path) as f:
        cases = json.load(f)
    api.set_provider(OFREPProvider(base, headers_factory=lambda: {"X-API-Key": key}))
    client = api.get_client()
    getters = {
        "boolean": client.get_boolean_details,
        "string": client.get_string_details,
        "integer": client.get_integer_details,
        "float": client.get_float_details,
        "object": client.get_object_details,
    }
    out = []
    for case in cases:
        ctx = dict(case["context"])
        targeting_key = ctx.pop("targetingKey", None)
        details = getters[case["type"]](
            case["flag"], case["default"], EvaluationContext(targeting_key, ctx)
        )
        reason = details.reason
        code = details.error_code
        out.append({
            "value": details.value,
            "variant": details.variant,
            "reason": getattr(reason, "value", reason),
            "error": getattr(code, "value", code),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
