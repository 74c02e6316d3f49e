// The gql-users playground: GraphiQL on /graphql, an API token field, and saved examples.
//
// Plain ES2017 in a file of its own (no inline script), so the page runs under
// Content-Security-Policy default-src 'self'. React, ReactDOM and GraphiQL are the UMD globals
// loaded before this file, served by gql-users itself.
'use strict';

(function () {
  const TOKEN_KEY = 'gql-users.playground.token';

  const container = document.getElementById('graphiql');
  const endpoint = new URL(container.dataset.endpoint, document.baseURI).toString();
  const operationsUrl = new URL(container.dataset.operations, document.baseURI).toString();
  const tokenInput = document.getElementById('playground-token');
  const tokenToggle = document.getElementById('playground-token-toggle');
  const examples = document.getElementById('playground-examples');
  const notice = document.getElementById('playground-notice');
  const noticeText = document.getElementById('playground-notice-text');
  const clearToken = document.getElementById('playground-token-clear');

  // The bar is a form only so that the password field sits in one; Enter must not submit it.
  document.getElementById('playground-settings').addEventListener('submit', function (event) {
    event.preventDefault();
  });

  // localStorage may be unavailable (private mode, disabled storage): the field still works
  // for the page's lifetime.
  function readStoredToken() {
    try {
      return window.localStorage.getItem(TOKEN_KEY) || '';
    } catch (error) {
      return '';
    }
  }

  function storeToken(token) {
    try {
      if (token) {
        window.localStorage.setItem(TOKEN_KEY, token);
      } else {
        window.localStorage.removeItem(TOKEN_KEY);
      }
    } catch (error) {
      // Not persisted; nothing else to do.
    }
  }

  function setToken(token) {
    tokenInput.value = token;
    storeToken(token);
  }

  tokenInput.value = readStoredToken();
  tokenInput.addEventListener('input', function () {
    storeToken(tokenInput.value.trim());
  });
  tokenToggle.addEventListener('click', function () {
    const hidden = tokenInput.type === 'password';
    tokenInput.type = hidden ? 'text' : 'password';
    tokenToggle.textContent = hidden ? 'Hide' : 'Show';
  });

  // A successful login mutation hands back a token: use it for the next requests.
  function adoptLoginToken(result) {
    const login = result && result.data && result.data.login;
    if (login && typeof login.token === 'string' && login.token) {
      setToken(login.token);
    }
  }

  // A 401 means the token sent was refused (expired, revoked, mistyped). Its body is either
  // GraphQL-shaped ({"errors": [...]}, extensions.code UNAUTHENTICATED) or REST's
  // {"detail": ...}; both become a GraphQL result for GraphiQL, and the notice offers to drop
  // the token. While the token is bad even the schema cannot load, hence the reload.
  function unauthenticated(result, status, fromEditor) {
    const detail = result && typeof result.detail === 'string' ? result.detail : null;
    const fallback = {
      message: detail || 'HTTP ' + status,
      extensions: { code: 'UNAUTHENTICATED' },
    };
    const shaped = result && Array.isArray(result.errors) && result.errors.length > 0;
    const graphqlResult = shaped ? result : { errors: [fallback] };
    const reason = String(graphqlResult.errors[0].message);
    let text = 'The server refused the API token (' + reason + ');';
    text += ' it may have expired or been revoked.';
    if (fromEditor) {
      text += " The Authorization header typed in GraphiQL's Headers editor wins: remove it there.";
    }
    noticeText.textContent = text;
    notice.hidden = false;
    return graphqlResult;
  }

  function reloadSchema() {
    mounts += 1;
    renderActiveTab();
  }

  clearToken.addEventListener('click', function () {
    setToken('');
    notice.hidden = true;
    noticeText.textContent = '';
    reloadSchema();
  });

  // GraphiQL hands the fetcher the parsed document: the operation it runs is the one named,
  // or the only one.
  function isSubscription(params, options) {
    const document = options && options.documentAST;
    if (!document || !Array.isArray(document.definitions)) {
      return false;
    }
    const operations = document.definitions.filter(function (definition) {
      return definition.kind === 'OperationDefinition';
    });
    const chosen = params.operationName
      ? operations.find(function (definition) {
          return definition.name && definition.name.value === params.operationName;
        })
      : operations[0];
    return Boolean(chosen) && chosen.operation === 'subscription';
  }

  // A subscription runs over a WebSocket to the same path, speaking graphql-transport-ws
  // (docs/graphql.md#subscriptions). A browser cannot set headers on a WebSocket, so the token
  // travels in connection_init. GraphiQL reads the results as an async iterator, and stops it
  // (return) when the user runs another operation or stops this one.
  function subscribe(params, authorization) {
    const queue = [];
    let wake = null;
    let finished = false;
    function push(item) {
      queue.push(item);
      if (wake) {
        wake();
        wake = null;
      }
    }
    function send(message) {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(message));
      }
    }
    const socket = new WebSocket(endpoint.replace(/^http/, 'ws'), 'graphql-transport-ws');
    socket.onopen = function () {
      send({ type: 'connection_init', payload: authorization ? { authorization: authorization } : {} });
    };
    socket.onmessage = function (event) {
      const message = JSON.parse(event.data);
      if (message.type === 'connection_ack') {
        const payload = { query: params.query, variables: params.variables || null };
        if (params.operationName) {
          payload.operationName = params.operationName;
        }
        send({ id: '1', type: 'subscribe', payload: payload });
      } else if (message.type === 'ping') {
        send({ type: 'pong' });
      } else if (message.type === 'next') {
        push({ value: message.payload });
      } else if (message.type === 'error') {
        push({ value: { errors: message.payload } });
        push({ done: true });
      } else if (message.type === 'complete') {
        push({ done: true });
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4403) {
        push({ value: unauthenticated({ detail: 'connection refused (4403 Forbidden)' }, 4403, false) });
      } else if (event.code !== 1000 && event.code !== 1005) {
        push({ value: { errors: [{ message: 'Connection closed: ' + event.code + ' ' + event.reason }] } });
      }
      push({ done: true });
    };
    function stop() {
      finished = true;
      send({ id: '1', type: 'complete' });
      socket.close(1000);
      return Promise.resolve({ done: true, value: undefined });
    }
    const results = {
      next: async function () {
        while (!finished && queue.length === 0) {
          await new Promise(function (resolve) {
            wake = resolve;
          });
        }
        const item = queue.shift();
        if (finished || item.done) {
          return stop();
        }
        return { done: false, value: item.value };
      },
      return: stop,
    };
    results[Symbol.asyncIterator] = function () {
      return results;
    };
    return results;
  }

  // The token is read at each request, so changing it needs no reload. Headers typed into
  // GraphiQL's own headers editor come in options.headers and win over ours.
  async function fetcher(params, options) {
    const headers = {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json;q=0.9',
    };
    const token = tokenInput.value.trim();
    if (token) {
      headers.Authorization = 'Token ' + token;
    }
    const editorHeaders = (options && options.headers) || {};
    const fromEditor = Object.keys(editorHeaders).some(function (name) {
      return name.toLowerCase() === 'authorization';
    });
    Object.assign(headers, editorHeaders);
    if (isSubscription(params, options)) {
      const name = Object.keys(headers).find(function (key) {
        return key.toLowerCase() === 'authorization';
      });
      return subscribe(params, name ? headers[name] : null);
    }
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(params),
      credentials: 'omit',
    });
    const text = await response.text();
    let result;
    try {
      result = JSON.parse(text);
    } catch (error) {
      result = null;
    }
    if (response.status === 401) {
      return unauthenticated(result, response.status, fromEditor);
    }
    if (result === null) {
      return { errors: [{ message: 'HTTP ' + response.status + ': ' + text.slice(0, 500) }] };
    }
    notice.hidden = true;
    adoptLoginToken(result);
    return result;
  }

  const root = ReactDOM.createRoot(container);
  let mounts = 0;

  // GraphiQL keeps its tabs in localStorage under this key (query, variables and headers each).
  const TABS_KEY = 'graphiql:tabState';

  function savedTabs() {
    try {
      const state = JSON.parse(window.localStorage.getItem(TABS_KEY) || 'null');
      if (state && Array.isArray(state.tabs) && typeof state.activeTabIndex === 'number') {
        return state;
      }
    } catch (error) {
      // Unreadable or unavailable storage: GraphiQL starts with one fresh tab.
    }
    return null;
  }

  function tabContents(tab) {
    return { query: tab.query || '', variables: tab.variables || '', headers: tab.headers || '' };
  }

  function exampleContents(example) {
    const variables = example.variables ? JSON.stringify(example.variables, null, 2) : '';
    return { query: example.document, variables: variables };
  }

  // GraphiQL mounts on the tab whose query, variables and headers equal the ones it is given,
  // or opens a new tab with them. Left to itself it rebuilds them from separate storage keys
  // that miss the variables an example put in place, so each reload opened a copy of the tab
  // without them. Every mount therefore names a saved tab's own contents: the active tab on
  // page load, the example's tab when that example is already open.
  function render(contents) {
    const props = { fetcher: fetcher, defaultEditorToolsVisibility: true, key: 'mount-' + mounts };
    if (contents) {
      Object.assign(props, contents);
    }
    root.render(React.createElement(GraphiQL, props));
  }

  function renderActiveTab() {
    const saved = savedTabs();
    const active = saved && saved.tabs[saved.activeTabIndex];
    render(active ? tabContents(active) : null);
  }

  // An example opens in a tab of its own; choosing it again goes back to that tab (with any
  // variables edited there) instead of opening a second one.
  function openExample(example) {
    const saved = savedTabs();
    const open = saved && saved.tabs.find(function (tab) {
      return tab.query === example.document;
    });
    mounts += 1;
    render(open ? tabContents(open) : exampleContents(example));
  }

  function option(label, value, title) {
    const element = document.createElement('option');
    element.textContent = label;
    element.value = value;
    if (title) {
      element.title = title;
    }
    return element;
  }

  function fillExamples(operations) {
    const byName = new Map();
    const groups = new Map();
    examples.replaceChildren(option('Load an example…', ''));
    operations.forEach(function (operation) {
      byName.set(operation.name, operation);
      const labels = { query: 'Queries', mutation: 'Mutations', subscription: 'Subscriptions' };
      const label = labels[operation.kind] || 'Other';
      if (!groups.has(label)) {
        const group = document.createElement('optgroup');
        group.label = label;
        groups.set(label, group);
        examples.appendChild(group);
      }
      groups.get(label).appendChild(option(operation.name, operation.name, operation.description));
    });
    examples.disabled = operations.length === 0;
    examples.addEventListener('change', function () {
      const chosen = byName.get(examples.value);
      examples.value = '';
      if (chosen) {
        openExample(chosen);
      }
    });
  }

  async function loadExamples() {
    try {
      const response = await fetch(operationsUrl, { credentials: 'omit' });
      if (!response.ok) {
        throw new Error('HTTP ' + response.status);
      }
      fillExamples((await response.json()).operations);
    } catch (error) {
      examples.replaceChildren(option('Examples unavailable (' + error.message + ')', ''));
    }
  }

  renderActiveTab();
  loadExamples();
})();
