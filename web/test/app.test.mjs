// Tests of the demo page (web/app.js) without a browser: the page runs
// against a small fake DOM, with fetch, WebSocket and EventSource replaced
// by recorders, so that a test sees every connection the page opens.
//
//   node --test web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';

/** An element that takes whatever the page does to it. */
class FakeElement {
  value = '';
  hidden = false;
  disabled = false;
  textContent = '';
  title = '';
  dataset = {};
  style = { setProperty() {} };
  listeners = {};
  addEventListener(type, fn) { this.listeners[type] = fn; }
  focus() {}
  append() {}
  setAttribute() {}
  replaceChildren() {}
  replaceWith() {}
  querySelector() { return (this.inner ??= new FakeElement()); }
}

/**
 * Loads a fresh copy of app.js as the page at `page`. Returns the module,
 * $ (the page's elements by selector), every connection it opened
 * ({url, body}) and the warnings it logged.
 */
async function loadPage(page) {
  const elements = new Map();
  const $ = (sel) => {
    if (!elements.has(sel)) elements.set(sel, new FakeElement());
    return elements.get(sel);
  };
  const connections = [];
  const warnings = [];
  globalThis.location = new URL(page);
  globalThis.window = { addEventListener() {} };
  globalThis.document = {
    title: '',
    hidden: false,
    addEventListener() {},
    createElement: () => new FakeElement(),
    querySelector: $,
  };
  // Nothing answers: every transport fails, after showing where it went.
  globalThis.fetch = async (url, init) => {
    connections.push({ url: String(url), body: init?.body });
    throw new TypeError('fetch failed');
  };
  globalThis.WebSocket = class {
    constructor(url) {
      connections.push({ url: String(url) });
      setTimeout(() => this.onclose?.({ code: 1006 }), 1);
    }
    close() {}
  };
  globalThis.EventSource = class {
    constructor(url) {
      connections.push({ url: String(url) });
      setTimeout(() => this.onerror?.({}), 1);
    }
    close() {}
  };
  const warn = console.warn;
  console.warn = (...args) => warnings.push(args.join(' '));
  try {
    const app = await import(`../app.js?page=${encodeURIComponent(page)}`);
    return { app, $, connections, warnings };
  } finally {
    console.warn = warn;
  }
}

/** Fills in the login form and submits it; resolves when the login has failed. */
async function signIn({ $ }, jid, password) {
  $('#jid').value = jid;
  $('#password').value = password;
  await $('#login-form').listeners.submit({ preventDefault() {} });
}

test('apiURL takes ?url= only on the page\'s own origin', async () => {
  const { app } = await loadPage('https://chat.example/app/');
  const page = 'https://chat.example/app/';
  const own = 'https://chat.example/app/json';
  const cases = [
    [null, own],
    ['json', own],
    ['/json', 'https://chat.example/json'],
    ['../api/json/', 'https://chat.example/api/json/'],
    ['https://chat.example/other/json', 'https://chat.example/other/json'],
    ['HTTPS://CHAT.EXAMPLE:443/x', 'https://chat.example/x'],
    // Elsewhere: the default instead.
    ['https://evil.example/json', own],
    ['//evil.example/json', own],
    ['https://chat.example.evil.example/json', own],
    ['https://chat.example@evil.example/json', own],
    ['https://user:pass@chat.example/json', own],
    ['http://chat.example/json', own], // another scheme is another origin
    ['https://chat.example:8443/json', own],
    ['wss://chat.example/json', own],
    ['javascript:alert(1)', own],
    ['data:text/plain,x', own],
    ['http://[', own], // not a URL
  ];
  const warn = console.warn;
  console.warn = () => {};
  try {
    for (const [param, want] of cases) assert.equal(app.apiURL(param, page), want, String(param));
  } finally {
    console.warn = warn;
  }
});

test('a ?url= on another origin gets no password: the page signs in to its own origin', async () => {
  const p = await loadPage('https://chat.example/?url=https://evil.example/json&transport=poll');
  assert.equal(p.warnings.length, 1, 'the ignored parameter is logged');
  assert.match(p.warnings[0], /evil\.example/);
  await signIn(p, 'alice@example.com', 'secret');
  assert.ok(p.connections.length > 0, 'the page tried to sign in');
  for (const c of p.connections) {
    assert.equal(new URL(c.url).origin, 'https://chat.example', `connection to ${c.url}`);
  }
  assert.ok(p.connections.some((c) => c.url === 'https://chat.example/json/poll' && c.body.includes('secret')));
  assert.ok(!p.$('#login-error').hidden, 'the failed login is shown');
});

test('a ?url= on the page\'s origin is used, with every transport', async () => {
  const p = await loadPage('https://chat.example/chat/?url=/bridge/json');
  assert.deepEqual(p.warnings, []);
  await signIn(p, 'alice@example.com', 'secret');
  const urls = p.connections.map((c) => c.url);
  assert.deepEqual(urls, [
    'wss://chat.example/bridge/json/ws',
    'https://chat.example/bridge/json/send',
    'https://chat.example/bridge/json/poll',
  ]);
});
