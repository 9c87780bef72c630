"""Schemas of the spec's skeleton and of the sections the engine owns.

Phase one validates the skeleton (sections, ``type`` present in plugin
blocks); phase two validates each plugin block against its own plugin's
schema and each engine section (mapping, state, on_error, trigger, tests)
against the schemas here. Defaults live in these schemas only.
"""

from __future__ import annotations

from typing import Any

from engine.units import duration

SPEC_VERSION = 1

DURATION = duration()
#: five to seven cron fields (seconds, years optional) or a nickname; croniter checks the values
CRON_FIELD = r"[0-9A-Za-z*/,?#-]+"
CRON_PATTERN = (
    rf"^\s*(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|{CRON_FIELD}(\s+{CRON_FIELD}){{4,6}})\s*$"
)

PLUGIN_BLOCK = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"type": "string", "minLength": 1}},
}

SKELETON: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "connector.schema.json",
    "title": "engine connector spec (skeleton)",
    "description": "The sections of a connector spec, checked first by engine validate; each plugin block is then "
    "checked against its own plugin's schema. For editors use engine.schema.json, the whole spec in one file.",
    "type": "object",
    "required": ["version", "name", "source"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": SPEC_VERSION, "description": "spec language version"},
        "name": {
            "type": "string",
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
            "description": "connector name: letters, digits, '-', '_' and '.'; keys its state",
            "x-error": "{value!r} is not a valid name: use letters, digits, '-', '_' and '.' (up to 100)",
        },
        "description": {"type": "string"},
        "context": {
            "type": "object",
            "description": "values mappings read as $context.NAME",
        },
        "plugins": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Python modules with custom resolvers; loaded only with --allow-custom-code",
        },
        "connections": {
            "type": "object",
            "additionalProperties": PLUGIN_BLOCK,
            "propertyNames": {"pattern": r"^[A-Za-z][A-Za-z0-9_-]*$"},
        },
        "source": PLUGIN_BLOCK,
        "parser": PLUGIN_BLOCK,
        "mapping": {"type": "object"},
        "target": PLUGIN_BLOCK,
        "routes": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "object"},
            "description": "instead of mapping and target: routes, each with its own mapping and target",
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "object"},
            "description": "instead of mapping and target: steps run in order for each record (one route, main)",
        },
        "routing": {
            "enum": ["first", "all"],
            "default": "first",
            "description": "first: a record goes to the first route that takes it; all: to every one (fan-out)",
        },
        "state": {"type": "object"},
        "on_error": {"type": "object"},
        "trigger": {"type": "object"},
        "executor": PLUGIN_BLOCK,
        "explode": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "description": "one record per element of a nested list, with chosen fields of its parent",
            "properties": {
                "path": {"type": "string", "minLength": 1, "description": "the list, e.g. lines"},
                "parent": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "minLength": 1},
                    "default": {},
                    "description": "field name -> path in the parent record, copied into every element",
                },
                "empty": {
                    "enum": ["reject", "skip"],
                    "default": "reject",
                    "description": "a parent without elements: reject it (default) or leave it out",
                },
            },
        },
        "lookups": {
            "type": "object",
            "description": "named lookups mappings read as $lookup.NAME",
            "additionalProperties": PLUGIN_BLOCK,
            "propertyNames": {"pattern": r"^[A-Za-z][A-Za-z0-9_]*$"},
        },
        "tests": {"type": "array"},
    },
}

MAPPING: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fields": {"type": "object", "description": "target field -> field definition"},
        "sdk_config": {
            "description": "a Fluent SDK UniversalMapper config: a JSON file path, or the config inline",
            "oneOf": [
                {"type": "string", "description": "a file path"},
                {"type": "object", "description": "an inline SDK config"},
            ],
        },
        "sdk_graphql_mapper": {
            "description": "a Fluent SDK GraphQLMutationMapper config (its arguments give the mutation "
            "variables): a JSON file path, or the config inline",
            "oneOf": [
                {"type": "string", "description": "a file path"},
                {"type": "object", "description": "an inline GraphQLMutationMapper config"},
            ],
        },
        "columnar": {
            "type": "boolean",
            "default": True,
            "description": "when the parser can read a file as Arrow columns (CSV without quotes, blank "
            "lines or bad bytes), compute the fields that have a columnar form on whole columns and "
            "the rest row by row, with the same outputs and rejects; false: always row by row",
        },
        "options": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "lenient": {
                    "type": "boolean",
                    "default": False,
                    "description": "sdk.* resolvers return the SDK's fallback values (0, false) instead of rejecting",
                },
                "timezone": {"type": "string", "description": "time zone of dates without one (IANA name)"},
            },
        },
    },
}

