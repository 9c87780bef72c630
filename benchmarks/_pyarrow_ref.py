"""The reference: pyarrow alone reading the bench CSV and computing the bench mapping's eight fields.

``python benchmarks/_pyarrow_ref.py CSV OUT`` reads the file with
``pyarrow.csv.read_csv`` (text columns), computes what ``bench_csv.yaml``
maps (trim and upper, a strict integer, upper, an ISO date-time checked,
a float, a concatenation and a constant) on whole columns, and writes its
own seconds, rows and peak RSS (kB) to OUT as JSON. No validation a feed
needs, no rejects, no per-row output: what Arrow itself can do.
"""

import json
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

started = time.perf_counter()
names = ["sku", "location", "qty", "status", "updated", "price"]
table = pacsv.read_csv(
    sys.argv[1], convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()))
)
sku = pc.ascii_upper(pc.ascii_trim_whitespace(table.column("sku")))
location = pc.ascii_upper(pc.ascii_trim_whitespace(table.column("location")))
fields = {
    "skuRef": sku,
    "locationRef": location,
    "qty": pc.cast(table.column("qty"), pa.int64()),
    "status": pc.ascii_upper(table.column("status")),
    "updatedOn": pc.cast(table.column("updated"), pa.timestamp("s", tz="UTC")),
    "price": pc.cast(table.column("price"), pa.float64()),
    "ref": pc.binary_join_element_wise(sku, table.column("location"), ":"),
    "type": pa.repeat(pa.scalar("LAST_ON_HAND"), table.num_rows),
}
mapped = pa.table(fields)
seconds = time.perf_counter() - started
status = Path("/proc/self/status").read_text()
peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
Path(sys.argv[2]).write_text(json.dumps({"seconds": seconds, "rows": mapped.num_rows, "peak_kb": int(peak)}))
