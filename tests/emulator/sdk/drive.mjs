// Drives one service of the public Fluent SDK (unmodified, from ./node_modules) against an
// emulator and prints what it returned as one JSON line. Used by tests/emulator/test_sdk_services.py.
//
//   node drive.mjs <scenario> <base-url> [json-argument]
//
// Credentials come from FLUENT_CLIENT_ID, FLUENT_CLIENT_SECRET, FLUENT_USERNAME,
// FLUENT_PASSWORD and FLUENT_RETAILER_ID.
import {
  createClient,
  FluentConnectionTester,
  GraphQLIntrospectionService,
  GraphQLMutationMapper,
  parseAliasedMutationResponse,
  WebhookValidationService,
} from '@fluentcommerce/fc-connect-sdk';
// The package root does not export the orchestrator (its exports map allows only "."), so it is
// loaded from its file, as the SDK's own templates do from source.
import { ExtractionOrchestrator } from './node_modules/@fluentcommerce/fc-connect-sdk/dist/esm/services/extraction/extraction-orchestrator.js';

const [scenario, baseUrl, rawArgument] = process.argv.slice(2);
const argument = rawArgument ? JSON.parse(rawArgument) : {};
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function client() {
  const env = process.env;
  return createClient({
    config: {
      baseUrl,
      clientId: env.FLUENT_CLIENT_ID,
      clientSecret: env.FLUENT_CLIENT_SECRET,
      username: env.FLUENT_USERNAME,
      password: env.FLUENT_PASSWORD,
      retailerId: env.FLUENT_RETAILER_ID,
    },
    logger: quiet,
  });
}

const scenarios = {
  async connection() {
    const tester = new FluentConnectionTester(await client(), { logger: quiet });
    return tester.testConnection();
  },

  async extraction() {
    const orchestrator = new ExtractionOrchestrator(await client(), quiet);
    const result = await orchestrator.extract({
      query: argument.query,
      variables: argument.variables || {},
      resultPath: argument.resultPath,
      pageSize: argument.pageSize,
    });
    return { records: result.data, stats: result.stats };
  },

  async introspection() {
    const service = new GraphQLIntrospectionService(await client(), quiet);
    const mutations = await service.getMutations();
    const mutation = await service.getMutation(argument.mutation);
    const input = await service.getInputType(argument.inputType);
    return {
      mutations,
      mutation,
      input,
      refRequired: service.isFieldRequired(input, 'ref'),
      statusRequired: service.isFieldRequired(input, 'status'),
    };
  },

  async aliasedMutations() {
    const fluent = await client();
    const mapper = new GraphQLMutationMapper(argument.mapping, quiet);
    const payload = await mapper.batchMap(argument.items);
    const response = await fluent.graphql({
      query: payload.query,
      variables: payload.variables,
      errorHandling: 'partial',
    });
    const parsed = parseAliasedMutationResponse(response, argument.items.length, argument.mapping.mutation);
    return { query: payload.query, parsed, data: response.data, errors: response.errors || [] };
  },

  async batch() {
    const fluent = await client();
    const job = await fluent.createJob({ name: 'sdk batch test', retailerId: process.env.FLUENT_RETAILER_ID });
    const batch = await fluent.sendBatch(job.id, argument.batch);
    const seen = [];
    for (let poll = 0; poll < 20; poll += 1) {
      const status = await fluent.getBatchStatus(job.id, batch.id);
      seen.push(status.status);
      if (status.status === 'COMPLETED' || status.status === 'FAILED') {
        return { jobId: job.id, batchId: batch.id, seen, final: status, job: await fluent.getJobStatus(job.id) };
      }
    }
    return { jobId: job.id, batchId: batch.id, seen };
  },

  // A flow's calls in order, through the SDK's own client: {graphql: {query, variables}} or
  // {event: {...}, mode: 'sync'|'async'}; each answer (or the error it threw) is returned.
  async steps() {
    const fluent = await client();
    const answers = [];
    for (const step of argument.steps) {
      try {
        if (step.graphql) {
          answers.push(await fluent.graphql({ ...step.graphql, errorHandling: 'partial' }));
        } else {
          answers.push(await fluent.sendEvent(step.event, step.mode || 'async'));
        }
      } catch (error) {
        answers.push({ error: String(error && error.message ? error.message : error) });
      }
    }
    return answers;
  },

  async webhook() {
    const service = new WebhookValidationService({}, quiet);
    const results = [];
    for (const delivery of argument.deliveries) {
      results.push(await service.validateWebhook(delivery.body, delivery.headers, argument.publicKey));
    }
    return results.map((r) => ({ isValid: r.isValid, algorithm: r.algorithm, error: r.error || null }));
  },
};

try {
  const result = await scenarios[scenario]();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ thrown: String(error && error.stack ? error.stack : error) })}\n`);
  process.exitCode = 1;
}