STEP: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "target"],
    "properties": {
        "name": {
            "type": "string",
            "pattern": r"^[A-Za-z][A-Za-z0-9_]{0,63}$",
            "description": "the step's name: later steps read its answer as $steps.NAME.answer",
            "x-error": "{value!r} is not a valid step name: a letter, then letters, digits or '_'",
        },
        "when": {
            "type": "string",
            "minLength": 1,
            "description": "JMESPath over {record, steps, context, file, row}; absent: every record",
        },
        "after": {
            "enum": ["succeeded", "failed"],
            "default": "succeeded",
            "description": "succeeded: runs when no earlier step failed for the record; failed: only when one did",
        },
        "mapping": {
            "type": "object",
            "description": "the step's mapping (as mapping:); absent: records as read",
        },
        "target": PLUGIN_BLOCK,
    },
}

ROUTE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {
            "type": "string",
            "pattern": r"^[A-Za-z][A-Za-z0-9_-]{0,63}$",
            "description": "the route's name: rejects, report counts, checkpoints and --route name it",
            "x-error": "{value!r} is not a valid route name: a letter, then letters, digits, '-' or '_'",
        },
        "when": {
            "type": "string",
            "minLength": 1,
            "description": "JMESPath over {record, context, file, row}; absent: the route takes every record",
        },
        "otherwise": {
            "type": "boolean",
            "default": False,
            "description": "the route takes the records no other route took (last route, no when)",
        },
        "mapping": {
            "type": "object",
            "description": "the route's mapping (as mapping:); absent: records as read",
        },
        "target": PLUGIN_BLOCK,
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "object"},
            "description": "instead of the route's mapping and target: steps run in order for each record",
        },
    },
}

STATE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "store": {
            **PLUGIN_BLOCK,
            "description": "where state lives; default: SQLite under .engine/ next to the spec",
        },
        "dedupe": {
            "enum": ["fingerprint", "checksum", "name", "none"],
            "default": "fingerprint",
            "description": "when a file counts as already processed: same name+size+mtime/etag "
            "(fingerprint), same bytes (checksum), same name, or never",
        },
        "lock": {
            "description": "one run at a time per connector",
            "oneOf": [
                {"type": "boolean", "description": "true or false"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"ttl": {**DURATION, "default": "15m"}},
                    "description": "a mapping with ttl",
                },
            ],
            "default": {"ttl": "15m"},
        },
        "retry": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "max_attempts": {"type": "integer", "minimum": 1, "default": 5},
                "backoff": {**DURATION, "default": "5m"},
            },
            "default": {"max_attempts": 5, "backoff": "5m"},
        },
        "history": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "keep": {
                    "type": "integer",
                    "minimum": 1,
                    "default": 100000,
                    "description": "ledger entries kept per connector",
                },
                "window": {
                    **DURATION,
                    "default": "90d",
                    "description": "ledger entries older than this may be forgotten",
                },
            },
            "default": {"keep": 100000, "window": "90d"},
        },
        "checkpoint": {
            "type": "boolean",
            "default": True,
            "description": "record acknowledged progress inside a file to resume exactly after a crash",
        },
        "changed_only": {
            "type": "object",
            "additionalProperties": False,
            "required": ["key"],
            "description": "send a record only when its fields differ from what was last delivered for its key",
            "properties": {
                "key": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "minLength": 1},
                    "description": "mapped fields that identify a record (e.g. [skuRef, locationRef])",
                },
                "fields": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string", "minLength": 1},
                    "description": "mapped fields compared (default: every mapped field)",
                },
                "namespace": {
                    "type": "string",
                    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                    "description": "where the delivered values are kept (default: the connector's name); "
                    "a state lookup reads them",
                },
                "expire": duration("a key not delivered for this long counts as changed again"),
            },
        },
    },
}

ON_ERROR: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "invalid_record": {
            "enum": ["reject", "skip", "fail"],
            "default": "reject",
            "description": "reject: write to the rejects file and go on; skip: count and go on; fail: stop the run",
        },
        "max_reject_ratio": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "default": 0,
            "description": "share of records that may be rejected before the run exits 3",
        },
        "max_rejects": {
            "type": "integer",
            "minimum": 0,
            "description": "number of rejects tolerated (overrides the ratio when set)",
        },
        "rejects": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "path": {
                    "type": "string",
                    "description": "rejects file; default .engine/rejects/NAME-RUN.jsonl",
                },
                "format": {
                    "enum": ["jsonl", "csv"],
                    "default": "jsonl",
                    "description": "jsonl keeps everything; csv puts the original columns first, for spreadsheets",
                },
                "excel": {
                    "type": "boolean",
                    "default": False,
                    "description": "csv only: start the file with a UTF-8 byte order mark so Excel shows accents right",
                },
            },
            "default": {"format": "jsonl", "excel": False},
        },
    },
}

