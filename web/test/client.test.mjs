// Tests of web/xmppbridge.js without a bridge: its pure parts, and the
// client driven through fake transports, a fake long-poll and SSE bridge
// (in place of fetch and EventSource) and a fake WebSocket.
//
//   node --test web/test/

import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';

import { Client, Inbox, BridgeError, backoff, transportOrder, TRANSPORTS, PROTOCOL } from '../xmppbridge.js';

const BASE = 'http://bridge.test/json';
const FAST = { min: 1, max: 4 }; // backoff in tests: milliseconds, not seconds

/** Every client a test makes: closed after it, passed or failed, so that none keeps polling. */
const clients = [];
function newClient(options) {
  const c = new Client(options);
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** Waits until cond() holds, or fails after ms. */
async function until(cond, what, ms = 3000) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Records a client's events. */
function record(client) {
  const rec = { status: [], stanzas: [], errors: [], messages: [] };
  client.addEventListener('status', (e) => rec.status.push(e.detail));
  client.addEventListener('stanza', (e) => rec.stanzas.push(e.detail));
  client.addEventListener('message', (e) => rec.messages.push(e.detail));
  client.addEventListener('error', (e) => rec.errors.push(e.detail));
  return rec;
}

/** A Storage in memory. */
function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), map: m };
}

// ------------------------------------------------------------ pure parts

test('Inbox takes each number once and in order', () => {
  const cases = [
    { name: 'in order', steps: [[1, ['a']], [2, ['b', 'c']]], want: ['a', 'b', 'c'], last: 3 },
    { name: 'resent after a lost answer', steps: [[1, ['a', 'b']], [1, ['a', 'b', 'c']]], want: ['a', 'b', 'c'], last: 3 },
    { name: 'duplicates dropped', steps: [[1, ['a']], [1, ['a']], [2, ['b']], [2, ['b']]], want: ['a', 'b'], last: 2 },
    { name: 'past a gap kept, released when it fills', steps: [[1, ['a']], [3, ['c']], [2, ['b']]], want: ['a', 'b', 'c'], last: 3 },
    { name: 'kept and sent again', steps: [[1, ['a']], [3, ['c']], [2, ['b', 'c']]], want: ['a', 'b', 'c'], last: 3 },
    { name: 'answers the other way round', steps: [[1, ['a']], [5, ['e', 'f']], [2, ['b', 'c', 'd']], [7, ['g']]], want: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], last: 7 },
    { name: 'several gaps', steps: [[6, ['f']], [4, ['d']], [2, ['b']], [1, ['a']], [3, ['c']], [5, ['e']]], want: ['a', 'b', 'c', 'd', 'e', 'f'], last: 6 },
    { name: 'still missing', steps: [[1, ['a']], [3, ['c', 'd']]], want: ['a'], last: 1 },
    { name: 'empty answers', steps: [[undefined, []], [undefined, undefined], [1, ['a']]], want: ['a'], last: 1 },
    { name: 'first missing means next', steps: [[1, ['a']], [undefined, ['b']]], want: ['a', 'b'], last: 2 },
  ];
  for (const c of cases) {
    const inbox = new Inbox();
    const got = c.steps.flatMap(([first, frames]) => inbox.accept(first, frames));
    assert.deepEqual(got, c.want, c.name);
    assert.equal(inbox.last, c.last, c.name);
  }
  const inbox = new Inbox();
  inbox.accept(1, ['a']);
  assert.equal(inbox.gap, false);
  inbox.accept(5, ['e']);
  assert.equal(inbox.gap, true, 'gap reported');
  assert.equal(inbox.held, 1);
  assert.deepEqual(inbox.accept(2, ['b']), ['b']);
  assert.equal(inbox.gap, false, 'nothing past a gap in that one');
  assert.equal(inbox.held, 1, '3 and 4 still missing');
  assert.deepEqual(inbox.accept(4, ['d']), []);
  assert.equal(inbox.gap, true);
  assert.deepEqual(inbox.accept(3, ['c']), ['c', 'd', 'e']);
  assert.equal(inbox.gap, false);
  assert.equal(inbox.held, 0);
});

test('Inbox keeps a bounded number of frames past a gap', () => {
  const inbox = new Inbox(4);
  assert.deepEqual(inbox.accept(1, ['a']), ['a']);
  // 2 is missing; 3 to 5 are kept (at most 4 numbers past last), 6 to 9 dropped.
  assert.deepEqual(inbox.accept(3, ['c', 'd', 'e', 'f', 'g', 'h', 'i']), []);
  assert.equal(inbox.held, 3);
  assert.equal(inbox.last, 1, 'the ack stays below the gap');
  assert.deepEqual(inbox.accept(2, ['b']), ['b', 'c', 'd', 'e']);
  assert.equal(inbox.held, 0, 'the dropped ones are still missing');
  assert.deepEqual(inbox.accept(3, ['c', 'd', 'e', 'f', 'g', 'h', 'i']), ['f', 'g', 'h', 'i'], 'sent again from the ack');
  assert.equal(inbox.last, 9);
  // Never more than the bound, however far the frames go.
  const big = new Inbox(4);
  for (let n = 2; n < 100; n++) big.accept(n, [n]);
  assert.equal(big.held, 3);
  assert.deepEqual(big.accept(1, [1]), [1, 2, 3, 4]);
});

test('backoff grows, is capped and jittered in its upper half', () => {
  const limits = { min: 1000, max: 30000 };
  assert.equal(backoff(0, limits, () => 0), 500);
  assert.equal(backoff(0, limits, () => 1), 1000);
  assert.equal(backoff(3, limits, () => 1), 8000);
  assert.equal(backoff(10, limits, () => 1), 30000);
  assert.equal(backoff(10, limits, () => 0), 15000);
  assert.equal(backoff(1e6, limits, () => 1), 30000, 'huge attempt counts do not overflow');
  for (let a = 0; a < 12; a++) {
    const d = backoff(a, limits);
    assert.ok(d >= 500 && d <= 30000, `attempt ${a}: ${d}`);
  }
  assert.equal(backoff(2, undefined, () => 0), 2000, 'defaults are 1 s to 30 s');
  assert.equal(backoff(9, undefined, () => 1), 30000, 'defaults are 1 s to 30 s');
});

test('transportOrder puts the one that worked first', () => {
  const cases = [
    { allowed: TRANSPORTS, preferred: null, want: ['websocket', 'sse', 'poll'] },
    { allowed: TRANSPORTS, preferred: 'poll', want: ['poll', 'websocket', 'sse'] },
    { allowed: TRANSPORTS, preferred: 'sse', want: ['sse', 'websocket', 'poll'] },
    { allowed: ['sse'], preferred: 'websocket', want: ['sse'] },
    { allowed: ['poll', 'sse'], preferred: 'nonsense', want: ['poll', 'sse'] },
  ];
  for (const c of cases) assert.deepEqual(transportOrder(c.allowed, c.preferred), c.want, JSON.stringify(c));
});

test('Client refuses unknown transports', () => {
  assert.throws(() => newClient({ url: BASE, transports: ['carrier-pigeon'] }), /unknown transport/);
  assert.throws(() => newClient({ url: BASE, transports: [] }), /no transports/);
});

// ------------------------------------------------------------ fake transports

/**
 * Transport classes whose behaviour a test scripts: behave(name, login, t)
 * returns 'ok', 'unreachable' or a refusal code for each login attempt.
 */
function fakeTransports(behave) {
  const made = [];
  const classes = {};
  for (const name of TRANSPORTS) {
    classes[name] = class {
      handlers = null;
      sent = [];
      closed = false;
      aborted = false;
      constructor(base, env) {
        this.name = name;
        this.base = base;
        this.env = env;
        made.push(this);
      }
      async open(login) {
        this.login = login;
        const how = behave(name, login, this);
        if (how === 'unreachable') throw new BridgeError('unreachable', `${name} blocked`);
        if (how !== 'ok') throw new BridgeError(how, 'no', { refused: true, type: 'auth' });
        return { kind: 'session', jid: `${login.jid ?? 'tok@example.com'}/web` };
      }
      start() { this.started = true; }
      send(frames) { this.sent.push(...frames); }
      async close() { this.closed = true; }
      abort() { this.aborted = true; }
      // Test side: the bridge sends a frame / ends the session.
      down(f) { this.handlers.frame(f); }
      end(code, text) { this.handlers.end(code, text); }
    };
  }
  return { classes, made };
}

