"""``engine init``: draft a spec from a sample file (``--from``), or copy one from the library.

``--template NAME`` copies a folder of ``connectors/`` (spec, sample data,
fixtures) to a new folder, renamed; ``--list`` shows the catalogue
(``connectors/README.md``).

From a sample: the sample is read with the parser its extension suggests; every scalar path
becomes a mapping field (lists of objects become ``each`` blocks) with a
resolver guessed from the values seen (``int``, ``float``, ``datetime``,
``bool``), and the draft gets a ``tests:`` case built from the first record,
so it validates and passes ``engine test`` as written. A target that
declares the record it takes (``fluent.batch``, ``fluent.graphql``) gets its
own field names instead, each from the most similar column
(:mod:`engine.cli.init_target`). It is a starting point: review every field.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from engine.cli.init_target import draft_fields, unused
from engine.contracts import Item, RecordShape
from engine.library import CATALOGUE, default_library, find, read_catalogue
from engine.registry import default_registries
from engine.spec.options import OptionError, build_options

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "xml",
    ".parquet": "parquet",
    ".pq": "parquet",
}
SAMPLE = 200
INT = re.compile(r"^\s*-?\d{1,18}\s*$")
FLOAT = re.compile(r"^\s*-?\d+\.\d+\s*$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
BOOL = {"true", "false", "yes", "no"}
#: short target blocks for the common targets; any other target starts from its plugin's example
TARGETS: dict[str, dict[str, Any]] = {
    "stdout": {"type": "stdout"},
    "file": {"type": "file", "writer": {"type": "jsonl"}, "destination": {"type": "local", "path": "out"}},
    "fluent.batch": {"type": "fluent.batch", "connection": "fluent"},
}


def _xml_records_path(sample: Path) -> str:
    """The repeated element with most occurrences near the top of the file."""
    from collections import Counter

    from lxml import etree

    counts: Counter[str] = Counter()
    stack: list[str] = []
    parser = etree.XMLPullParser(
        events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False
    )
    with open(sample, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            parser.feed(block)
            for event, el in parser.read_events():
                tag = etree.QName(el).localname
                if event == "start":
                    stack.append(tag)
                    if len(stack) > 1:
                        counts["/".join(stack)] += 1
                else:
                    stack.pop()
            if sum(counts.values()) > 5000:
                break
    # the shallowest repeated element is the record (orders, not their lines)
    repeated = [(p.count("/"), -n, p) for p, n in counts.items() if n > 1]
    if not repeated:
        return next(iter(counts), "")
    return min(repeated)[2]


def _parser_block(kind: str, sample: Path) -> dict[str, Any]:
    block: dict[str, Any] = {"type": kind}
    if kind == "csv":
        head = sample.read_bytes()[:65536].decode("utf-8", "replace")
        import csv

        try:
            block["delimiter"] = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:
            block["delimiter"] = "\t" if sample.suffix == ".tsv" else ","
    if kind == "xml":
        block["records"] = _xml_records_path(sample)
    return block


def _records(kind: str, block: dict[str, Any], sample: Path) -> list[Any]:
    cls = default_registries().parsers.get(kind)
    parser = cls(build_options(cls.Options, cls.schema, block, ("parser",), sample.parent), path="parser")
    item = Item(uri=sample.resolve().as_uri(), name=sample.name, size=sample.stat().st_size)
    out: list[Any] = []
    with open(sample, "rb") as stream:
        for chunk in parser.parse(stream, item, None):
            out.extend(chunk.original(i) for i in range(len(chunk.records)))
            if len(out) >= SAMPLE:
                break
    return out[:SAMPLE]


def _resolver(values: list[Any]) -> str | None:
    seen = [v for v in values if v not in (None, "")]
    if not seen or not all(isinstance(v, str) for v in seen):
        return None
    if all(INT.match(v) and not (len(v.strip()) > 1 and v.strip().startswith("0")) for v in seen):
        return "int"
    if all(FLOAT.match(v) or INT.match(v) for v in seen) and any(FLOAT.match(v) for v in seen):
        return "float"
    if all(DATETIME.match(v.strip()) for v in seen):
        return "datetime"
    if all(v.strip().lower() in BOOL for v in seen):
        return "bool"
    return None


def _target_name(path: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", path.replace("@", "").replace("#text", "text"))
    words = [w for w in words if w]
    if not words:
        return "value"
    words = [w.lower() if w.isupper() else w for w in words]
    head = words[0][0].lower() + words[0][1:]
    return head + "".join(w[:1].upper() + w[1:] for w in words[1:])


def _quote(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_@#$-]+", key) else '"' + key.replace('"', '\\"') + '"'


def _walk(
    rec: dict[str, Any],
    prefix: str,
    scalars: dict[str, list[Any]],
    lists: dict[str, list[Any]],
    objects: dict[str, list[Any]],
) -> None:
    for key, value in rec.items():
        path = f"{prefix}.{_quote(str(key))}" if prefix else _quote(str(key))
        if isinstance(value, dict):
            objects.setdefault(path, []).append(value)
            _walk(value, path, scalars, lists, objects)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lists.setdefault(path, []).extend(value)
        else:
            scalars.setdefault(path, []).append(value)


def _fields(records: list[Any]) -> dict[str, Any]:
    """Mapping fields for the paths seen in ``records``; nested input stays nested.

    A path that holds a list in some records and one object in others (XML's
    single repeated element) is a list everywhere.
    """
    scalars: dict[str, list[Any]] = {}
    lists: dict[str, list[Any]] = {}
    objects: dict[str, list[Any]] = {}
    for rec in records:
        if isinstance(rec, dict):
            _walk(rec, "", scalars, lists, objects)
    for path in list(lists):
        lists[path].extend(objects.get(path, []))
        inner = path + "."
        for table in (scalars, lists):
            for other in [p for p in table if p.startswith(inner)]:
                del table[other]
    out: dict[str, Any] = {}
    for path, values in scalars.items():
        field: dict[str, Any] = {"source": path}
        resolver = _resolver(values)
        if resolver:
            field["resolver"] = resolver
        out[_unique(out, _target(path))] = field
    for path, items in lists.items():
        out[_unique(out, _target(path))] = {"each": path, "fields": _fields(items)}
    return out


def _target(path: str) -> str:
    from engine.mapping.paths import Key, parse_path

    parts = [s.name for s in parse_path(path).steps if isinstance(s, Key)]
    return ".".join(_target_name(p) for p in parts) or "value"


def _unique(taken: dict[str, Any], name: str) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{name}{n}"
        n += 1
    return candidate


def draft(sample: Path, target: str, name: str, spec_dir: Path) -> dict[str, Any]:
    """Build the spec document (without ``tests:``) for a sample file.

    The source path is written relative to ``spec_dir``, where the spec will
    live, so the draft runs from there. Raises :class:`click.UsageError` for
    an extension with no known parser and :class:`click.ClickException` when
    the sample holds no records.
    """
    kind = EXTENSIONS.get(sample.suffix.lower())
    if kind is None:
        raise click.UsageError(
            f"cannot tell the format of {sample.name}; use .csv, .json, .jsonl, .xml or .parquet"
        )
    parser = _parser_block(kind, sample)
    records = _records(kind, parser, sample)
    if not records:
        raise click.ClickException(f"{sample}: no records found to learn from")
    spec: dict[str, Any] = {
        "version": 1,
        "name": name,
        "description": f"Drafted from {sample.name} by engine init; review every field.",
    }
    connections, block = target_block(target)
    if connections:
        spec["connections"] = connections
    import os

    where = os.path.relpath(sample.resolve().parent, spec_dir)
    spec["source"] = {"type": "local", "path": where, "pattern": "*" + sample.suffix}
    spec["parser"] = parser
    fields = _fields(records)
    shape = _shape(block, spec_dir)
    if shape is not None:
        columns = {f["source"]: f for f in fields.values() if isinstance(f.get("source"), str)}
        samples = {c: [r.get(c) for r in records if isinstance(r, dict)] for c in columns}
        fields = draft_fields(shape, columns, samples)
        left = unused(columns, fields)
        if left:
            click.echo(f"not mapped (no {shape.name} field looks like them): {', '.join(left)}", err=True)
    spec["mapping"] = {"fields": fields}
    spec["target"] = block
    return spec


def _shape(block: dict[str, Any], spec_dir: Path) -> RecordShape | None:
    """The record the drafted target takes, when it declares one (None for a block it cannot build)."""
    from engine.errors import EngineError

    try:
        cls = default_registries().targets.get(block["type"])
        plugin = cls(build_options(cls.Options, cls.schema, block, ("target",), spec_dir), path="target")
        shape: RecordShape | None = plugin.record_shape(spec_dir)
    except (EngineError, OptionError):
        return None
    return shape


def target_block(target: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``connections:`` and ``target:`` blocks a draft starts from.

    The common targets have a short block of their own; every other one
    starts from its plugin's documented example (``engine plugins target
    NAME``), with the connection that example uses. Raises
    :class:`click.UsageError` for a target no plugin provides.
    """
    from engine.errors import PluginError
    from engine.registry import example_of

    try:
        cls = default_registries().targets.get(target)
    except PluginError as exc:
        raise click.UsageError(f"--target: {exc}") from None
    if target in TARGETS:
        fluent = (
            {"fluent": {"type": "fluent", "base_url": "embedded"}} if target.startswith("fluent.") else {}
        )
        return fluent, dict(TARGETS[target])
    example = yaml.safe_load(example_of(cls) or "") or {}
    block = example.get("target") if isinstance(example, dict) else None
    if not isinstance(block, dict):
        return {}, {"type": target}
    wanted = str(block.get("connection"))
    connections = example.get("connections") or {}
    return ({wanted: connections[wanted]} if wanted in connections else {}), block


