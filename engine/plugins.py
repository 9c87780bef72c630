"""The built-in plugins, listed in one place.

Each entry names the module and class; the module is imported only when the
plugin is used (or when a command lists schemas), so a spec reading local CSV
never imports boto3 or pyarrow. Third-party plugins come through entry points
(see :mod:`engine.registry`).
"""

BUILTINS: dict[str, dict[str, str]] = {
    "connections": {
        "fluent": "engine.connections.fluent:FluentConnection",
        "s3": "engine.connections.s3:S3Connection",
        "sftp": "engine.connections.sftp:SftpConnection",
        "http": "engine.connections.http:HttpConnection",
        "smtp": "engine.connections.smtp:SmtpConnection",
    },
    "sources": {
        "local": "engine.sources.local:LocalSource",
        "fluent.graphql": "engine.sources.fluent.graphql:GraphqlSource",
        "s3": "engine.sources.s3:S3Source",
        "sftp": "engine.sources.sftp:SftpSource",
        "payload": "engine.sources.payload:PayloadSource",
        "http": "engine.sources.http:HttpSource",
    },
    "parsers": {
        "csv": "engine.parsers.csv:CsvParser",
        "json": "engine.parsers.json:JsonParser",
        "jsonl": "engine.parsers.jsonl:JsonlParser",
        "xml": "engine.parsers.xml:XmlParser",
        "parquet": "engine.parsers.parquet:ParquetParser",
    },
    "targets": {
        "stdout": "engine.targets.stdout:StdoutTarget",
        "null": "engine.targets.null:NullTarget",
        "file": "engine.targets.file:FileTarget",
        "fluent.batch": "engine.targets.fluent.batch:BatchTarget",
        "fluent.event": "engine.targets.fluent.event:EventTarget",
        "fluent.graphql": "engine.targets.fluent.graphql:GraphqlTarget",
        "http": "engine.targets.http:HttpTarget",
        "email": "engine.targets.email:EmailTarget",
    },
    "writers": {
        "csv": "engine.writers.csv:CsvWriter",
        "json": "engine.writers.json:JsonWriter",
        "jsonl": "engine.writers.jsonl:JsonlWriter",
        "xml": "engine.writers.xml:XmlWriter",
        "parquet": "engine.writers.parquet:ParquetWriter",
    },
    "destinations": {
        "local": "engine.destinations.local:LocalDestination",
        "s3": "engine.destinations.s3:S3Destination",
        "sftp": "engine.destinations.sftp:SftpDestination",
    },
    "state_stores": {
        "sqlite": "engine.state.sqlite:SqliteStateStore",
        "postgres": "engine.state.postgres:PostgresStateStore",
    },
    "executors": {
        "local": "engine.executors.local:LocalExecutor",
        "processes": "engine.executors.processes:ProcessesExecutor",
        "dask": "engine.executors.dask:DaskExecutor",
    },
    "lookups": {
        "file": "engine.lookups.file:FileLookup",
        "state": "engine.lookups.state:StateLookup",
        "fluent.graphql": "engine.lookups.fluent.graphql:GraphqlLookup",
        "http": "engine.lookups.http:HttpLookup",
    },
}

#: modules whose ``RESOLVERS`` lists hold the built-in resolvers
RESOLVER_MODULES: list[str] = [
    "engine.mapping.resolvers.sdk",
    "engine.mapping.resolvers.sdk_nodes",
    "engine.mapping.resolvers.strings",
    "engine.mapping.resolvers.numbers",
    "engine.mapping.resolvers.booleans",
    "engine.mapping.resolvers.dates",
    "engine.mapping.resolvers.structured",
    "engine.mapping.resolvers.identifiers",
    "engine.mapping.resolvers.arithmetic",
]