test('falls back WebSocket → SSE → long-poll and remembers what worked', async () => {
  const storage = memoryStorage();
  const blocked = new Set(['websocket', 'sse']);
  const fake = fakeTransports((name) => (blocked.has(name) ? 'unreachable' : 'ok'));
  const c = newClient({ url: BASE, transportClasses: fake.classes, storage, backoff: FAST });
  const rec = record(c);
  const jid = await c.connect({ jid: 'alice@example.com', password: 'secret', resource: 'web' });
  assert.equal(jid, 'alice@example.com/web');
  assert.deepEqual(fake.made.map((t) => t.name), ['websocket', 'sse', 'poll']);
  assert.ok(fake.made[0].aborted && fake.made[1].aborted, 'failed transports are let go');
  assert.deepEqual(fake.made[2].login, { kind: 'login', jid: 'alice@example.com', password: 'secret', resource: 'web' });
  assert.equal(c.transport, 'poll');
  assert.deepEqual(rec.status.map((s) => s.status), ['connecting', 'online']);
  assert.equal(rec.status[1].transport, 'poll');
  assert.equal(rec.status[1].resumed, false);

  // The next page on the same bridge starts with long-poll…
  const fake2 = fakeTransports(() => 'ok');
  const c2 = newClient({ url: BASE, transportClasses: fake2.classes, storage });
  await c2.connect({ jid: 'alice@example.com', password: 'secret' });
  assert.deepEqual(fake2.made.map((t) => t.name), ['poll']);
  // …but only among the transports it allows.
  const fake3 = fakeTransports(() => 'ok');
  const c3 = newClient({ url: BASE, transports: ['sse', 'websocket'], transportClasses: fake3.classes, storage });
  await c3.connect({ jid: 'alice@example.com', password: 'secret' });
  assert.deepEqual(fake3.made.map((t) => t.name), ['sse']);
  await Promise.all([c.close(), c2.close(), c3.close()]);
});

test('a refused login does not try other transports', async () => {
  const fake = fakeTransports(() => 'not-authorized');
  const c = newClient({ url: BASE, transportClasses: fake.classes, storage: null });
  const rec = record(c);
  await assert.rejects(c.connect({ jid: 'alice@example.com', password: 'wrong' }), (err) => {
    assert.equal(err.code, 'not-authorized');
    assert.equal(err.refused, true);
    return true;
  });
  assert.deepEqual(fake.made.map((t) => t.name), ['websocket']);
  assert.deepEqual(rec.status.map((s) => [s.status, s.reason]), [['connecting', undefined], ['offline', 'not-authorized']]);
  assert.equal(c.status, 'offline');
});

test('no transport reaches the bridge: connect fails after trying each once', async () => {
  const fake = fakeTransports(() => 'unreachable');
  const c = newClient({ url: BASE, transportClasses: fake.classes, storage: null });
  await assert.rejects(c.connect({ jid: 'alice@example.com', password: 'secret' }), { code: 'unreachable' });
  assert.deepEqual(fake.made.map((t) => t.name), ['websocket', 'sse', 'poll']);
  assert.equal(c.status, 'offline');
});

test('a lost session logs in again with the password, with backoff and fallback', async () => {
  let wsUp = true;
  const fake = fakeTransports((name) => (name === 'websocket' && !wsUp ? 'unreachable' : 'ok'));
  const c = newClient({ url: BASE, transportClasses: fake.classes, storage: null, backoff: FAST, keepPassword: true });
  const rec = record(c);
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  const first = fake.made[0];
  c.send({ kind: 'presence' });
  assert.deepEqual(first.sent, [{ kind: 'presence' }]);

  wsUp = false; // the WebSocket is blocked from now on
  first.end('system-shutdown', 'restarting');
  assert.equal(c.status, 'reconnecting');
  c.send({ kind: 'message', to: 'bob@example.com', body: 'queued' }); // waits for the new session
  await until(() => c.status === 'online', 'the second login');
  const second = fake.made.at(-1);
  assert.equal(second.name, 'sse', 'fell back to SSE');
  assert.deepEqual(second.login, { kind: 'login', jid: 'alice@example.com', password: 'secret' });
  assert.deepEqual(second.sent, [{ kind: 'message', to: 'bob@example.com', body: 'queued' }]);
  const online = rec.status.filter((s) => s.status === 'online');
  assert.equal(online.length, 2);
  assert.equal(online[1].resumed, false, 'a new session: the page must send presence again');
  assert.equal(rec.status.find((s) => s.status === 'reconnecting').reason, 'system-shutdown');

  // Frames of the old transport are not the page's business any more.
  first.down({ kind: 'message', body: 'stale' });
  assert.equal(rec.messages.length, 0);
  await c.close();
  assert.ok(second.closed);
});

test('a lost session with a single-use token goes offline', async () => {
  const fake = fakeTransports(() => 'ok');
  const c = newClient({ url: BASE, transportClasses: fake.classes, storage: null, backoff: FAST });
  const rec = record(c);
  await c.connect({ token: 'abc' });
  assert.deepEqual(fake.made[0].login, { kind: 'login', token: 'abc' });
  fake.made[0].end('item-not-found');
  assert.equal(c.status, 'offline');
  assert.equal(rec.status.at(-1).reason, 'item-not-found');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fake.made.length, 1, 'no second login');
});

test('final close codes do not log in again', async () => {
  for (const code of ['conflict', 'not-authorized', 'normal']) {
    const fake = fakeTransports(() => 'ok');
    const c = newClient({ url: BASE, transportClasses: fake.classes, storage: null, backoff: FAST });
    await c.connect({ jid: 'alice@example.com', password: 'secret' });
    fake.made[0].end(code);
    assert.equal(c.status, 'offline', code);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.made.length, 1, code);
  }
});

test('events: stanzas by kind, error frames', async () => {
  const fake = fakeTransports(() => 'ok');
  const c = newClient({ url: BASE, transportClasses: fake.classes, storage: null });
  const rec = record(c);
  const kinds = [];
  for (const k of ['message', 'presence', 'iq']) c.addEventListener(k, (e) => kinds.push([k, e.detail.id]));
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  const t = fake.made[0];
  t.down({ kind: 'message', id: 'm1', body: 'hi' });
  t.down({ kind: 'presence', id: 'p1' });
  t.down({ kind: 'iq', id: 'i1', type: 'get' });
  t.down({ kind: 'element', element: { name: 'r', xmlns: 'urn:xmpp:sm:3' } });
  t.down({ kind: 'error', type: 'modify', code: 'bad-value', text: 'nope', id: 'x' });
  assert.deepEqual(kinds, [['message', 'm1'], ['presence', 'p1'], ['iq', 'i1']]);
  assert.equal(rec.stanzas.length, 4);
  assert.deepEqual(rec.errors, [{ kind: 'error', type: 'modify', code: 'bad-value', text: 'nope', id: 'x' }]);
  assert.equal(c.status, 'online', 'an error frame does not end the session');
  await c.close();
});

test('iq resolves with the answer from the addressee only', async () => {
  const fake = fakeTransports(() => 'ok');
  const c = newClient({ url: BASE, transportClasses: fake.classes, storage: null });
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  const t = fake.made[0];

  const roster = c.iq({ kind: 'iq', type: 'get', roster: { items: [] } });
  const req = t.sent.at(-1);
  assert.equal(req.kind, 'iq');
  assert.ok(req.id, 'an id was added');
  t.down({ kind: 'iq', type: 'result', id: req.id, from: 'mallory@example.com' }); // not the addressee
  t.down({ kind: 'iq', type: 'result', id: req.id, roster: { items: [] } }); // from the account: no from
  assert.deepEqual((await roster).roster, { items: [] });

  const vcard = c.iq({ kind: 'iq', type: 'get', to: 'Bob@Example.com', id: 'v1' });
  t.down({ kind: 'iq', type: 'error', id: 'v1', from: 'bob@example.com', error: { type: 'cancel', condition: 'service-unavailable' } });
  await assert.rejects(vcard, (err) => err.code === 'service-unavailable' && err.type === 'cancel' && err.frame.id === 'v1');

  await assert.rejects(c.iq({ kind: 'iq', type: 'get', id: 'slow' }, 10), { code: 'timeout' });

  const pending = c.iq({ kind: 'iq', type: 'get', id: 'never' });
  await c.close();
  await assert.rejects(pending, { code: 'closed' });
  assert.throws(() => c.send({ kind: 'presence' }), { code: 'offline' });
});