@click.command("init")
@click.option(
    "--from",
    "sample",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A sample input file (csv, json, jsonl, xml, parquet).",
)
@click.option(
    "--template",
    metavar="NAME",
    help="Copy the library's connector NAME (a folder or an SDK template name; see --list).",
)
@click.option("--list", "show", is_flag=True, help="Show the connector library's catalogue.")
@click.option(
    "--library",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The connector library to read (default: the connectors/ folder of this installation).",
)
@click.option(
    "--target",
    default="stdout",
    show_default=True,
    help="Target type to start from (stdout, file, fluent.batch, fluent.event ...).",
)
@click.option("--name", default=None, help="Connector name (default: from the sample or the template).")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    help="Write the spec here (with --template: the new folder, default ./NAME).",
)
@click.option("--force", is_flag=True, help="Overwrite the --output file if it exists (--from).")
def init_cmd(
    sample: Path | None,
    template: str | None,
    show: bool,
    library: Path | None,
    target: str,
    name: str | None,
    output: Path | None,
    force: bool,
) -> None:
    """Start a connector: draft one from a sample (--from), or copy one from the library (--template).

    A draft works for any target: the common ones get a short block, others
    start from the plugin's example (engine plugins target NAME) to adapt. An
    existing --output file is kept unless --force is given.
    """
    if sum(map(bool, (sample, template, show))) != 1:
        raise click.UsageError("give one of --from SAMPLE, --template NAME or --list")
    if show:
        list_library(library or default_library())
    elif template:
        copy_template(library or default_library(), template, name, output)
    else:
        assert sample is not None  # one of the three was given
        draft_from_sample(sample, target, name, output, force)


