// Evaluates a table of cases with the OpenFeature JavaScript server SDK and its OFREP provider.
// usage: node interop.mjs BASE_URL SDK_KEY CASES_JSON  -> one JSON array of results on stdout
import { readFileSync } from 'node:fs';
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const [base, key, path] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(path, 'utf8'));
await OpenFeature.setProviderAndWait(
  new OFREPProvider({ baseUrl: base, headers: [['Authorization', `Bearer ${key}`]] }),
);
const client = OpenFeature.getClient();
const getters = {
  boolean: (f, d, c) => client.getBooleanDetails(f, d, c),
  string: (f, d, c) => client.getStringDetails(f, d, c),
  integer: (f, d, c) => client.getNumberDetails(f, d, c),
  float: (f, d, c) => client.getNumberDetails(f, d, c),
  object: (f, d, c) => client.getObjectDetails(f, d, c),
};
const out = [];
for (const c of cases) {
  const d = await getters[c.type](c.flag, c.default, c.context);
  out.push({ value: d.value, variant: d.variant ?? null, reason: d.reason ?? null, error: d.errorCode ?? null });
}
process.stdout.write(JSON.stringify(out));
await OpenFeature.close();