// ------------------------------------------------------------ long-poll

/**
 * A long-poll and SSE bridge in memory that behaves as package jsonapi
 * does (docs/json-api.md): frames down numbered from 1; requests taken in
 * rid order; an answer starts after what earlier answers carried, a
 * repeated rid is answered again from its ack without its frames taken
 * twice. Options: loseAnswers, rids whose first answer is lost after the
 * bridge took the request; slowAnswers, rid → ms an answer is held up on
 * the way (so that a later one overtakes it); refuse(body), an error frame
 * to refuse a request with before taking its rid (as too-large is).
 */
class FakeBridge {
  sid = 'sid-1';
  down = []; // down[i] is frame i+1
  sent = 0; // highest number put in an answer
  up = []; // frames taken, in order
  taken = []; // rids taken, in order
  acks = [];
  requests = [];
  nextRid = null;
  firstOf = new Map();
  waiters = [];
  es = null;
  esURLs = [];
  closed = false;

  constructor({ loseAnswers = [], slowAnswers = {}, hold = 30, echo = false, refuse = () => null } = {}) {
    this.lose = new Set(loseAnswers);
    this.slow = new Map(Object.entries(slowAnswers).map(([k, v]) => [Number(k), v]));
    this.hold = hold;
    this.echo = echo;
    this.refuse = refuse;
  }

  push(frame) {
    this.down.push(frame);
    this.es?.emit(this.down.length, frame);
    for (const w of this.waiters.splice(0)) w();
  }

  /** The fetch the client gets. */
  fetch = async (url, init) => {
    assert.equal(init.method, 'POST');
    assert.equal(init.headers['Content-Type'], 'application/json');
    const path = new URL(url).pathname;
    const body = JSON.parse(init.body);
    this.requests.push(body);
    const refusal = this.refuse(body);
    if (refusal) return response(refusal.status, refusal.frame);
    let answer;
    if (path === '/json/poll') answer = await this.poll(body);
    else if (path === '/json/send') answer = await this.send(body);
    else return response(404, null);
    if (this.lose.delete(body.rid)) throw new TypeError('fetch failed (answer lost)');
    const delay = this.slow.get(body.rid);
    if (delay) {
      this.slow.delete(body.rid);
      await new Promise((r) => setTimeout(r, delay));
    }
    return answer;
  };

  login(body) {
    assert.equal(body.frames[0].kind, 'login');
    this.nextRid = body.rid + 1;
    this.taken.push(body.rid);
    this.push({ kind: 'session', jid: `${body.frames[0].jid}/web`, sid: this.sid });
    this.sent = this.down.length;
  }