def list_library(library: Path) -> None:
    """Print the catalogue: each scenario, its connector and status; then the other connectors."""
    entries, others = read_catalogue(_catalogue_text(library))
    width = max((len(e.scenario) for e in entries), default=10)
    for e in entries:
        click.echo(f"{e.scenario:<{width}}  {e.connector or '-':<28}  {e.status}")
        if e.note:
            click.echo(f"{'':<{width}}    {e.note.replace('`', '')}")
    listed = {e.connector for e in entries}
    for folder in (f for f in others if f not in listed):
        click.echo(f"{'(other)':<{width}}  {folder:<28}  working")
    working = sum(e.working for e in entries)
    click.echo(f"{working} of {len(entries)} scenarios are working connectors", err=True)


def _catalogue_text(library: Path) -> str:
    try:
        return (library / CATALOGUE).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(
            f"{library}: no connector catalogue ({CATALOGUE}): {exc.strerror}"
        ) from None


def copy_template(library: Path, template: str, name: str | None, output: Path | None) -> None:
    """Copy a catalogue connector's folder (spec, sample data, fixtures) to a new folder, renamed."""
    entry, folder = find(library, template)
    if folder is None:
        if entry is not None:
            raise click.ClickException(f"{template}: no connector yet ({entry.status})")
        raise click.ClickException(f"{template}: not in the catalogue; engine init --list shows it")
    source = library / folder
    old = Path(folder).name
    new = name or old
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", new):
        raise click.UsageError(f"--name {new!r}: use letters, digits, - _ .")
    dest = output or Path(new)
    if dest.exists():
        raise click.ClickException(f"{dest} already exists; choose another --output")
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".engine", "out", "__pycache__"))
    spec = dest / f"{old}.yaml"
    if new != old:
        text = spec.read_text(encoding="utf-8")
        spec.unlink()
        spec = dest / f"{new}.yaml"
        spec.write_text(re.sub(rf"(?m)^name: {re.escape(old)}$", f"name: {new}", text), encoding="utf-8")
    click.echo(
        f"wrote {dest}/ from {folder}; edit {spec}, then: engine validate {dest} && engine test {dest}"
    )


