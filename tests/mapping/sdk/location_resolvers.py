"""A custom resolver as a Fluent SDK user would write it (value, record, context)."""

KNOWN = {"locationCode", "locationType", "status"}


def extractLocationAttributes(value, record, context):
    return [{"name": k, "type": "STRING", "value": v} for k, v in sorted(value.items()) if k not in KNOWN]
