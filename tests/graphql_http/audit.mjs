// Run graphql-http's server audits (GraphQL-over-HTTP spec conformance) against a URL and
// print the results as JSON on stdout, for tests/graphql_http/test_audit.py.
//
// Usage: node audit.mjs <url>    run every audit, one after the other
//        node audit.mjs --list   print the audits (id and name) without running them
//
// Each result is {id, name, status: "ok" | "notice" | "warn" | "error"}; a failed one adds the
// reason and what the server answered (status, content type, the start of the body).
import { serverAudits } from 'graphql-http';

const target = process.argv[2];
if (!target) {
  console.error('usage: node audit.mjs <url> | --list');
  process.exit(2);
}

if (target === '--list') {
  // serverAudits only builds the list; no request is made.
  const audits = serverAudits({ url: 'http://127.0.0.1:9/graphql' });
  console.log(JSON.stringify(audits.map(({ id, name }) => ({ id, name })), null, 2));
  process.exit(0);
}

async function describe(response) {
  const described = {
    httpStatus: response.status,
    contentType: response.headers.get('content-type'),
  };
  try {
    described.body = (await response.clone().text()).slice(0, 500);
  } catch {
    // The audit already read the body; its reason usually quotes it.
  }
  return described;
}

const results = [];
for (const audit of serverAudits({ url: target })) {
  let result;
  try {
    result = await audit.fn();
  } catch (error) {
    result = { id: audit.id, name: audit.name, status: 'error', reason: `audit threw: ${error}` };
  }
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
    if (result.response) {
      Object.assign(entry, await describe(result.response));
    }
  }
  results.push(entry);
}
console.log(JSON.stringify(results, null, 2));
