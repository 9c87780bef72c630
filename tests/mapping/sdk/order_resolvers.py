"""The custom resolvers of the SDK guide's SFCC order example, as engine plugins (value, record, context)."""

TYPES = {"standard": "STANDARD", "express": "HD", "store-pickup": "CC"}


def mapOrderType(value, record, context):
    return TYPES.get(value.lower(), "STANDARD")


def calculateItemTotal(value, record, context):
    return int(record["@qty"]) * float(record["@unitPrice"])
