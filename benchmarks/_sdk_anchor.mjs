// The SDK anchor for `bench.py --compare-sdk`: the public Fluent SDK (unmodified, installed by
// `make test-sdk-setup` into tests/emulator/sdk) parsing and mapping the bench CSV.
//
//   node benchmarks/_sdk_anchor.mjs <sdk-folder> <csv> [batch-size]
//
// CSVParserService streams the file (parseStreamStreaming over a file stream, batches of 5,000
// records) and UniversalMapper maps each batch with the eight fields of bench_csv.yaml, as far as
// the SDK can express them. What differs from the engine's mapping:
//   - one resolver per field: trim comes from the parser (CSVParserService trims every value by
//     default), so skuRef/locationRef only upper-case (sdk.uppercase);
//   - qty and price use sdk.parseInt / sdk.parseFloat, which turn a bad value into 0 instead of
//     rejecting the row; the SDK has no strict conversion;
//   - updatedOn uses sdk.formatDate (JavaScript Date parsing, ISO string with milliseconds out),
//     with no format or zone check;
//   - ref is a custom resolver (the SDK has no concat): upper-cased sku, ':', location;
//   - a failed row is counted, not explained with file, row and field.
// Prints one JSON line: rows read, rows mapped, mapping errors, seconds (parse + map, without
// node's start-up, like the engine report's seconds) and the first mapped record.
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [sdkFolder, csvPath, rawBatch] = process.argv.slice(2);
const batchSize = Number(rawBatch || 5000);
const entry = join(sdkFolder, 'node_modules/@fluentcommerce/fc-connect-sdk/dist/esm/index.js');
const { CSVParserService, UniversalMapper } = await import(pathToFileURL(entry).href);

const config = {
  fields: {
    skuRef: { source: 'sku', required: true, resolver: 'sdk.uppercase' },
    locationRef: { source: 'location', required: true, resolver: 'sdk.uppercase' },
    qty: { source: 'qty', required: true, resolver: 'sdk.parseInt' },
    status: { source: 'status', resolver: 'sdk.uppercase' },
    updatedOn: { source: 'updated', resolver: 'sdk.formatDate' },
    price: { source: 'price', resolver: 'sdk.parseFloat' },
    ref: { source: 'sku', resolver: 'bench.ref' },
    type: { value: 'LAST_ON_HAND' },
  },
};
const customResolvers = {
  'bench.ref': (value, row) => `${String(value).toUpperCase()}:${row.location}`,
};
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const started = performance.now();
const mapper = new UniversalMapper(config, { customResolvers, logger: quiet });
const parser = new CSVParserService();
let rows = 0;
let mapped = 0;
let errors = 0;
let first = null;
for await (const batch of parser.parseStreamStreaming(createReadStream(csvPath), {}, batchSize)) {
  const records = Array.isArray(batch) ? batch : [batch];
  rows += records.length;
  const result = await mapper.map(records);
  mapped += result.data.length;
  errors += result.errors ? result.errors.length : 0;
  if (first === null && result.data.length) first = result.data[0];
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ rows, mapped, errors, seconds, first }));
