// Maps records with the public Fluent SDK's own GraphQLMutationMapper (unmodified, from
// ./node_modules) and prints the variables it builds, one JSON line. Used by
// tests/mapping/sdk/test_sdk_graphql_mapper.py to compare them with the engine's.
//
//   node map_mutation.mjs < {"config": {...}, "records": [...]}
import { GraphQLMutationMapper } from '@fluentcommerce/fc-connect-sdk';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { config, records } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const mapper = new GraphQLMutationMapper(config);
const results = [];
for (const record of records) {
  try {
    const { variables } = await mapper.map(record);
    results.push({ variables });
  } catch (error) {
    results.push({ thrown: String(error && error.message ? error.message : error) });
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
