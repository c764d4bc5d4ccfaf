// Tests of SharedClient in web/xmppbridge.js: tabs of one browser sharing
// one session, each tab a SharedClient with its own storage, over an
// in-memory BroadcastChannel and Web Locks, and the fake WebSocket bridge.
//
//   node --test web/test/

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SharedClient } from '../xmppbridge.js';

const BASE = 'http://bridge.test/json';
const FAST = { min: 1, max: 4 };

async function until(cond, what, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), map: m };
}

/** A browser: BroadcastChannels that reach every other one of the same name, in order, and a LockManager. */
function fakeBrowser() {
  const channels = new Set();
  class Channel {
    onmessage = null;
    constructor(name) {
      this.name = name;
      channels.add(this);
    }
    postMessage(m) {
      const copy = JSON.stringify(m);
      for (const c of channels) {
        if (c !== this && c.name === this.name) setTimeout(() => c.onmessage?.({ data: JSON.parse(copy) }), 0);
      }
    }
    close() { channels.delete(this); }
  }
  const held = new Map(); // name -> true
  const queues = new Map(); // name -> [{cb, signal, resolve}]
  function grant(name) {
    if (held.get(name)) return;
    const q = queues.get(name) ?? [];
    const next = q.shift();
    if (!next) return;
    held.set(name, true);
    Promise.resolve(next.cb({ name })).finally(() => {
      held.set(name, false);
      next.resolve();
      grant(name);
    });
  }
  const locks = {
    async query() {
      return { held: [...held].filter(([, h]) => h).map(([name]) => ({ name })) };
    },
    request(name, opts, cb) {
      return new Promise((resolve, reject) => {
        if (opts.ifAvailable && held.get(name)) {
          Promise.resolve(cb(null)).then(resolve);
          return;
        }
        const entry = { cb, resolve };
        if (!queues.has(name)) queues.set(name, []);
        queues.get(name).push(entry);
        opts.signal?.addEventListener('abort', () => {
          const q = queues.get(name);
          const i = q.indexOf(entry);
          if (i >= 0) {
            q.splice(i, 1);
            reject(new DOMException('aborted', 'AbortError'));
          }
        });
        grant(name);
      });
    },
  };
  return { Channel, locks };
}

function fakeWebSocket() {
  const sockets = [];
  class FakeWebSocket {
    readyState = 0;
    sent = [];
    constructor(url, protocol) {
      this.url = url;
      sockets.push(this);
      setTimeout(() => {
        this.readyState = 1;
        this.onopen?.({});
      }, 1);
    }
    send(s) { this.sent.push(JSON.parse(s)); }
    close() { this.readyState = 3; }
    down(f) { this.onmessage?.({ data: JSON.stringify(f) }); }
    drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
  }
  return { FakeWebSocket, sockets };
}

function tab(browser, FakeWebSocket) {
  const storage = memoryStorage();
  const c = new SharedClient({
    url: BASE, transports: ['websocket'], WebSocket: FakeWebSocket, storage, backoff: FAST,
    BroadcastChannel: browser.Channel, locks: browser.locks,
  });
  const rec = { status: [], messages: [], sent: [] };
  c.addEventListener('status', (e) => rec.status.push(e.detail));
  c.addEventListener('message', (e) => rec.messages.push(e.detail.body));
  c.addEventListener('sent', (e) => rec.sent.push([e.detail.frame.body, e.detail.own]));
  return { c, rec, storage };
}

const msg = (body) => ({ kind: 'message', from: 'bob@example.com/x', body });

test('tabs share one connection: frames in and out reach every tab, sends go through the leader', async () => {
  const browser = fakeBrowser();
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const a = tab(browser, FakeWebSocket);
  const b = tab(browser, FakeWebSocket);
  assert.equal(await a.c.start(), null, 'no session yet');
  const connecting = a.c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => sockets[0]?.sent.length === 1, 'the login');
  sockets[0].down({ kind: 'session', jid: 'alice@example.com/web', token: 'tok-1' });
  assert.equal(await connecting, 'alice@example.com/web');
  assert.ok(a.c.leader);

  assert.equal(await b.c.start(), 'alice@example.com/web', 'the second tab joins');
  assert.equal(b.c.leader, false);
  assert.equal(sockets.length, 1, 'one connection');

  sockets[0].down(msg('hi'));
  await until(() => b.rec.messages.length === 1, 'the message in tab b');
  assert.deepEqual(a.rec.messages, ['hi']);

  b.c.send({ kind: 'message', to: 'bob@example.com', body: 'from b' });
  a.c.send({ kind: 'message', to: 'bob@example.com', body: 'from a' });
  await until(() => sockets[0].sent.filter((f) => f.kind === 'message').length === 2, 'both on the one socket');
  await until(() => a.rec.sent.length === 2 && b.rec.sent.length === 2, 'sent events');
  assert.deepEqual(a.rec.sent.sort(), [['from a', true], ['from b', false]]);
  assert.deepEqual(b.rec.sent.sort(), [['from a', false], ['from b', true]]);

  // An iq from the follower gets its answer.
  const answer = b.c.iq({ type: 'get', id: 'r1', roster: { items: [] } });
  await until(() => sockets[0].sent.some((f) => f.id === 'r1'), 'the iq upstream');
  sockets[0].down({ kind: 'iq', type: 'result', id: 'r1', roster: { items: [] } });
  assert.equal((await answer).id, 'r1');
  assert.ok(!JSON.stringify([...b.storage.map.values()]).includes('secret'), 'no password in any tab');
  a.c.detach();
  b.c.detach();
});