ANSWER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "how the webhook answers: at once (async) or with a body built from the run (sync)",
    "properties": {
        "mode": {
            "enum": ["async", "sync"],
            "description": "async: 202 with the run id at once; sync: run, then answer (default: response)",
        },
        "timeout": duration(
            "a sync run still going after this long is answered 202 with its run id (GET /runs/{id}); "
            "default: wait for the run"
        ),
        "status": {
            "type": "integer",
            "minimum": 200,
            "maximum": 299,
            "default": 200,
            "description": "status of a sync answer when the run succeeded (otherwise 422, 500 or 503)",
        },
        "content_type": {
            "type": "string",
            "minLength": 1,
            "default": "application/json",
            "description": "Content-Type of a sync answer",
        },
        "body": {
            "type": "string",
            "description": "the sync answer, with {{ jmespath }} placeholders over run, records and each; "
            "default: the run summary as JSON",
        },
        "each": {
            "type": "string",
            "description": "text rendered per record (placeholders over its outcome), joined into {{ each }}",
        },
        "separator": {"type": "string", "default": "\n", "description": "between the each texts"},
        "escape": {
            "enum": ["xml", "json", "csv", "text"],
            "description": "how placeholder values are escaped; default: from content_type",
        },
    },
}

TRIGGER: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "schedule": {
            "type": "string",
            "pattern": CRON_PATTERN,
            "description": "a cron expression (minute hour day month weekday), or @hourly, @daily, @weekly ...",
            "examples": ["0 */6 * * *", "30 2 * * mon-fri", "@daily"],
            "x-error": "invalid cron expression {value!r} (expected five fields: minute hour day month weekday)",
        },
        "webhook": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "pattern": "^/"},
                "auth": {
                    "type": "object",
                    "properties": {
                        "type": {"enum": ["fluent_signature", "api_key", "none"]},
                        "public_key": {
                            "type": "string",
                            "description": "the sender's public key (PEM or bare base64); not a secret",
                        },
                        "api_key": {"type": "string", "writeOnly": True},
                        "header": {"type": "string", "default": "x-api-key"},
                    },
                    "required": ["type"],
                    "additionalProperties": False,
                },
                "response": {
                    "enum": ["sync", "async"],
                    "default": "async",
                    "description": "async: 202 at once, the run follows; sync: answer with the run's outcome "
                    "(answer.mode, when given, decides instead)",
                },
                "answer": ANSWER,
                "format": {"enum": ["json", "xml", "csv", "raw"], "default": "json"},
            },
        },
    },
}

TEST_CASE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "input": {
            "description": "records (a list), or a fixture file parsed with the spec's parser",
            "oneOf": [
                {"type": "array", "description": "a list of records"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["file"],
                    "properties": {"file": {"type": "string"}},
                    "description": "{file: path}",
                },
            ],
        },
        "context": {"type": "object"},
        "lookups": {
            "type": "object",
            "description": "per lookup of the spec, the answers it gives in this case (offline)",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {
                    "answers": {
                        "type": "array",
                        "description": "[{key, answer}]: key is {part: value} (or the value of a one-part key)",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["key", "answer"],
                            "properties": {"key": {}, "answer": {}},
                        },
                    },
                    "rows": {"type": "array", "description": "a file lookup's table rows"},
                    "responses": {
                        "type": "array",
                        "description": "a fluent.graphql lookup's recorded responses, one per request",
                    },
                },
            },
        },
        "route": {
            "type": "string",
            "description": "with routes: the route whose mapping is tested (default: the only route)",
        },
        "step": {
            "type": "string",
            "description": "with steps: the step whose mapping is tested (default: the route's first step)",
        },
        "steps": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"outcome": {"enum": ["succeeded", "failed"]}, "answer": {}},
            },
            "description": "earlier steps' answers as fixtures: {create: {answer: {id: L1}}} (outcome: succeeded)",
        },
        "expect": {"type": "array", "description": "the mapped records, in order"},
        "expect_rejects": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "row": {"type": "integer", "minimum": 1},
                    "field": {"type": "string"},
                    "message": {"type": "string", "description": "a substring of the reason"},
                },
            },
        },
    },
}

TESTS: dict[str, Any] = {"type": "array", "items": TEST_CASE}

SECTIONS: dict[str, dict[str, Any]] = {
    "mapping": MAPPING,
    "state": STATE,
    "on_error": ON_ERROR,
    "trigger": TRIGGER,
    "tests": TESTS,
}