  /** Takes a request in rid order; returns false when it is a repeat. */
  async take(body) {
    assert.equal(body.sid, this.sid);
    assert.ok(Number.isSafeInteger(body.rid));
    // Early: wait for the ones before, for a while (as the bridge does).
    for (let i = 0; body.rid > this.nextRid; i++) {
      if (i > 500) throw new Error(`rid ${body.rid} waited in vain for ${this.nextRid}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    if (body.rid < this.nextRid) return false;
    this.nextRid++;
    this.taken.push(body.rid);
    if (body.ack !== undefined) this.acks.push(body.ack);
    for (const f of body.frames ?? []) {
      this.up.push(f);
      if (f.kind === 'close') {
        this.closed = true;
        this.push({ kind: 'close', code: 'normal' });
      } else if (this.echo && f.kind === 'message') {
        this.push({ kind: 'message', from: 'echo@example.com', body: `echo ${f.body}` });
      }
    }
    for (const w of this.waiters.splice(0)) w(); // a newer request answers the held one
    return true;
  }

  async poll(body) {
    if (!body.sid) {
      this.login(body);
      return response(200, { sid: this.sid, wait: 1, hold: 1, requests: 2, inactivity: 60, first: 1, frames: this.down.slice(0) });
    }
    const repeat = !(await this.take(body));
    let from = this.sent;
    if (repeat) from = body.ack ?? this.firstOf.get(body.rid) - 1;
    if (this.down.length <= from && !this.closed) {
      await new Promise((r) => {
        this.waiters.push(r);
        setTimeout(r, this.hold);
      });
    }
    const frames = this.down.slice(from);
    this.sent = Math.max(this.sent, this.down.length);
    this.firstOf.set(body.rid, from + 1);
    return response(200, frames.length ? { first: from + 1, frames } : { frames: [] });
  }

  async send(body) {
    if (!body.sid) {
      this.login(body);
      return response(200, { sid: this.sid, rid: body.rid, first: 1, frames: this.down.slice(0) });
    }
    await this.take(body);
    return response(200, { rid: body.rid });
  }
}

function response(status, json) {
  return { status, json: async () => { if (json === null) throw new SyntaxError('not JSON'); return json; } };
}

/** Asserts the invariants of the rids a page sent: consecutive, each taken once. */
function checkRids(bridge) {
  const t = bridge.taken;
  for (let i = 1; i < t.length; i++) assert.equal(t[i], t[i - 1] + 1, `rids taken in order: ${t}`);
  assert.ok(t[0] >= 1 && t[0] < 2 ** 52, 'rid in range');
}

test('long-poll: nothing lost or doubled when answers are lost, rids in order, acks follow', async () => {
  // The login is rid r; lose the answers to r+2, r+3 and r+6 once each.
  const random = () => 0.5;
  const r = Math.floor(0.5 * 2 ** 40) + 1;
  const bridge = new FakeBridge({ loseAnswers: [r + 2, r + 3, r + 6], echo: true });
  const c = newClient({ url: BASE, transports: ['poll'], fetch: bridge.fetch, storage: null, backoff: FAST, random });
  const rec = record(c);
  const jid = await c.connect({ jid: 'alice@example.com', password: 'secret' });
  assert.equal(jid, 'alice@example.com/web');
  assert.equal(c.transport, 'poll');
  assert.equal(bridge.requests[0].rid, r);
  assert.equal(bridge.requests[0].wait, 30);

  const n = 20;
  for (let i = 0; i < n; i++) {
    c.send({ kind: 'message', to: 'echo@example.com', body: `m${i}` });
    if (i % 3 === 0) bridge.push({ kind: 'presence', from: `p${i}@example.com` });
    if (i % 5 === 0) await new Promise((res) => setTimeout(res, 5));
  }
  await until(() => rec.messages.length === n, `${n} echoes (got ${rec.messages.length})`);
  await new Promise((res) => setTimeout(res, 50)); // room for a late duplicate to show

  assert.deepEqual(bridge.up.map((f) => f.body), Array.from({ length: n }, (_, i) => `m${i}`), 'each frame up taken once, in order');
  const downStanzas = bridge.down.filter((f) => f.kind !== 'session');
  assert.deepEqual(rec.stanzas, downStanzas, 'each frame down delivered once, in order');
  checkRids(bridge);
  for (let i = 1; i < bridge.acks.length; i++) assert.ok(bridge.acks[i] >= bridge.acks[i - 1], 'acks never go back');
  await until(() => bridge.acks.at(-1) === bridge.down.length, 'the page to ack what it has');
  assert.ok(rec.status.some((s) => s.status === 'reconnecting' && s.reason === 'network'), 'lost answers showed as reconnecting');
  assert.equal(c.status, 'online');
  assert.equal(rec.status.at(-1).resumed, true);

  await c.close();
  assert.ok(bridge.closed, 'close reached the bridge');
  assert.equal(c.status, 'offline');
  checkRids(bridge);
});

test('long-poll: an ended session (404) logs in again', async () => {
  const old = new FakeBridge();
  const fresh = new FakeBridge();
  fresh.sid = 'sid-2';
  let gone = false;
  const fetch = async (url, init) => {
    if (!gone) return old.fetch(url, init);
    if (JSON.parse(init.body).sid === old.sid) return response(404, { kind: 'error', type: 'cancel', code: 'item-not-found' });
    return fresh.fetch(url, init);
  };
  const c = newClient({ url: BASE, transports: ['poll'], fetch, storage: null, backoff: FAST, keepPassword: true });
  const rec = record(c);
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  gone = true; // the bridge forgot the session: its sid is unknown from now on
  old.push({ kind: 'message', body: 'the last one' }); // answers the held poll
  await until(() => rec.status.filter((s) => s.status === 'online').length === 2, 'the second login');
  assert.equal(rec.status.find((s) => s.status === 'reconnecting').reason, 'item-not-found');
  assert.deepEqual(rec.messages.map((m) => m.body), ['the last one']);
  c.send({ kind: 'message', body: 'after' });
  await until(() => fresh.up.some((f) => f.body === 'after'), 'a frame in the new session');
  await c.close();
});

test('long-poll: a refused login is reported, not retried', async () => {
  const fetch = async (url, init) => {
    const body = JSON.parse(init.body);
    return response(200, { sid: 's', first: 1, frames: [
      { kind: 'error', type: 'auth', code: 'not-authorized', text: 'bad password', id: body.frames[0].id },
      { kind: 'close', code: 'not-authorized' },
    ] });
  };
  const c = newClient({ url: BASE, transports: ['poll', 'sse'], fetch, storage: null });
  await assert.rejects(c.connect({ jid: 'alice@example.com', password: 'x' }), { code: 'not-authorized', text: 'bad password' });
  // The bridge's own HTTP errors are refusals too.
  const c2 = newClient({ url: BASE, transports: ['poll', 'sse'], fetch: async () => response(401, { kind: 'error', type: 'auth', code: 'bad-token' }), storage: null });
  await assert.rejects(c2.connect({ token: 't' }), { code: 'bad-token' });
  // A page that is not the bridge's is not: the next transport is tried.
  let calls = 0;
  const c3 = newClient({ url: BASE, transports: ['poll', 'sse'], fetch: async () => { calls++; return response(502, null); }, storage: null });
  await assert.rejects(c3.connect({ jid: 'alice@example.com', password: 'x' }), { code: 'unreachable' });
  assert.equal(calls, 2);
});

test('long-poll: answers that overtake each other are taken in rid order', async () => {
  const random = () => 0.5;
  const r = Math.floor(0.5 * 2 ** 40) + 1;
  // r+1 is the first poll, held; r+2 carries a message, which answers r+1
  // at once with the frames pushed meanwhile, and that answer is slow on
  // the way, so r+2's answer (the echo) comes first.
  const bridge = new FakeBridge({ slowAnswers: { [r + 1]: 40 }, echo: true, hold: 200 });
  const c = newClient({ url: BASE, transports: ['poll'], fetch: bridge.fetch, storage: null, backoff: FAST, random });
  const rec = record(c);
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => bridge.requests.some((b) => b.rid === r + 1), 'the held poll');
  bridge.push({ kind: 'message', body: 'first' });
  await new Promise((res) => setTimeout(res, 5));
  c.send({ kind: 'message', body: 'second' });
  await until(() => rec.messages.length === 2, 'both messages');
  assert.deepEqual(rec.messages.map((m) => m.body), ['first', 'echo second']);
  checkRids(bridge);
  await c.close();
});

test('long-poll: a request refused before its rid was taken goes again without its frames', async () => {
  const tooLarge = { status: 413, frame: { kind: 'error', type: 'modify', code: 'too-large', text: 'request body over the size limit' } };
  const bridge = new FakeBridge({ echo: true, refuse: (b) => (b.frames?.some((f) => f.body === 'huge') ? tooLarge : null) });
  const c = newClient({ url: BASE, transports: ['poll'], fetch: bridge.fetch, storage: null, backoff: FAST });
  const rec = record(c);
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  c.send({ kind: 'message', body: 'huge' });
  await until(() => rec.errors.length === 1, 'the error frame');
  assert.equal(rec.errors[0].code, 'too-large');
  c.send({ kind: 'message', body: 'small' });
  await until(() => rec.messages.length === 1, 'the echo');
  assert.deepEqual(rec.messages.map((m) => m.body), ['echo small']);
  assert.deepEqual(bridge.up.map((f) => f.body), ['small']);
  checkRids(bridge);
  assert.equal(c.status, 'online');
  await c.close();
});

/**
 * A long-poll bridge that a test plays by hand: every request waits in
 * `reqs` until the test answers it (answer), fails it (fail: no answer
 * came) or leaves it hanging; a hanging one notices when it is aborted.
 */
function handPlayed() {
  const reqs = [];
  const fetch = (url, init) => new Promise((resolve, reject) => {
    const r = {
      url,
      body: JSON.parse(init.body),
      keepalive: init.keepalive,
      aborted: false,
      answer: (status, json) => resolve(response(status, json)),
      fail: () => reject(new TypeError('fetch failed')),
    };
    init.signal?.addEventListener('abort', () => {
      r.aborted = true;
      reject(new DOMException('aborted', 'AbortError'));
    });
    reqs.push(r);
  });
  return { fetch, reqs };
}

/** Logs in on a hand-played long-poll bridge: its first frames are 1 (the session) and `more`. */
async function handLogin(hp, c, more = []) {
  const connecting = c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => hp.reqs.length === 1, 'the login');
  hp.reqs[0].answer(200, { sid: 's', wait: 1, hold: 1, requests: 2, inactivity: 60, first: 1, frames: [{ kind: 'session', jid: 'alice@example.com/web' }, ...more] });
  await connecting;
  await until(() => hp.reqs.length === 2, 'the held poll');
  return hp.reqs[1];
}

const msg = (body) => ({ kind: 'message', from: 'bob@example.com', body });

test('long-poll: held polls answered the other way round lose nothing', async () => {
  // rid n is held; rid n+1 carries a frame up, and the bridge answers it
  // first, with frames 5 and 6; n is answered later, with frame 7. The
  // page takes answers in rid order, so it sees 7 before 5 and 6.
  const hp = handPlayed();
  const c = newClient({ url: BASE, transports: ['poll'], fetch: hp.fetch, storage: null, backoff: FAST });
  const rec = record(c);
  const n = await handLogin(hp, c, [msg('2'), msg('3'), msg('4')]);
  assert.equal(n.body.ack, 4);
  c.send({ kind: 'message', to: 'bob@example.com', body: 'up' });
  await until(() => hp.reqs.length === 3, 'rid n+1');
  const n1 = hp.reqs[2];
  assert.equal(n1.body.rid, n.body.rid + 1);
  n1.answer(200, { first: 5, frames: [msg('5'), msg('6')] });
  await new Promise((r) => setTimeout(r, 5));
  n.answer(200, { first: 7, frames: [msg('7')] });
  await until(() => rec.messages.length === 6, `six messages (got ${rec.messages.map((m) => m.body)})`);
  assert.deepEqual(rec.messages.map((m) => m.body), ['2', '3', '4', '5', '6', '7']);
  await until(() => hp.reqs.length === 4, 'the next poll');
  assert.equal(hp.reqs[3].body.ack, 7, 'everything taken');
  assert.equal(c.status, 'online');
});

test('long-poll: a gap that stays keeps the ack below it until a repeat fills it', async () => {
  const hp = handPlayed();
  const c = newClient({ url: BASE, transports: ['poll'], fetch: hp.fetch, storage: null, backoff: FAST });
  const rec = record(c);
  const n = await handLogin(hp, c);
  n.answer(200, { first: 3, frames: [msg('3'), msg('4')] }); // 2 never comes
  await until(() => hp.reqs.length === 3, 'the next poll');
  const next = hp.reqs[2];
  assert.equal(next.body.ack, 1, 'the ack stays below the gap');
  assert.deepEqual(rec.messages, [], 'nothing past the gap is delivered yet');
  // Its answer is lost: the same rid goes again, with the same ack, and the
  // bridge answers a repeat with everything after it.
  next.fail();
  await until(() => hp.reqs.length === 4, 'the repeat');
  const repeat = hp.reqs[3];
  assert.deepEqual(repeat.body, next.body);
  repeat.answer(200, { first: 2, frames: [msg('2'), msg('3'), msg('4'), msg('5')] });
  await until(() => rec.messages.length === 4, 'the messages');
  assert.deepEqual(rec.messages.map((m) => m.body), ['2', '3', '4', '5'], 'each once, in order');
  await until(() => hp.reqs.length === 5, 'the poll after');
  assert.equal(hp.reqs[4].body.ack, 5);
});

test('long-poll: out-of-order sends the earlier requests again, then the same rid with its frames', async () => {
  const hp = handPlayed();
  const c = newClient({ url: BASE, transports: ['poll'], fetch: hp.fetch, storage: null, backoff: FAST });
  const rec = record(c);
  const n = await handLogin(hp, c); // rid n never reaches the bridge: it hangs
  c.send({ kind: 'message', to: 'bob@example.com', body: 'up' });
  await until(() => hp.reqs.length === 3, 'rid n+1');
  const n1 = hp.reqs[2];
  assert.deepEqual(n1.body.frames, [{ kind: 'message', to: 'bob@example.com', body: 'up' }]);
  n1.answer(400, { kind: 'error', type: 'wait', code: 'out-of-order', text: 'the requests before this rid did not arrive in time' });
  await until(() => hp.reqs.length === 5, 'both again');
  assert.ok(n.aborted, 'the hanging request is given up');
  assert.deepEqual(hp.reqs[3].body, n.body, 'rid n again first');
  assert.deepEqual(hp.reqs[4].body, n1.body, 'then rid n+1, unchanged');
  hp.reqs[4].answer(200, { first: 2, frames: [msg('echo up')] });
  hp.reqs[3].answer(200, { frames: [] });
  await until(() => rec.messages.length === 1, 'the echo');
  assert.deepEqual(rec.errors, [], 'out-of-order is the transport\'s business');
  assert.deepEqual(rec.status.map((st) => st.status), ['connecting', 'online'], 'the session went on');
  assert.equal(c.status, 'online');
});

test('long-poll: out-of-order against a bridge that took the earlier request after all', async () => {
  // The bridge refuses the frame-carrying rid once, though it holds the one
  // before: the client sends that again too, and the bridge answers it as a
  // repeat. Every frame is taken once.
  let refused = false;
  const refuse = (b) => {
    if (refused || b.frames?.[0]?.body !== 'x') return null;
    refused = true;
    return { status: 400, frame: { kind: 'error', type: 'wait', code: 'out-of-order' } };
  };
  const bridge = new FakeBridge({ echo: true, refuse });
  const c = newClient({ url: BASE, transports: ['poll'], fetch: bridge.fetch, storage: null, backoff: FAST });
  const rec = record(c);
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  c.send({ kind: 'message', body: 'x' });
  c.send({ kind: 'message', body: 'y' });
  await until(() => rec.messages.length === 2, 'the echoes');
  assert.ok(refused);
  assert.deepEqual(bridge.up.map((f) => f.body), ['x', 'y']);
  assert.deepEqual(rec.messages.map((m) => m.body), ['echo x', 'echo y']);
  assert.deepEqual(rec.errors, []);
  checkRids(bridge);
  assert.equal(c.status, 'online');
});

test('long-poll: bad-request still ends the session', async () => {
  const hp = handPlayed();
  const c = newClient({ url: BASE, transports: ['poll'], fetch: hp.fetch, storage: null, backoff: FAST, keepPassword: true });
  const rec = record(c);
  await handLogin(hp, c);
  c.send({ kind: 'presence' });
  await until(() => hp.reqs.length === 3, 'rid n+1');
  hp.reqs[2].answer(400, { kind: 'error', type: 'modify', code: 'bad-request', text: 'rid outside the window' });
  await until(() => c.status === 'reconnecting', 'the session lost');
  assert.equal(rec.status.at(-1).reason, 'bad-request');
  await until(() => hp.reqs.some((r, i) => i > 2 && r.body.frames?.[0]?.kind === 'login'), 'a new login');
});

test('SSE: out-of-order sends the same post again, with its frames', async () => {
  let refused = 0;
  const outOfOrder = { status: 400, frame: { kind: 'error', type: 'wait', code: 'out-of-order' } };
  const bridge = new FakeBridge({ refuse: (b) => (b.frames?.[0]?.body === 'x' && refused++ < 2 ? outOfOrder : null) });
  const c = newClient({ url: BASE, transports: ['sse'], fetch: bridge.fetch, EventSource: fakeEventSource(bridge), storage: null, backoff: FAST });
  const rec = record(c);
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  c.send({ kind: 'message', body: 'x' });
  c.send({ kind: 'message', body: 'y' });
  await until(() => bridge.up.length === 2, 'both taken');
  assert.equal(refused, 3);
  assert.deepEqual(bridge.up.map((f) => f.body), ['x', 'y']);
  const xs = bridge.requests.filter((b) => b.frames?.[0]?.body === 'x');
  assert.equal(xs.length, 3);
  assert.ok(xs.every((b) => b.rid === xs[0].rid), 'the same rid each time');
  assert.deepEqual(rec.errors, []);
  checkRids(bridge);
  await until(() => c.status === 'online', 'online');
});

/** Wraps a fetch to record each post's body and keepalive flag. */
function keepaliveLog(fetch) {
  const log = [];
  return {
    log,
    fetch: (url, init) => {
      const body = JSON.parse(init.body);
      log.push({ path: new URL(url).pathname, frames: body.frames ?? [], keepalive: init.keepalive, bytes: init.body.length });
      return fetch(url, init);
    },
  };
}

test('keepalive only for a small final close post', async () => {
  for (const transport of ['poll', 'sse']) {
    // A small close: keepalive; nothing else.
    const bridge = new FakeBridge();
    const k = keepaliveLog(bridge.fetch);
    const c = newClient({ url: BASE, transports: [transport], fetch: k.fetch, EventSource: fakeEventSource(bridge), storage: null, backoff: FAST });
    await c.connect({ jid: 'alice@example.com', password: 'secret' });
    c.send({ kind: 'message', body: 'x'.repeat(100000) });
    c.send({ kind: 'presence', type: 'unavailable' });
    await until(() => bridge.up.length === 2, 'both taken');
    await c.close();
    assert.ok(bridge.closed, transport);
    const closes = k.log.filter((p) => p.frames.at(-1)?.kind === 'close');
    assert.ok(closes.length >= 1 && closes.every((p) => p.keepalive === true && p.bytes < 1000), `${transport}: the close`);
    assert.ok(k.log.filter((p) => !closes.includes(p)).every((p) => p.keepalive === false), `${transport}: the others`);
  }

  // A close that goes with a big frame goes without keepalive (browsers
  // refuse keepalive bodies past 64 KiB).
  const bridge = new FakeBridge({ hold: 200 });
  const k = keepaliveLog(bridge.fetch);
  const c = newClient({ url: BASE, transports: ['poll'], fetch: k.fetch, storage: null, backoff: FAST });
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => k.log.length === 2, 'the held poll');
  c.send({ kind: 'presence' }); // the second request: both are out now
  c.send({ kind: 'message', body: 'x'.repeat(100000) }); // waits, and the close with it
  await c.close();
  assert.ok(bridge.closed);
  const last = k.log.find((p) => p.frames.at(-1)?.kind === 'close');
  assert.equal(last.frames.length, 2, 'the big frame and the close in one post');
  assert.ok(last.bytes > 64 * 1024);
  assert.equal(last.keepalive, false);
  assert.ok(k.log.every((p) => p.keepalive === false));
});

test('SSE: a post refused before its rid was taken goes again without its frames', async () => {
  const tooLarge = { status: 413, frame: { kind: 'error', type: 'modify', code: 'too-large' } };
  const bridge = new FakeBridge({ refuse: (b) => (b.frames?.some((f) => f.body === 'huge') ? tooLarge : null) });
  const c = newClient({ url: BASE, transports: ['sse'], fetch: bridge.fetch, EventSource: fakeEventSource(bridge), storage: null, backoff: FAST });
  const rec = record(c);
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  c.send({ kind: 'message', body: 'huge' });
  c.send({ kind: 'message', body: 'small' });
  await until(() => bridge.up.length === 1 && rec.errors.length === 1, 'the small one taken, the huge one refused');
  assert.deepEqual(bridge.up.map((f) => f.body), ['small']);
  checkRids(bridge);
  await c.close();
});

// ------------------------------------------------------------ SSE

/** EventSource in memory, opened and fed by the FakeBridge. */
function fakeEventSource(bridge, { failFirst = false } = {}) {
  let opened = 0;
  return class FakeEventSource {
    onopen = null;
    onmessage = null;
    onerror = null;
    closed = false;
    constructor(url) {
      this.url = new URL(url);
      bridge.esURLs.push(url);
      const attempt = opened++;
      setTimeout(() => {
        if (this.closed) return;
        if (failFirst && attempt === 0) {
          this.onerror?.({});
          return;
        }
        bridge.es = this;
        this.onopen?.({});
        // Resume: every frame after `last`, plus one the page has already,
        // as a bridge that rounds down may send.
        const last = Number(this.url.searchParams.get('last'));
        for (let n = Math.max(1, last); n <= bridge.down.length; n++) this.emit(n, bridge.down[n - 1]);
      }, 1);
    }
    emit(n, frame) {
      if (!this.closed) this.onmessage?.({ lastEventId: String(n), data: JSON.stringify(frame) });
    }
    drop() {
      bridge.es = null;
      this.onerror?.({});
    }
    close() {
      this.closed = true;
      if (bridge.es === this) bridge.es = null;
    }
  };
}

test('SSE: login by post, events resumed from the page\'s count, posts in rid order, acks', async () => {
  const random = () => 0.25;
  const r = Math.floor(0.25 * 2 ** 40) + 1;
  const bridge = new FakeBridge({ loseAnswers: [r + 2] });
  const EventSource = fakeEventSource(bridge);
  const c = newClient({ url: BASE, transports: ['sse'], fetch: bridge.fetch, EventSource, storage: null, backoff: FAST, random });
  const rec = record(c);
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  assert.equal(c.transport, 'sse');
  assert.deepEqual(bridge.requests[0], { rid: r, frames: [{ kind: 'login', jid: 'alice@example.com', password: 'secret' }] });
  const first = new URL(bridge.esURLs[0]);
  assert.equal(first.pathname, '/json/events');
  assert.equal(first.searchParams.get('sid'), 'sid-1');
  assert.equal(first.searchParams.get('last'), '1', 'the session frame came with the login answer');

  for (let i = 0; i < 5; i++) bridge.push({ kind: 'message', body: `d${i}` });
  await until(() => rec.messages.length === 5, 'five events');

  // The stream drops, and a frame sent meanwhile never reaches the page.
  const es = bridge.es;
  es.closed = true;
  bridge.down.push({ kind: 'message', body: 'sent into the void' });
  es.drop();
  assert.equal(c.status, 'reconnecting');
  for (let i = 0; i < 3; i++) c.send({ kind: 'message', to: 'bob@example.com', body: `u${i}` });
  bridge.push({ kind: 'message', body: 'd5' });
  await until(() => rec.messages.length === 7 && c.status === 'online', 'the resumed stream');
  assert.equal(new URL(bridge.esURLs.at(-1)).searchParams.get('last'), '6', 'resumed after the last event the page has');
  assert.deepEqual(rec.messages.map((m) => m.body), ['d0', 'd1', 'd2', 'd3', 'd4', 'sent into the void', 'd5']);

  await until(() => bridge.up.length === 3, 'three frames up');
  assert.deepEqual(bridge.up.map((f) => f.body), ['u0', 'u1', 'u2'], 'each taken once, in order, despite a lost answer');
  checkRids(bridge);
  assert.ok(bridge.requests.filter((b) => b.rid === r + 2).length >= 2, 'the post whose answer was lost was repeated');
  assert.ok(bridge.acks.length > 0 && bridge.acks.every((a) => a >= 1));

  await c.close();
  assert.ok(bridge.closed);
  assert.equal(c.status, 'offline');
});

test('SSE: an events stream that skips a frame is opened again from the page\'s count', async () => {
  const bridge = new FakeBridge();
  const c = newClient({ url: BASE, transports: ['sse'], fetch: bridge.fetch, EventSource: fakeEventSource(bridge), storage: null, backoff: FAST });
  const rec = record(c);
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => bridge.es !== null, 'the stream');
  bridge.push(msg('2'));
  await until(() => rec.messages.length === 1, 'the first event');
  bridge.down.push(msg('3')); // never sent on this stream
  bridge.push(msg('4'));
  await until(() => rec.messages.length === 3, 'the missing one and the one after');
  assert.deepEqual(rec.messages.map((m) => m.body), ['2', '3', '4'], 'each once, in order');
  assert.equal(bridge.esURLs.length, 2, 'the stream was opened again');
  assert.equal(new URL(bridge.esURLs[1]).searchParams.get('last'), '2', 'from the last event before the gap');
  bridge.push(msg('5'));
  await until(() => rec.messages.length === 4, 'the stream goes on');
  await until(() => c.status === 'online', 'online');
});

test('SSE: a blocked event stream falls back to long-poll and closes the SSE session', async () => {
  const bridge = new FakeBridge();
  const EventSource = class { constructor() { setTimeout(() => this.onerror?.({}), 1); } close() {} };
  const c = newClient({ url: BASE, transports: ['sse', 'poll'], fetch: bridge.fetch, EventSource, storage: null, backoff: FAST });
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  assert.equal(c.transport, 'poll');
  await until(() => bridge.requests.some((b) => b.frames?.[0]?.kind === 'close'), 'the SSE session closed');
  await c.close();
});

// ------------------------------------------------------------ WebSocket

/** A WebSocket in memory: the test plays the bridge through its methods. */
function fakeWebSocket({ refuse = false } = {}) {
  const sockets = [];
  class FakeWebSocket {
    readyState = 0;
    sent = [];
    constructor(url, protocol) {
      this.url = url;
      this.protocol = protocol;
      sockets.push(this);
      setTimeout(() => {
        if (refuse) {
          this.readyState = 3;
          this.onclose?.({ code: 1006 });
          return;
        }
        this.readyState = 1;
        this.onopen?.({});
      }, 1);
    }
    send(s) { this.sent.push(JSON.parse(s)); }
    close() { this.readyState = 3; }
    // The bridge's side.
    down(f) { this.onmessage?.({ data: JSON.stringify(f) }); }
    drop(code = 1006) { this.readyState = 3; this.onclose?.({ code }); }
  }
  return { FakeWebSocket, sockets };
}

test('WebSocket: subprotocol, login, frames, close; a dropped socket logs in again', async () => {
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const c = newClient({ url: 'https://bridge.test/json/', transports: ['websocket'], WebSocket: FakeWebSocket, storage: null, backoff: FAST, keepPassword: true });
  const rec = record(c);
  const connecting = c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => sockets[0]?.sent.length === 1, 'the login frame');
  const ws = sockets[0];
  assert.equal(ws.url, 'wss://bridge.test/json/ws');
  assert.equal(ws.protocol, PROTOCOL);
  assert.deepEqual(ws.sent[0], { kind: 'login', jid: 'alice@example.com', password: 'secret' });
  ws.down({ kind: 'session', jid: 'alice@example.com/x' });
  assert.equal(await connecting, 'alice@example.com/x');

  c.send({ kind: 'presence' });
  assert.deepEqual(ws.sent[1], { kind: 'presence' });
  ws.down({ kind: 'message', body: 'hi' });
  assert.deepEqual(rec.messages, [{ kind: 'message', body: 'hi' }]);

  ws.drop();
  assert.equal(c.status, 'reconnecting');
  await until(() => sockets.length === 2 && sockets[1].sent.length === 1, 'the second login');
  sockets[1].down({ kind: 'session', jid: 'alice@example.com/y' });
  await until(() => c.status === 'online', 'online again');
  assert.equal(c.jid, 'alice@example.com/y');

  const closing = c.close();
  assert.deepEqual(sockets[1].sent.at(-1), { kind: 'close' });
  sockets[1].down({ kind: 'close', code: 'normal' });
  await closing;
  assert.equal(c.status, 'offline');
});

test('WebSocket: the bridge refusing the login', async () => {
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const c = newClient({ url: BASE, transports: ['websocket', 'poll'], WebSocket: FakeWebSocket, storage: null });
  const connecting = c.connect({ jid: 'alice@example.com', password: 'wrong' });
  await until(() => sockets[0]?.sent.length === 1, 'the login frame');
  sockets[0].down({ kind: 'error', type: 'auth', code: 'not-authorized' });
  sockets[0].down({ kind: 'close', code: 'not-authorized' });
  await assert.rejects(connecting, { code: 'not-authorized' });
});

test('WebSocket blocked: long-poll takes over', async () => {
  const { FakeWebSocket } = fakeWebSocket({ refuse: true });
  const bridge = new FakeBridge();
  const storage = memoryStorage();
  const c = newClient({ url: BASE, WebSocket: FakeWebSocket, EventSource: undefined, transports: ['websocket', 'poll'], fetch: bridge.fetch, storage });
  await c.connect({ jid: 'alice@example.com', password: 'secret' });
  assert.equal(c.transport, 'poll');
  assert.equal(storage.map.get(`xmppbridge.transport ${BASE}`), 'poll');
  await c.close();
});

// ------------------------------------------------------------ resuming

const SESSION_KEY = (base) => `xmppbridge.session ${base}`;

/** Logs c in over the fake WebSocket number i: the session frame carries a token. */
async function wsLogin(c, sockets, i = 0, token = 'tok-1') {
  const connecting = c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => sockets[i]?.sent.length === 1, 'the login frame');
  sockets[i].down({ kind: 'session', jid: 'alice@example.com/web', token, resume_window: 120 });
  await connecting;
  return sockets[i];
}

test('WebSocket: a dropped socket resumes with token, last, h and acked; frames not confirmed go again once', async () => {
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const storage = memoryStorage();
  const c = newClient({ url: BASE, transports: ['websocket'], WebSocket: FakeWebSocket, storage, backoff: FAST });
  const rec = record(c);
  const ws = await wsLogin(c, sockets);
  assert.ok(!JSON.stringify([...storage.map.values()]).includes('secret'), 'no password in storage');

  ws.down(msg('one')); // 2
  ws.down({ kind: 'presence', from: 'bob@example.com/x' }); // 3
  ws.down({ kind: 'error', code: 'dropped-stanza', type: 'cancel', stanza: true }); // 4
  ws.down({ kind: 'error', code: 'bad-value', type: 'modify' }); // 5: the page's own bad frame, not a stanza
  await until(() => ws.sent.some((f) => f.kind === 'ack'), 'an ack up');
  assert.deepEqual(ws.sent.filter((f) => f.kind === 'ack').at(-1), { kind: 'ack', n: 5 });

  c.send({ kind: 'message', to: 'bob@example.com', body: 'a' }); // page frame 1
  c.send({ kind: 'message', to: 'bob@example.com', body: 'b' }); // 2
  c.send({ kind: 'message', to: 'bob@example.com', body: 'c' }); // 3
  ws.down({ kind: 'ack', n: 1, h: 1 }); // a is with the server
  ws.drop();
  assert.equal(c.status, 'reconnecting');
  c.send({ kind: 'message', to: 'bob@example.com', body: 'd' }); // waits

  await until(() => sockets[1]?.sent.length === 1, 'the resume');
  assert.deepEqual(sockets[1].sent[0], { kind: 'resume', token: 'tok-1', last: 5, h: 3, acked: { n: 1, h: 1 } });
  // The bridge took b before the drop; c and d go again.
  sockets[1].down({ kind: 'resumed', jid: 'alice@example.com/web', first: 6, received: 2, acked: { n: 1, h: 1 }, token: 'tok-2', resume_window: 120 });
  sockets[1].down(msg('two')); // 6
  await until(() => c.status === 'online', 'online again');
  assert.equal(rec.status.at(-1).resumed, true);
  assert.deepEqual(sockets[1].sent.slice(1).filter((f) => f.kind === 'message').map((f) => f.body), ['c', 'd']);
  assert.deepEqual(rec.messages.map((m) => m.body), ['one', 'two']);
  const stored = JSON.parse(storage.map.get(SESSION_KEY(BASE)));
  assert.equal(stored.token, 'tok-2', 'the token is replaced at each resume');
  assert.equal(stored.last, 6);
  assert.deepEqual(stored.out.map((f) => f.body), ['b', 'c', 'd'].slice(1), 'c and d wait for their confirmation');
  sockets[1].down({ kind: 'ack', n: 4, h: 4 });
  assert.deepEqual(JSON.parse(storage.map.get(SESSION_KEY(BASE))).out, []);

  // A repeat of a frame the page has (a bridge that resends from an older
  // count) is not shown twice.
  await c.close();
  assert.equal(storage.map.get(SESSION_KEY(BASE)), undefined, 'close forgets the session');
});

test('a reload resumes from storage: same JID, frames after last, unconfirmed ones sent again', async () => {
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const storage = memoryStorage();
  const c1 = new Client({ url: BASE, transports: ['websocket'], WebSocket: FakeWebSocket, storage, backoff: FAST });
  const ws = await wsLogin(c1, sockets);
  ws.down(msg('before')); // 2
  c1.send({ kind: 'message', to: 'bob@example.com', body: 'typed' });
  // The page goes away without a close: the bridge keeps the session.
  ws.drop();
  c1.detach();
  assert.equal(c1.status, 'offline');

  const c2 = newClient({ url: BASE, transports: ['websocket'], WebSocket: FakeWebSocket, storage, backoff: FAST });
  const rec = record(c2);
  assert.deepEqual(c2.stored, { jid: 'alice@example.com/web' });
  const resuming = c2.resume();
  await until(() => sockets[1]?.sent.length === 1, 'the resume');
  assert.deepEqual(sockets[1].sent[0], { kind: 'resume', token: 'tok-1', last: 2, h: 1, acked: { n: 0, h: 0 } });
  sockets[1].down({ kind: 'resumed', jid: 'alice@example.com/web', first: 3, received: 0, acked: { n: 0, h: 0 }, token: 'tok-2', resume_window: 120 });
  sockets[1].down(msg('during')); // 3
  assert.equal(await resuming, 'alice@example.com/web');
  assert.deepEqual(rec.status.map((s) => [s.status, s.resumed]), [['connecting', undefined], ['online', true]]);
  assert.deepEqual(rec.messages.map((m) => m.body), ['during']);
  assert.deepEqual(sockets[1].sent.slice(1).filter((f) => f.kind === 'message').map((f) => f.body), ['typed']);
});

test('a refused resume logs in again only with a kept password or relogin, and says why', async () => {
  const cases = [
    { name: 'password kept', options: { keepPassword: true }, code: 'bad-token', login: { kind: 'login', jid: 'alice@example.com', password: 'secret' } },
    { name: 'prebind token', options: { relogin: async () => ({ token: 'prebind-2' }) }, code: 'item-not-found', login: { kind: 'login', token: 'prebind-2' } },
    { name: 'neither', options: {}, code: 'bad-request', login: null },
  ];
  for (const tc of cases) {
    const { FakeWebSocket, sockets } = fakeWebSocket();
    const storage = memoryStorage();
    const c = newClient({ url: BASE, transports: ['websocket'], WebSocket: FakeWebSocket, storage, backoff: FAST, ...tc.options });
    const rec = record(c);
    await wsLogin(c, sockets);
    sockets[0].drop();
    await until(() => sockets[1]?.sent.length === 1, `${tc.name}: the resume`);
    assert.equal(sockets[1].sent[0].kind, 'resume', tc.name);
    sockets[1].down({ kind: 'error', type: 'cancel', code: tc.code });
    sockets[1].drop(1008);
    if (!tc.login) {
      await until(() => c.status === 'offline', `${tc.name}: offline`);
      assert.equal(rec.status.at(-1).reason, tc.code, tc.name);
      assert.equal(storage.map.get(SESSION_KEY(BASE)), undefined, `${tc.name}: the dead token is forgotten`);
      continue;
    }
    await until(() => sockets[2]?.sent.length === 1, `${tc.name}: the new login`);
    assert.deepEqual(sockets[2].sent[0], tc.login, tc.name);
    sockets[2].down({ kind: 'session', jid: 'alice@example.com/new', token: 'tok-9' });
    await until(() => c.status === 'online', `${tc.name}: online`);
    assert.deepEqual([rec.status.at(-1).resumed, rec.status.at(-1).reason], [false, tc.code], tc.name);
    assert.equal(JSON.parse(storage.map.get(SESSION_KEY(BASE))).token, 'tok-9', tc.name);
  }
});

test('a resume switches transport: WebSocket blocked, long-poll resumes the session', async () => {
  let wsBlocked = false;
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const Blockable = class extends FakeWebSocket {
    constructor(url, protocol) {
      super(url, protocol);
      if (wsBlocked) setTimeout(() => this.drop(1006), 0);
    }
  };
  const hp = handPlayed();
  const storage = memoryStorage();
  const c = newClient({ url: BASE, transports: ['websocket', 'poll'], WebSocket: Blockable, fetch: hp.fetch, storage, backoff: FAST });
  const rec = record(c);
  const ws = await wsLogin(c, sockets);
  ws.down(msg('one')); // 2
  c.send({ kind: 'message', to: 'bob@example.com', body: 'x' });
  wsBlocked = true;
  ws.drop();
  await until(() => hp.reqs.length === 1, 'the resume post');
  assert.deepEqual(hp.reqs[0].body.frames, [{ kind: 'resume', token: 'tok-1', last: 2, h: 1, acked: { n: 0, h: 0 } }]);
  hp.reqs[0].answer(200, {
    sid: 's2', wait: 1, hold: 1, requests: 2, inactivity: 60,
    resumed: { kind: 'resumed', jid: 'alice@example.com/web', first: 3, received: 0, acked: { n: 0, h: 0 }, token: 'tok-2', resume_window: 120 },
    first: 2, frames: [msg('one'), msg('two')], // 2 again: not shown twice
  });
  await until(() => c.status === 'online', 'online');
  assert.equal(c.transport, 'poll');
  assert.equal(rec.status.at(-1).resumed, true);
  assert.deepEqual(rec.messages.map((m) => m.body), ['one', 'two']);
  await until(() => hp.reqs.some((r) => r.body.frames?.some((f) => f.body === 'x')), 'x sent again');
  const withX = hp.reqs.find((r) => r.body.frames?.some((f) => f.body === 'x'));
  assert.equal(withX.body.sid, 's2');
  assert.ok(hp.reqs.slice(1).every((r) => r.body.ack >= 3), 'acks count from the session, not the transport');
  // Answers are taken in rid order: the held poll before it is answered first.
  for (const r of hp.reqs.slice(1)) if (r !== withX) r.answer(200, { frames: [] });
  withX.answer(200, { frames: [], acked: { n: 1, h: 1 } });
  await until(() => JSON.parse(storage.map.get(SESSION_KEY(BASE))).out.length === 0, 'x confirmed');
  for (const r of hp.reqs) r.answer(200, { frames: [] });
});

test('WebSocket: conflict lets a connection go, and the page does not fight for the session', async () => {
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const c = newClient({ url: BASE, transports: ['websocket'], WebSocket: FakeWebSocket, storage: memoryStorage(), backoff: FAST, keepPassword: true });
  const rec = record(c);
  const ws = await wsLogin(c, sockets);
  ws.down({ kind: 'error', type: 'cancel', code: 'conflict', text: 'the session was resumed by another connection' });
  assert.equal(c.status, 'offline');
  assert.equal(rec.status.at(-1).reason, 'conflict');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(sockets.length, 1);
});

test('a frame the bridge refused before taking it is out of the count', async () => {
  const hp = handPlayed();
  const storage = memoryStorage();
  const c = newClient({ url: BASE, transports: ['poll'], fetch: hp.fetch, storage, backoff: FAST });
  const connecting = c.connect({ jid: 'alice@example.com', password: 'secret' });
  await until(() => hp.reqs.length === 1, 'the login');
  hp.reqs[0].answer(200, { sid: 's', wait: 1, hold: 1, requests: 2, inactivity: 60, first: 1, frames: [{ kind: 'session', jid: 'alice@example.com/web', token: 't' }] });
  await connecting;
  await until(() => hp.reqs.length === 2, 'the held poll');
  c.send({ kind: 'message', body: 'huge' });
  await until(() => hp.reqs.length === 3, 'the post');
  hp.reqs[2].answer(413, { kind: 'error', type: 'modify', code: 'too-large' });
  await until(() => hp.reqs.length === 4, 'the rid again');
  c.send({ kind: 'message', body: 'small' });
  const stored = () => JSON.parse(storage.map.get(SESSION_KEY(BASE)));
  await until(() => stored().out.length === 1, 'small waits');
  assert.deepEqual(stored().out.map((f) => f.body), ['small']);
  c.detach();
  const c2 = newClient({ url: BASE, transports: ['poll'], fetch: hp.fetch, storage, backoff: FAST });
  const resuming = c2.resume();
  await until(() => hp.reqs.at(-1).body.frames?.[0]?.kind === 'resume', 'the resume');
  const r = hp.reqs.at(-1);
  r.answer(200, { sid: 's2', wait: 1, hold: 1, requests: 2, inactivity: 60, resumed: { jid: 'alice@example.com/web', first: 2, received: 0, acked: { n: 0, h: 0 }, token: 't2' }, frames: [] });
  await resuming;
  await until(() => hp.reqs.some((q) => q.body.sid === 's2' && q.body.frames?.[0]?.body === 'small'), 'small sent again');
  for (const q of hp.reqs) q.answer(200, { frames: [] });
});

test('SSE: a reload resumes on SSE; the events stream starts from the session\'s count', async () => {
  const { FakeWebSocket, sockets } = fakeWebSocket();
  const storage = memoryStorage();
  const c1 = new Client({ url: BASE, transports: ['websocket'], WebSocket: FakeWebSocket, storage, backoff: FAST });
  const ws = await wsLogin(c1, sockets);
  ws.down(msg('one')); // 2
  c1.detach();

  const bridge = { down: [{ kind: 'session' }, msg('one'), msg('two'), msg('three')], esURLs: [], es: null };
  const posts = [];
  const fetch = async (url, init) => {
    const body = JSON.parse(init.body);
    posts.push(body);
    if (!body.sid) {
      return response(200, {
        sid: 's2', rid: body.rid,
        resumed: { jid: 'alice@example.com/web', first: 3, received: 0, acked: { n: 0, h: 0 }, token: 'tok-2' },
        first: 3, frames: [],
      });
    }
    return response(200, { rid: body.rid, acked: { n: 0, h: 0 } });
  };
  const c2 = newClient({ url: BASE, transports: ['sse'], fetch, EventSource: fakeEventSource(bridge), storage, backoff: FAST });
  const rec = record(c2);
  assert.equal(await c2.resume(), 'alice@example.com/web');
  assert.deepEqual(posts[0].frames, [{ kind: 'resume', token: 'tok-1', last: 2, h: 1, acked: { n: 0, h: 0 } }]);
  await until(() => rec.messages.length === 2, 'the frames after last');
  assert.equal(new URL(bridge.esURLs[0]).searchParams.get('last'), '2');
  assert.deepEqual(rec.messages.map((m) => m.body), ['two', 'three'], 'frame 2 again is not shown twice');
  assert.equal(c2.transport, 'sse');
  assert.equal(rec.status.at(-1).resumed, true);
  await c2.close();
});