def draft_from_sample(sample: Path, target: str, name: str | None, output: Path | None, force: bool) -> None:
    """Draft a spec from SAMPLE's structure, with a test case from its first record."""
    if output is not None and output.exists() and not force:
        raise click.UsageError(f"{output} exists; choose another --output, or add --force to overwrite it")
    connector = name or re.sub(r"[^A-Za-z0-9_.-]+", "-", sample.stem).strip("-") or "connector"
    base = (output or Path("spec.yaml")).resolve().parent
    spec = draft(sample, target, connector, base)
    spec["tests"] = [_test_case(spec, sample, connector, base)]
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=110)
    problems = _problems(text, str(output or "spec.yaml"), base)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}: {len(spec['mapping']['fields'])} fields", err=True)
    else:
        sys.stdout.write(text)
    if problems:
        click.echo(f"the draft needs {len(problems)} change(s) before it validates:", err=True)
        for d in problems:
            click.echo(f"  {d.render()}", err=True)
    elif output:
        click.echo(f"check it with: engine validate {output} && engine test {output}", err=True)


def _test_case(spec: dict[str, Any], sample: Path, connector: str, base: Path) -> dict[str, Any]:
    """A ``tests:`` case from the sample's first record, mapped by the draft's mapping (whatever its target)."""
    from engine.spec.compile import compile_document
    from engine.spec.loader import load_text

    mapping_only = {k: v for k, v in spec.items() if k not in ("connections", "target")}
    mapping_only["target"] = {"type": "stdout"}
    doc = load_text(yaml.safe_dump(mapping_only, sort_keys=False), "draft", base_dir=base)
    plan = compile_document(doc)
    first = _records(spec["parser"]["type"], spec["parser"], sample)[:1]
    assert plan.mapping is not None  # a draft always maps
    mapped, _issues = plan.mapping.map_record(first[0], {"connector": connector, "run_id": "test"})
    return {
        "name": f"maps the first record of {sample.name}",
        "input": first,
        "expect": [mapped] if mapped is not None else [],
    }


def _problems(text: str, file: str, base: Path) -> list[Any]:
    """What keeps the draft from validating (a target example's fields the sample lacks, say)."""
    from engine.errors import SpecError
    from engine.spec.compile import compile_document
    from engine.spec.loader import load_text

    try:
        compile_document(load_text(text, file, base_dir=base)).close()
    except SpecError as exc:
        return [d for d in exc.diagnostics if d.severity == "error"]
    return []
