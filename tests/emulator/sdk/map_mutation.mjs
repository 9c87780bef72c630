// Maps records with the public Fluent SDK's own GraphQLMutationMapper (unmodified, from
// ./node_modules) and prints the variables it builds, one JSON line. Used by
// tests/mapping/sdk/test_sdk_graphql_mapper.py to compare them with the engine's. A config with
// `arguments` goes through map(), one with `fields` through mapWithNodes(), as the SDK's docs use them.
//
//   node map_mutation.mjs < {"config": {...}, "records": [...], "resolvers": "/abs/path/module.mjs"}
//
// `resolvers` (optional) is a module whose default export maps custom resolver names to functions.
import { GraphQLMutationMapper } from '@fluentcommerce/fc-connect-sdk';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { config, records, resolvers } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const customResolvers = resolvers ? (await import(resolvers)).default : {};
const mapper = new GraphQLMutationMapper(config, undefined, { customResolvers });
const results = [];
for (const record of records) {
  try {
    if (config.arguments) {
      const { variables } = await mapper.map(record);
      results.push({ variables });
    } else {
      const result = await mapper.mapWithNodes(record);
      results.push(result.success ? { variables: result.variables } : { thrown: result.errors.join('; ') });
    }
  } catch (error) {
    results.push({ thrown: String(error && error.message ? error.message : error) });
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
