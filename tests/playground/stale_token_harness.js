// Runs the playground's own script (playground/static/playground.js) in Node against a live
// gql-users server, with just enough of a DOM for it: no browser, real HTTP. Used by
// test_stale_token.py.
//
//   node stale_token_harness.js <playground.js> <base URL> <stale token> <good token>
//
// Prints one JSON object: what the page showed and stored at each step.
'use strict';

const fs = require('fs');
const vm = require('vm');

const [scriptPath, baseUrl, staleToken, goodToken] = process.argv.slice(2);

class FakeElement {
  constructor(id, extra) {
    this.id = id;
    this.listeners = {};
    this.children = [];
    this.dataset = {};
    this.hidden = false;
    this.value = '';
    this.textContent = '';
    Object.assign(this, extra || {});
  }
  addEventListener(type, listener) {
    (this.listeners[type] = this.listeners[type] || []).push(listener);
  }
  dispatch(type) {
    (this.listeners[type] || []).forEach((listener) => listener({ preventDefault() {} }));
  }
  replaceChildren(...children) {
    this.children = children;
  }
  appendChild(child) {
    this.children.push(child);
  }
}

const elements = {
  graphiql: new FakeElement('graphiql', {
    dataset: { endpoint: '../graphql', operations: 'operations.json' },
  }),
  'playground-token': new FakeElement('playground-token', { type: 'password' }),
  'playground-token-toggle': new FakeElement('playground-token-toggle'),
  'playground-examples': new FakeElement('playground-examples'),
  'playground-settings': new FakeElement('playground-settings'),
  'playground-notice': new FakeElement('playground-notice', { hidden: true }),
  'playground-notice-text': new FakeElement('playground-notice-text'),
  'playground-token-clear': new FakeElement('playground-token-clear'),
};

const stored = new Map([['gql-users.playground.token', staleToken]]);
const localStorage = {
  getItem: (key) => (stored.has(key) ? stored.get(key) : null),
  setItem: (key, value) => stored.set(key, String(value)),
  removeItem: (key) => stored.delete(key),
};

const mounts = [];
const context = {
  URL,
  fetch,
  console,
  document: {
    baseURI: baseUrl + '/playground/',
    getElementById: (id) => elements[id] || null,
    createElement: (tag) => new FakeElement(tag),
  },
  window: { localStorage },
  React: { createElement: (component, props) => ({ component, props }) },
  ReactDOM: { createRoot: () => ({ render: (element) => mounts.push(element.props) }) },
  GraphiQL: function GraphiQL() {},
};

function snapshot() {
  return {
    noticeHidden: elements['playground-notice'].hidden,
    noticeText: elements['playground-notice-text'].textContent,
    storedToken: localStorage.getItem('gql-users.playground.token'),
    tokenField: elements['playground-token'].value,
    mounts: mounts.length,
    key: mounts.length ? mounts[mounts.length - 1].key : null,
  };
}

async function main() {
  vm.runInNewContext(fs.readFileSync(scriptPath, 'utf8'), context, { filename: scriptPath });
  const steps = { loaded: snapshot() };
  const fetcher = () => mounts[mounts.length - 1].fetcher;
  const query = { query: '{ __typename }' };

  steps.staleResult = await fetcher()(query, {});
  steps.afterStale = snapshot();

  elements['playground-token-clear'].dispatch('click');
  steps.afterClear = snapshot();
  steps.clearedResult = await fetcher()(query, {});
  steps.afterCleared = snapshot();

  steps.editorResult = await fetcher()(query, { headers: { Authorization: 'Token ' + staleToken } });
  steps.afterEditor = snapshot();

  elements['playground-token'].value = goodToken;
  steps.goodResult = await fetcher()({ query: '{ me { username } }' }, {});
  steps.afterGood = snapshot();
  process.stdout.write(JSON.stringify(steps));
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error));
  process.exit(1);
});