test('closing the leader tab hands the session over: the next tab resumes it, nothing lost or twice', async () => {
  const browser = fakeBrowser();
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const a = tab(browser, FakeWebSocket);
  const b = tab(browser, FakeWebSocket);
  await a.c.start();
  const connecting = a.c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => sockets[0]?.sent.length === 1, 'the login');
  sockets[0].down({ kind: 'session', jid: 'alice@example.com/web', token: 'tok-1' });
  await connecting;
  await b.c.start();
  sockets[0].down(msg('one')); // 2
  sockets[0].down(msg('two')); // 3
  await until(() => b.rec.messages.length === 2, 'both in b');

  a.c.detach(); // the leader tab closes
  sockets[0].drop();
  await until(() => sockets[1]?.sent.length === 1, 'the resume by tab b');
  assert.deepEqual(sockets[1].sent[0], { kind: 'resume', token: 'tok-1', last: 3, h: 2, acked: { n: 0, h: 0 } });
  sockets[1].down({ kind: 'resumed', jid: 'alice@example.com/web', first: 4, received: 0, acked: { n: 0, h: 0 }, token: 'tok-2' });
  sockets[1].down(msg('three'));
  await until(() => b.c.status === 'online' && b.rec.messages.length === 3, 'b online');
  assert.ok(b.c.leader);
  assert.deepEqual(b.rec.messages, ['one', 'two', 'three']);
  assert.ok(b.rec.status.some((s) => s.status === 'reconnecting' && s.reason === 'handover'));
  assert.equal(b.rec.status.at(-1).resumed, true);
  b.c.send({ kind: 'message', to: 'bob@example.com', body: 'still here' });
  assert.equal(sockets[1].sent.at(-1).body, 'still here');
  b.c.detach();
});

test('signing out in any tab ends the session in every tab', async () => {
  const browser = fakeBrowser();
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const a = tab(browser, FakeWebSocket);
  const b = tab(browser, FakeWebSocket);
  await a.c.start();
  const connecting = a.c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => sockets[0]?.sent.length === 1, 'the login');
  sockets[0].down({ kind: 'session', jid: 'alice@example.com/web', token: 'tok-1' });
  await connecting;
  await b.c.start();
  b.c.close();
  await until(() => sockets[0].sent.some((f) => f.kind === 'close'), 'the close upstream');
  sockets[0].down({ kind: 'close', code: 'normal' });
  await until(() => a.c.status === "offline", "a offline " + JSON.stringify(a.rec.status));
  await until(() => b.c.status === "offline", "b offline " + JSON.stringify(b.rec.status));
  assert.equal(a.c.leader, false);
  assert.equal(b.storage.map.get(`xmppbridge.session ${BASE}`), undefined, 'no token left in any tab');
  a.c.detach();
  b.c.detach();
});

test('what a follower sends while the leader hands over goes once, through the new leader', async () => {
  const browser = fakeBrowser();
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const a = tab(browser, FakeWebSocket);
  const b = tab(browser, FakeWebSocket);
  await a.c.start();
  const connecting = a.c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => sockets[0]?.sent.length === 1, 'the login');
  sockets[0].down({ kind: 'session', jid: 'alice@example.com/web', token: 'tok-1' });
  await connecting;
  await b.c.start();
  a.c.detach();
  sockets[0].drop();
  b.c.send({ kind: 'message', to: 'bob@example.com', body: 'during the handover' });
  await until(() => sockets[1]?.sent.length === 1, 'the resume by tab b');
  sockets[1].down({ kind: 'resumed', jid: 'alice@example.com/web', first: 2, received: 0, acked: { n: 0, h: 0 }, token: 'tok-2' });
  await until(() => sockets[1].sent.some((f) => f.body === 'during the handover'), 'the frame sent');
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(sockets[1].sent.filter((f) => f.body === 'during the handover').length, 1);
  assert.equal(sockets[0].sent.filter((f) => f.body === 'during the handover').length, 0);
  b.c.detach();
});
