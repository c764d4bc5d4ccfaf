/**
 * A small client for the xmppbridge JSON API (docs/json-api.md): log in
 * through the bridge, send and receive XMPP stanzas as JSON objects
 * (docs/json.md), over WebSocket, Server-Sent Events or long-polling.
 *
 * It has no dependencies and needs no build step:
 *
 *     import { Client } from './xmppbridge.js';
 *
 *     const client = new Client({ url: '/json' });
 *     client.addEventListener('message', (e) => console.log(e.detail.from, e.detail.body));
 *     const jid = await client.connect({ jid: 'alice@example.com', password: '…' });
 *     client.send({ kind: 'presence' });
 *     const roster = await client.iq({ kind: 'iq', type: 'get', roster: { items: [] } });
 *
 * What it does for the page: it tries the transports in order and keeps to
 * the first that logs in; it numbers, acknowledges and deduplicates frames
 * on every transport and repeats requests whose answers were lost; it keeps
 * the session's resume token and counts (in sessionStorage by default,
 * never the password) and the frames the bridge has not confirmed, so that
 * a dropped connection, a reload (`client.resume()`) or a switch of
 * transport continues the same session with nothing lost and nothing twice
 * (status `online` with `resumed: true`); and when the bridge no longer has
 * the session, it logs in again with backoff if the page let it (the
 * `keepPassword` or `relogin` option), with `resumed: false` and the reason.
 * `SharedClient` lets the tabs of a browser share one session (one tab
 * holds the connection and hands it over when it goes).
 *
 * @module xmppbridge
 */

/** The WebSocket subprotocol of the JSON API. */
export const PROTOCOL = 'xmppbridge-json.v1';

/** Every transport, in the default order of trying. */
export const TRANSPORTS = Object.freeze(['websocket', 'sse', 'poll']);

/** Frame kinds that carry stanzas (docs/json.md). */
const STANZA_KINDS = new Set(['message', 'presence', 'iq', 'element']);

/**
 * Session ends after which logging in again would fail the same way or
 * fight another client: the page is told, and the client stays offline.
 */
const FINAL_CODES = new Set([
  'normal', 'not-authorized', 'bad-token', 'encryption-required', 'conflict', 'host-unknown',
]);

/**
 * Refusals of a resume after which the session is gone (docs/json-api.md,
 * "Resuming a session"): the page logs in again if it can.
 */
const RESUME_GONE = new Set(['bad-token', 'item-not-found', 'bad-request']);

/** Down frames that count in `h`: the server's stanzas. */
function isServerStanza(f) {
  return f.kind === 'message' || f.kind === 'presence' || f.kind === 'iq' || (f.kind === 'error' && f.stanza === true);
}

/** How long a WebSocket page waits before acknowledging what came. */
const WS_ACK_DELAY = 100;

/** How long close waits for the bridge's close frame. */
const CLOSE_WAIT = 3000;
/** An SSE page acknowledges events once this many are unacknowledged… */
const ACK_EVERY = 32;
/** …or this long after the first unacknowledged one. */
const ACK_DELAY = 5000;
/** An empty long-poll answer faster than this is not followed at once. */
const MIN_POLL_INTERVAL = 1000;
/**
 * The largest close post sent with `keepalive` (bytes of JSON). Browsers
 * refuse keepalive bodies past 64 KiB in all, counting every keepalive
 * request of the page still in flight; a bigger close goes without.
 */
const KEEPALIVE_MAX = 8 * 1024;

/**
 * @typedef {{kind: string, [field: string]: any}} Frame
 * One JSON object of the API: a stanza (`message`, `presence`, `iq`,
 * `element`) or a control frame (`login`, `session`, `error`, `close`).
 */

/**
 * @typedef {object} Credentials
 * @property {string} [jid] bare JID to log in as
 * @property {string} [password]
 * @property {string} [resource] the resource to bind; the server picks one when absent
 * @property {string} [token] a single-use prebind token instead of jid and password
 */

/**
 * @typedef {object} StatusDetail
 * The detail of a `status` event.
 * @property {'connecting'|'online'|'reconnecting'|'offline'} status
 * @property {string|null} transport the transport in use: `websocket`, `sse` or `poll`
 * @property {string|null} jid the bound full JID
 * @property {boolean} [resumed] with `online`: the same session as before
 *   (a dropped connection was resumed), so presence and roster still stand;
 *   false after a fresh login, when the page sends its presence again
 * @property {string} [reason] why: the close or error code, or `network`;
 *   with `online` and `resumed: false`, why the session could not be
 *   resumed (`bad-token`, `item-not-found`, `bad-request`)
 * @property {string} [text] the bridge's explanation, for people
 */

/**
 * The error of a failed login, of an iq answered with a stanza error, and of
 * an iq that timed out.
 */
export class BridgeError extends Error {
  /**
   * @param {string} code the API's error code, the close code or the stanza
   *   error condition (`not-authorized`, `unreachable`, `timeout`, …)
   * @param {string} [text]
   * @param {{type?: string, refused?: boolean, frame?: Frame}} [more] `type`
   *   is the error type (`auth`, `cancel`, …); `refused` says the bridge
   *   answered (so trying another transport would not help); `frame` is the
   *   error frame or the iq error stanza
   */
  constructor(code, text = '', { type, refused = false, frame } = {}) {
    super(`xmppbridge: ${code}${text ? `: ${text}` : ''}`);
    this.name = 'BridgeError';
    this.code = code;
    this.text = text;
    this.type = type;
    this.refused = refused;
    this.frame = frame;
  }
}

/** A refusal by the bridge, from its error or close frame. */
function refusal(frame) {
  const code = frame?.code ?? 'bad-answer';
  return new BridgeError(code, frame?.text ?? '', { type: frame?.type, refused: true, frame });
}

/** A transport that did not reach the bridge: the next one may. */
function unreachable(text) {
  return new BridgeError('unreachable', text);
}

/**
 * The delay before retry number `attempt` (from 0): exponential from `min`
 * to `max` milliseconds, with the upper half jittered so that many pages
 * cut off at once do not come back at once.
 * @param {number} attempt
 * @param {{min?: number, max?: number}} [limits]
 * @param {() => number} [random]
 * @returns {number} milliseconds
 */
export function backoff(attempt, { min = 1000, max = 30000 } = {}, random = Math.random) {
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The order to try transports in: `allowed` in its order, except that the
 * one that worked last (`preferred`) goes first.
 * @param {readonly string[]} allowed
 * @param {string|null} [preferred]
 * @returns {string[]}
 */
export function transportOrder(allowed, preferred) {
  if (!preferred || !allowed.includes(preferred)) return [...allowed];
  return [preferred, ...allowed.filter((t) => t !== preferred)];
}

/** How far past a gap an {@link Inbox} keeps frames by default. */
const AHEAD_MAX = 1000;

/**
 * The numbering of frames down on the HTTP transports: the bridge numbers
 * them from 1, resends what the page has not acknowledged, and the page
 * takes each number once and in order.
 *
 * Frames can come out of order: the bridge may answer two held polls the
 * other way round, so the answer taken first skips numbers that the next
 * one carries. Frames past such a gap are kept, by number, and released
 * when the gap fills. At most `max` numbers past `last` are kept; frames
 * further on are dropped, to come again: the page's ack stays at `last`,
 * below the gap, and the bridge keeps and resends everything after it.
 */
export class Inbox {
  /** The highest number taken: every frame up to it was delivered, once. */
  last = 0;
  /** Whether the last accept saw a frame past a gap (and kept or dropped it). */
  gap = false;
  /** @type {Map<number, Frame>} frames past a gap, by number */
  #ahead = new Map();

  /** @param {number} [max] how many numbers past `last` are kept */
  constructor(max = AHEAD_MAX) {
    this.max = max;
  }

  /** How many frames past a gap are kept. */
  get held() {
    return this.#ahead.size;
  }

  /**
   * Takes frames numbered from `first` and returns, in order, those that
   * are now next: from these and from the ones kept before. Numbers taken
   * before are dropped; frames past a gap are kept (and `gap` is set).
   * @param {number|undefined} first the number of frames[0] (absent: `last + 1`)
   * @param {Frame[]|undefined} frames
   * @returns {Frame[]}
   */
  accept(first, frames) {
    this.gap = false;
    const out = [];
    if (!Array.isArray(frames) || frames.length === 0) return out;
    const start = Number.isSafeInteger(first) ? first : this.last + 1;
    for (let i = 0; i < frames.length; i++) {
      const n = start + i;
      if (n <= this.last) continue;
      if (n > this.last + 1) {
        this.gap = true;
        if (n - this.last <= this.max && !this.#ahead.has(n)) this.#ahead.set(n, frames[i]);
        continue;
      }
      out.push(frames[i]);
      this.last = n;
      while (this.#ahead.has(this.last + 1)) {
        out.push(this.#ahead.get(this.last + 1));
        this.#ahead.delete(++this.last);
      }
    }
    return out;
  }
}

/**
 * A client of the JSON API. Events (all CustomEvents; the frame or status
 * is `event.detail`):
 *
 * - `stanza`: every stanza frame; then one of `message`, `presence`, `iq`
 *   (or nothing more for `element`), with the same frame. Answers to
 *   {@link Client#iq} are dispatched too.
 * - `status`: a {@link StatusDetail}, whenever the status changes.
 * - `error`: an error frame from the bridge (a frame it could not take);
 *   the session goes on unless a `status` event says otherwise.
 */
export class Client extends EventTarget {
  #base;
  #allowed;
  #env;
  #classes;
  #storage;
  #keepPassword;
  #relogin;
  /** @type {Credentials|null} what logs in again after a lost session */
  #creds = null;
  /** @type {Transport|null} the transport of the live session */
  #t = null;
  /**
   * What the page knows of its session, kept in storage so that a reload
   * resumes it (null: no session to resume).
   * @type {SessionState|null}
   */
  #sess = null;
  /**
   * The page's frames the bridge has not confirmed, in order: `n` is the
   * frame's number in the session (null: not yet given to one).
   * @type {{n: number|null, f: Frame}[]}
   */
  #out = [];
  /** @type {Map<string, {to: string|undefined, resolve: Function, reject: Function, timer: any}>} */
  #iqs = new IQCalls();
  /** Bumped by connect and close, so that work of an older run stops. */
  #gen = 0;
  #retry = null;
  /** @type {Transport|null} the transport logging in, for close to stop */
  #opening = null;
  #status = 'offline';
  #reason = undefined;
  #jid = null;
  #transport = null;

  /**
   * @param {object} [options]
   * @param {string} [options.url] the API's base URL, relative to the page
   *   (default `/json`); `ws:`/`wss:` is derived for WebSocket
   * @param {string[]} [options.transports] which transports to try, in
   *   order (default all: `websocket`, `sse`, `poll`)
   * @param {number} [options.wait] long-poll wait in seconds (default 30;
   *   the bridge may lower it)
   * @param {number} [options.timeout] milliseconds a transport has to log
   *   in before the next is tried (default 20000)
   * @param {{min?: number, max?: number}} [options.backoff] reconnect
   *   delays in milliseconds (default 1000 to 30000)
   * @param {Storage|null} [options.storage] where the session's resume
   *   token and counts, and the transport that worked, are kept for the
   *   next page (default sessionStorage; null: nowhere). Never the password.
   * @param {boolean} [options.keepPassword] keep the password in memory to
   *   log in again when a session cannot be resumed (default false)
   * @param {() => Promise<Credentials|null>} [options.relogin] called when a
   *   session cannot be resumed and no password is kept: credentials for a
   *   new login (a fresh prebind token), or null to go offline
   * @param {typeof fetch} [options.fetch] for tests: replaces fetch
   * @param {typeof WebSocket} [options.WebSocket] for tests
   * @param {typeof EventSource} [options.EventSource] for tests
   * @param {Record<string, Function>} [options.transportClasses] for tests:
   *   replaces transports by name
   * @param {() => number} [options.random] for tests: replaces Math.random
   */
  constructor(options = {}) {
    super();
    const url = new URL(options.url ?? '/json', globalThis.location?.href);
    this.#base = url.href.replace(/\/+$/, '');
    this.#allowed = options.transports ?? [...TRANSPORTS];
    this.#classes = { websocket: WebSocketTransport, sse: SSETransport, poll: PollTransport, ...options.transportClasses };
    if (this.#allowed.length === 0) throw new TypeError('xmppbridge: no transports');
    for (const t of this.#allowed) {
      if (!this.#classes[t]) throw new TypeError(`xmppbridge: unknown transport ${t}`);
    }
    this.#env = {
      fetch: options.fetch ?? ((...args) => globalThis.fetch(...args)),
      WebSocket: options.WebSocket ?? globalThis.WebSocket,
      EventSource: options.EventSource ?? globalThis.EventSource,
      wait: options.wait ?? 30,
      timeout: options.timeout ?? 20000,
      backoff: options.backoff ?? {},
      random: options.random ?? Math.random,
    };
    this.#storage = options.storage !== undefined ? options.storage : defaultStorage();
    this.#keepPassword = options.keepPassword ?? false;
    this.#relogin = options.relogin ?? null;
  }

  /** @returns {'connecting'|'online'|'reconnecting'|'offline'} */
  get status() { return this.#status; }

  /** The bound full JID, or null before the first login. */
  get jid() { return this.#jid; }

  /** The transport of the session (`websocket`, `sse` or `poll`), or null. */
  get transport() { return this.#transport; }

  /**
   * The session a reload left in storage, which {@link Client#resume}
   * continues: its bound JID, or null when there is none.
   * @returns {{jid: string}|null}
   */
  get stored() {
    const s = this.#load();
    return s ? { jid: s.jid } : null;
  }

  /**
   * Logs in: tries the transports in order until one reaches the bridge.
   * @param {Credentials} creds
   * @returns {Promise<string>} the bound full JID
   * @throws {BridgeError} `not-authorized`, `bad-token`, … when the bridge
   *   refused; `unreachable` when no transport reached it
   */
  async connect(creds) {
    if (this.#status !== 'offline') throw new Error(`xmppbridge: connect while ${this.#status}`);
    if (!creds || (!creds.token && !creds.jid)) {
      throw new TypeError('xmppbridge: connect needs {jid, password} or {token}');
    }
    const gen = ++this.#gen;
    this.#keep(creds);
    this.#setStatus('connecting');
    try {
      await this.#login(gen, creds.token ? { kind: 'login', token: creds.token } : loginFrame(creds));
    } catch (err) {
      if (gen === this.#gen) this.#offline(err.code, err.text);
      throw err;
    }
    return this.#jid;
  }

  /**
   * Continues the session that storage holds (after a reload, or in a new
   * tab of the same session storage): the same bound JID, with every frame
   * the page had not yet received, and its own unconfirmed frames sent
   * again. When the bridge no longer has it, logs in again with `creds`
   * (or the `relogin` option) if given; the status then says
   * `resumed: false` and the reason.
   * @param {Credentials} [creds] for a new login if the session is gone
   * @returns {Promise<string>} the bound full JID
   * @throws {BridgeError} `item-not-found` when storage holds no session;
   *   the refusal (`bad-token`, `item-not-found`, …) when it is gone and
   *   there is no way to log in again; `unreachable`
   */
  async resume(creds) {
    if (this.#status !== 'offline') throw new Error(`xmppbridge: resume while ${this.#status}`);
    const s = this.#load();
    if (!s) throw new BridgeError('item-not-found', 'no stored session');
    const gen = ++this.#gen;
    if (creds) this.#keep(creds);
    this.#sess = s;
    this.#jid = s.jid;
    this.#out = s.out.map((f, i) => ({ n: s.acked.n + i + 1, f }));
    this.#setStatus('connecting');
    try {
      await this.#reconnect(gen);
    } catch (err) {
      if (gen === this.#gen) this.#offline(err.code, err.text);
      throw err;
    }
    return this.#jid;
  }

  /**
   * Sends a frame (a stanza as in docs/json.md). While the client is
   * (re)connecting the frame waits for the session. The frame is kept until
   * the bridge confirms it, and sent again after a resume if it was not.
   * @param {Frame} frame
   * @throws {BridgeError} `offline` when the client is not connected
   */
  send(frame) {
    if (!frame || typeof frame !== 'object' || typeof frame.kind !== 'string') {
      throw new TypeError('xmppbridge: a frame is an object with a string kind');
    }
    if (!this.#t && this.#status !== 'connecting' && this.#status !== 'reconnecting') {
      throw new BridgeError('offline', 'not connected');
    }
    const o = { n: null, f: frame };
    this.#out.push(o);
    if (this.#t && this.#sess) {
      o.n = ++this.#sess.sent;
      this.#t.send([frame]);
    }
    this.#save();
  }

  /**
   * Sends an iq and waits for its answer (the iq of the same id from the
   * address it went to). An `id` is added when the frame has none.
   * @param {Frame} frame an iq of type get or set
   * @param {number} [timeout] milliseconds (default 30000)
   * @returns {Promise<Frame>} the result iq
   * @throws {BridgeError} with the stanza error's condition as code (and
   *   the iq as frame), `timeout`, or `closed`
   */
  iq(frame, timeout = 30000) {
    return this.#iqs.call(frame, timeout, (req) => this.send(req));
  }

  /**
   * Ends the session: sends `close`, waits briefly for the bridge's answer,
   * and goes offline; storage forgets the session. Safe to call in any
   * status. A page that is only being reloaded or left for a while should
   * not call it (nor {@link Client#detach}): its session waits for it.
   * @returns {Promise<void>}
   */
  async close() {
    this.#gen++;
    clearTimeout(this.#retry);
    const t = this.#t;
    this.#t = null;
    this.#creds = null;
    this.#opening?.abort();
    this.#forget();
    if (t) await t.close();
    this.#offline('normal');
  }

  /**
   * Lets go of the connection without ending the session, which the
   * bridge keeps for its resume window: storage keeps what resumes it.
   * The client goes offline (reason `detached`).
   */
  detach() {
    this.#gen++;
    clearTimeout(this.#retry);
    const t = this.#t;
    this.#t = null;
    this.#opening?.abort();
    t?.abort();
    this.#save();
    this.#sess = null;
    this.#out = [];
    this.#offline('detached');
  }

  #keep(creds) {
    // A token is good for one login: a lost session then cannot come back
    // with it. A password is kept only when the page chose so, and only in
    // memory.
    this.#creds = creds.token || !this.#keepPassword ? null : { jid: creds.jid, password: creds.password, resource: creds.resource };
  }

  /**
   * Resumes the session on the first transport that reaches the bridge;
   * when the bridge says it is gone, logs in again if it may.
   */
  async #reconnect(gen) {
    const s = this.#sess;
    const resume = { kind: 'resume', token: s.token, last: s.last, h: s.h, acked: { ...s.acked } };
    try {
      await this.#login(gen, resume);
      return;
    } catch (err) {
      if (gen !== this.#gen || !RESUME_GONE.has(err.code)) throw err;
      this.#forget();
      const creds = this.#creds ?? (await this.#fresh());
      if (gen !== this.#gen) throw new BridgeError('closed', 'closed while logging in');
      if (!creds) throw err;
      const login = creds.token ? { kind: 'login', token: creds.token } : loginFrame(creds);
      await this.#login(gen, login, err.code);
    }
  }

  async #fresh() {
    if (!this.#relogin) return null;
    try {
      return (await this.#relogin()) ?? null;
    } catch {
      return null;
    }
  }

  /**
   * Logs in (or resumes) over the first transport that reaches the bridge.
   * `lost` is why a session could not be resumed, for the status.
   */
  async #login(gen, login, lost) {
    let last;
    const resuming = login.kind === 'resume';
    for (const name of transportOrder(this.#allowed, this.#remembered())) {
      const t = new this.#classes[name](this.#base, this.#env);
      if (resuming) t.inbox.last = this.#sess.last;
      t.handlers = {
        frame: (f, n) => this.#frame(t, f, n),
        acked: (a) => this.#acked(t, a),
        refused: (frames) => this.#refused(t, frames),
        state: (s) => this.#state(t, s),
        end: (code, text) => this.#end(t, code, text),
      };
      let session;
      this.#opening = t;
      try {
        session = await t.open(login);
      } catch (err) {
        t.abort();
        if (err.refused || gen !== this.#gen) throw err;
        last = err;
        continue;
      } finally {
        if (this.#opening === t) this.#opening = null;
      }
      if (gen !== this.#gen) {
        t.abort();
        throw new BridgeError('closed', 'closed while logging in');
      }
      this.#t = t;
      this.#jid = session.jid;
      this.#transport = name;
      this.#remember(name);
      let resend;
      if (session.kind === 'resumed') {
        const s = this.#sess;
        s.token = session.token ?? s.token;
        if (Number.isFinite(session.resume_window)) s.window = session.resume_window;
        // Exactly the frames after what the bridge took go again.
        const received = Number(session.received) || 0;
        this.#out = this.#out.filter((o) => o.n === null || o.n > received);
        s.sent = received;
        if (session.acked) s.acked = { n: session.acked.n, h: session.acked.h };
        resend = this.#out;
      } else {
        // A new session: it counts from the start, and what waited for it
        // goes in it. What the lost session had not confirmed may or may
        // not have reached the server: it is not sent twice, and the
        // status (resumed: false) tells the page.
        this.#sess = { token: session.token ?? null, window: session.resume_window ?? 0, jid: session.jid, last: 0, h: 0, acked: { n: 0, h: 0 }, sent: 0 };
        this.#out = this.#out.filter((o) => o.n === null);
        resend = this.#out;
      }
      this.#sess.jid = session.jid;
      for (const o of resend) o.n = ++this.#sess.sent;
      this.#save();
      const more = { resumed: resuming };
      if (lost) more.reason = lost;
      this.#setStatus('online', more);
      t.start();
      if (resend.length > 0 && this.#t === t) t.send(resend.map((o) => o.f));
      return;
    }
    throw unreachable(`no transport reached ${this.#base}${last ? ` (${last.text || last.code})` : ''}`);
  }

  /** After a lost connection: resumes, or logs in again, with backoff, while it may. */
  #retryLater(gen, attempt) {
    const delay = backoff(attempt, this.#env.backoff, this.#env.random);
    this.#retry = setTimeout(async () => {
      if (gen !== this.#gen) return;
      try {
        if (this.#sess?.token) await this.#reconnect(gen);
        else await this.#login(gen, loginFrame(this.#creds));
      } catch (err) {
        if (gen !== this.#gen) return;
        if (FINAL_CODES.has(err.code) || RESUME_GONE.has(err.code) || (!this.#sess?.token && !this.#creds)) {
          this.#offline(err.code, err.text);
        } else {
          this.#retryLater(gen, attempt + 1);
        }
      }
    }, delay);
  }

  #frame(t, f, n) {
    if (t !== this.#t) return;
    if (Number.isSafeInteger(n) && this.#sess) {
      if (n <= this.#sess.last) return; // had it before a resume
      this.#sess.last = n;
      if (isServerStanza(f)) this.#sess.h++;
      this.#save();
    }
    if (f.kind === 'error') {
      this.dispatchEvent(new CustomEvent('error', { detail: f }));
      return;
    }
    if (!STANZA_KINDS.has(f.kind)) return;
    if (f.kind === 'iq' && (f.type === 'result' || f.type === 'error')) this.#iqs.answer(f, this.#jid);
    this.dispatchEvent(new CustomEvent('stanza', { detail: f }));
    if (f.kind !== 'element') this.dispatchEvent(new CustomEvent(f.kind, { detail: f }));
  }

  /** The bridge confirmed the page's frames up to a.n: they need not go again. */
  #acked(t, a) {
    if (t !== this.#t || !this.#sess || !a || !Number.isSafeInteger(a.n)) return;
    if (a.n < this.#sess.acked.n) return;
    this.#sess.acked = { n: a.n, h: Number(a.h) || 0 };
    this.#out = this.#out.filter((o) => o.n === null || o.n > a.n);
    this.#save();
  }

  /**
   * The bridge refused a request before taking it, frames and all (too
   * large, say): they are not in its count, so neither are they in the
   * page's, and they are not sent again.
   */
  #refused(t, frames) {
    if (t !== this.#t || !this.#sess || !Array.isArray(frames)) return;
    const gone = new Set(frames);
    let dropped = 0;
    this.#out = this.#out.filter((o) => {
      if (!gone.has(o.f)) {
        if (o.n !== null) o.n -= dropped;
        return true;
      }
      if (o.n !== null) dropped++;
      return false;
    });
    this.#sess.sent -= dropped;
    this.#save();
  }

  #state(t, s) {
    if (t !== this.#t) return;
    if (s === 'online') this.#setStatus('online', { resumed: true });
    else this.#setStatus('reconnecting', { reason: 'network' });
  }

  #end(t, code, text) {
    if (t !== this.#t) return;
    this.#t = null;
    t.abort();
    if (FINAL_CODES.has(code) || (!this.#sess?.token && !this.#creds)) {
      this.#forget();
      this.#offline(code, text);
      return;
    }
    this.#setStatus('reconnecting', { reason: code, text });
    this.#retryLater(this.#gen, 0);
  }

  #offline(reason, text) {
    this.#creds = null;
    this.#out = [];
    this.#sess = null;
    this.#iqs.rejectAll();
    if (this.#status !== 'offline') this.#setStatus('offline', { reason, text });
  }

  #setStatus(status, more = {}) {
    if (status === this.#status && more.reason === this.#reason && status !== 'online') return;
    this.#status = status;
    this.#reason = more.reason;
    const detail = { status, transport: this.#transport, jid: this.#jid, ...more };
    this.dispatchEvent(new CustomEvent('status', { detail }));
  }

  get #sessionKey() {
    return `xmppbridge.session ${this.#base}`;
  }

  /** Writes what resumes the session to storage (nothing without a token). */
  #save() {
    const s = this.#sess;
    if (!s?.token) return;
    const stored = { v: 1, token: s.token, jid: s.jid, last: s.last, h: s.h, acked: s.acked, out: this.#out.map((o) => o.f) };
    try {
      this.#storage?.setItem(this.#sessionKey, JSON.stringify(stored));
    } catch {
      // Storage full or forbidden: a reload logs in again.
    }
  }

  /** @returns {SessionState|null} the stored session, if any */
  #load() {
    let s;
    try {
      s = JSON.parse(this.#storage?.getItem(this.#sessionKey) ?? 'null');
    } catch {
      return null;
    }
    if (!s || s.v !== 1 || typeof s.token !== 'string' || typeof s.jid !== 'string') return null;
    const num = (x) => (Number.isSafeInteger(x) && x >= 0 ? x : 0);
    const acked = { n: num(s.acked?.n), h: num(s.acked?.h) };
    const out = Array.isArray(s.out) ? s.out.filter((f) => f && typeof f.kind === 'string') : [];
    return { token: s.token, window: 0, jid: s.jid, last: num(s.last), h: num(s.h), acked, sent: acked.n, out };
  }

  #forget() {
    try {
      this.#storage?.removeItem?.(this.#sessionKey);
    } catch {
      // nothing to forget
    }
  }

  #remembered() {
    try {
      return this.#storage?.getItem(`xmppbridge.transport ${this.#base}`) ?? null;
    } catch {
      return null;
    }
  }

  #remember(name) {
    try {
      this.#storage?.setItem(`xmppbridge.transport ${this.#base}`, name);
    } catch {
      // Storage full or forbidden: the order stays the default.
    }
  }
}

/**
 * @typedef {object} SessionState
 * What resumes a session: its token, the number of the latest frame the
 * page has (`last`), the server's stanzas among them (`h`), the latest
 * confirmation of the page's own frames (`acked`), and how many frames
 * the page has sent in it (`sent`).
 * @property {string|null} token
 * @property {number} window
 * @property {string} jid
 * @property {number} last
 * @property {number} h
 * @property {{n: number, h: number}} acked
 * @property {number} sent
 * @property {Frame[]} [out] stored unconfirmed frames, when loaded
 */

/** The iq calls of a page awaiting their answers, by id. */
class IQCalls {
  #calls = new Map();

  /**
   * Sends an iq with send and returns the promise of its answer; an `id`
   * is added when the frame has none.
   */
  call(frame, timeout, send) {
    const req = { ...frame, kind: 'iq', id: frame.id ?? newID() };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#calls.delete(req.id);
        reject(new BridgeError('timeout', `no answer to iq ${req.id} within ${timeout} ms`));
      }, timeout);
      this.#calls.set(req.id, { to: req.to, resolve, reject, timer });
      try {
        send(req);
      } catch (err) {
        clearTimeout(timer);
        this.#calls.delete(req.id);
        reject(err);
      }
    });
  }

  /** Settles the call that f, an iq result or error, answers, if any. */
  answer(f, jid) {
    const call = this.#calls.get(f.id);
    if (!call) return;
    // Only the addressee answers (RFC 6120 §8.1.2.1): with no `to`, the
    // user's own account, which may leave `from` out.
    const me = bare(jid);
    if ((lower(f.from) || me) !== (lower(call.to) || me)) return;
    this.#calls.delete(f.id);
    clearTimeout(call.timer);
    if (f.type === 'result') call.resolve(f);
    else call.reject(new BridgeError(f.error?.condition ?? 'undefined-condition', f.error?.text ?? '', { type: f.error?.type, frame: f }));
  }

  /** Rejects every call waiting: the session went offline. */
  rejectAll() {
    for (const [id, call] of this.#calls) {
      clearTimeout(call.timer);
      call.reject(new BridgeError('closed', `offline before iq ${id} was answered`));
    }
    this.#calls.clear();
  }
}

function loginFrame({ jid, password, resource }) {
  const f = { kind: 'login', jid, password };
  if (resource) f.resource = resource;
  return f;
}

function defaultStorage() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // a sandboxed frame may not touch it
  }
}

function lower(s) {
  return (s ?? '').toLowerCase();
}

/** The bare JID of a JID, lower-cased. */
function bare(jid) {
  return lower(jid).split('/')[0];
}

/** A random id for stanzas. */
export function newID() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function parse(text) {
  try {
    const f = JSON.parse(text);
    return f && typeof f === 'object' && typeof f.kind === 'string' ? f : null;
  } catch {
    return null;
  }
}

/**
 * Whether a post goes with `keepalive`, which lets it outlive the page: only
 * the one that ends the session (its last frame is the close), and only
 * when it is small (KEEPALIVE_MAX).
 */
function keepaliveFor(body, json) {
  if (body?.frames?.at(-1)?.kind !== 'close') return false;
  return json.length <= KEEPALIVE_MAX && new TextEncoder().encode(json).length <= KEEPALIVE_MAX;
}

/** A first request id: random, with room to grow below 2^52. */
function firstRid(random) {
  return Math.floor(random() * 2 ** 40) + 1;
}

/**
 * What every transport has: the login handshake, delivery of frames to the
 * client in order once it has called start, and the end of the session.
 *
 * A subclass implements open(login) (send the login, return this.opened),
 * send(frames), close() and release() (let go of sockets and requests).
 */
class Transport {
  /** Set by the client before open. */
  handlers = { frame() {}, acked() {}, refused() {}, state() {}, end() {} };
  inbox = new Inbox();
  /** @type {Promise<Frame>} resolves with the session frame */
  opened;
  /** @type {Promise<void>} resolves when the session is over */
  whenOver;
  #openSettle;
  #overResolve;
  #session = null;
  #started = false;
  #over = false;
  #pending = [];
  #timers = new Set();
  #openTimer;

  constructor(base, env) {
    this.base = base;
    this.env = env;
    this.opened = new Promise((resolve, reject) => { this.#openSettle = { resolve, reject }; });
    this.opened.catch(() => {});
    this.whenOver = new Promise((resolve) => { this.#overResolve = resolve; });
    this.#openTimer = this.later(env.timeout, () => this.fail(new BridgeError('timeout', `no session within ${env.timeout} ms`)));
  }

  get over() { return this.#over; }
  get started() { return this.#started; }
  get hasSession() { return this.#session !== null; }

  /** Lets frames through to the client; until then they wait. */
  start() {
    this.#started = true;
    this.#flush();
  }

  /**
   * One frame down, in the bridge's order; n is its number in the session
   * (absent for frames outside the count: `resumed`, refusals).
   */
  deliver(f, n) {
    if (this.#over) return;
    if (!this.#session) {
      if (f.kind === 'session' || f.kind === 'resumed') {
        this.#session = f;
        clearTimeout(this.#openTimer);
        this.#timers.delete(this.#openTimer);
        this.#openSettle.resolve(f);
      } else if (f.kind === 'error' || f.kind === 'close') {
        // A login the bridge refused: the close that follows adds nothing.
        this.fail(refusal(f));
      } else {
        this.#pending.push([f, n]);
      }
      if (f.kind === 'session') this.#pending.push([f, n]);
      return;
    }
    if (f.kind === 'close') this.#finish();
    this.#pending.push([f, n]);
    this.#flush();
  }

  /** The bridge confirmed the page's frames: {n, h}. */
  acked(a) {
    if (this.#started && !this.#over && a && typeof a === 'object') this.handlers.acked(a);
  }

  /** The session ended without a close frame (expired, connection lost). */
  lose(code, text) {
    if (this.#over) return;
    this.#finish();
    this.#pending.push([{ kind: 'close', code, text }]);
    this.#flush();
  }

  /** Before the session: the login failed. After it: lose. */
  fail(err) {
    if (this.#session) {
      this.lose(err.code, err.text);
      return;
    }
    if (this.#over) return;
    this.#finish();
    this.#openSettle.reject(err);
  }

  /** Tells the client the connection dropped ('reconnecting') or is back ('online'). */
  state(s) {
    if (this.#started && !this.#over) this.handlers.state(s);
  }

  /** Drops everything without a word to the bridge. */
  abort() {
    this.#pending = [];
    this.#finish();
    this.#openSettle.reject(new BridgeError('closed', 'aborted'));
  }

  /** Runs fn after ms unless the transport is over first. */
  later(ms, fn) {
    if (this.#over) return null;
    const id = setTimeout(() => {
      this.#timers.delete(id);
      fn();
    }, ms);
    this.#timers.add(id);
    return id;
  }

  /** Cancels what later(ms, fn) returned id for (null: nothing). */
  cancel(id) {
    if (id === null || id === undefined) return;
    clearTimeout(id);
    this.#timers.delete(id);
  }

  /** A promise of a pause of ms; never settles once aborted. */
  sleep(ms) {
    return new Promise((resolve) => this.later(ms, resolve));
  }

  /** Waits for the close frame, at most CLOSE_WAIT. */
  async closeWait() {
    if (this.#over) return;
    await Promise.race([this.whenOver, this.sleep(CLOSE_WAIT)]);
  }

  #finish() {
    if (this.#over) return;
    this.#over = true;
    this.#overResolve();
    for (const id of this.#timers) clearTimeout(id);
    this.#timers.clear();
    this.release();
  }

  #flush() {
    if (!this.#started) return;
    for (const [f, n] of this.#pending.splice(0)) {
      if (f.kind === 'close') this.handlers.end(f.code ?? 'normal', f.text);
      else this.handlers.frame(f, n);
    }
  }

  release() {}
}

/**
 * JSON over one WebSocket, one frame per text message. Frames down carry
 * no number: the session frame is 1 (after a resume, the resumed frame
 * says the first), each frame after it the next, and the page acknowledges
 * them with up ack frames.
 */
class WebSocketTransport extends Transport {
  #ws = null;
  #acked = 0;
  #ackTimer = null;

  open(login) {
    const url = new URL(`${this.base}/ws`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new this.env.WebSocket(url.href, PROTOCOL);
    } catch (err) {
      this.fail(unreachable(String(err?.message ?? err)));
      return this.opened;
    }
    this.#ws = ws;
    ws.onopen = () => ws.send(JSON.stringify(login));
    ws.onmessage = (e) => {
      const f = parse(e.data);
      if (f) this.#down(f);
    };
    ws.onclose = (e) => {
      this.#ws = null;
      if (this.hasSession) this.lose('connection-lost', `WebSocket closed with code ${e.code}`);
      else this.fail(unreachable(`WebSocket closed with code ${e.code}`));
    };
    return this.opened;
  }

  #down(f) {
    if (f.kind === 'ack') {
      this.acked(f);
      return;
    }
    if (!this.hasSession) {
      if (f.kind === 'session') this.inbox.last = 1;
      else if (f.kind === 'resumed' && Number.isSafeInteger(f.first)) this.inbox.last = f.first - 1;
      this.deliver(f, f.kind === 'session' ? 1 : undefined);
      return;
    }
    if (f.kind === 'error' && f.code === 'conflict' && !f.stanza) {
      // Another connection resumed the session: this one is let go.
      this.lose('conflict', f.text);
      return;
    }
    if (f.kind === 'close') {
      this.deliver(f);
      return;
    }
    this.deliver(f, ++this.inbox.last);
    this.#ackSoon();
  }

  #ackSoon() {
    if (this.#ackTimer !== null) return;
    this.#ackTimer = this.later(WS_ACK_DELAY, () => {
      this.#ackTimer = null;
      const n = this.inbox.last;
      if (n > this.#acked && this.#ws?.readyState === 1) {
        this.#acked = n;
        this.#ws.send(JSON.stringify({ kind: 'ack', n }));
      }
    });
  }

  send(frames) {
    // Frames sent into a closing socket are kept by the client until the
    // bridge confirms them, and go again after a resume.
    if (this.#ws?.readyState !== 1) return;
    for (const f of frames) this.#ws.send(JSON.stringify(f));
  }

  async close() {
    if (!this.over && this.#ws?.readyState === 1) {
      this.#ws.send(JSON.stringify({ kind: 'close' }));
      await this.closeWait();
    }
    this.abort();
  }

  release() {
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
  }
}

/** Base for the HTTP transports: JSON POSTs that can be cut off. */
class HTTPTransport extends Transport {
  sid = null;
  rid;
  #controllers = new Set();

  constructor(base, env) {
    super(base, env);
    this.rid = firstRid(env.random);
  }

  /**
   * POSTs body as JSON. Resolves with the status and the JSON answer (null
   * when it is not JSON); rejects when no answer came (network, timeout,
   * aborted). `controller` lets the caller abort this one request;
   * `untracked`, that aborting the transport does not.
   */
  async post(path, body, timeout, { untracked = false, controller: ctl = new AbortController() } = {}) {
    if (!untracked) this.#controllers.add(ctl);
    const timer = setTimeout(() => ctl.abort(), timeout);
    try {
      const text = JSON.stringify(body);
      const res = await this.env.fetch(`${this.base}/${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: text,
        signal: ctl.signal,
        cache: 'no-store',
        keepalive: keepaliveFor(body, text),
      });
      let json = null;
      try {
        json = await res.json();
      } catch {
        // not JSON: a proxy's page, or a cut body
      }
      return { status: res.status, json };
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(ctl);
    }
  }

  /**
   * Reads the answer to the login request (null: none came). Returns
   * whether the session is up; if not, the login has failed.
   */
  loginAnswer(res) {
    const json = res?.json;
    if (json?.kind === 'error') {
      this.fail(refusal(json)); // the bridge's own answer: 401, 502, …
    } else if (res?.status !== 200 || typeof json?.sid !== 'string') {
      this.fail(unreachable(res ? `HTTP ${res.status} from ${this.base}` : `no answer from ${this.base}`));
    } else {
      this.sid = json.sid;
      // A resume: the resumed frame, then the frames after the page's last.
      if (json.resumed && typeof json.resumed === 'object') this.deliver({ ...json.resumed, kind: 'resumed', sid: json.sid });
      this.take(json);
    }
    return !this.over;
  }

  /**
   * What the answer to a request of the session means (res null: none
   * came): 'ok', taken; 'again', lost or not the bridge's, so the same
   * request goes again with the same rid; 'reorder', not taken because
   * the requests before it did not reach the bridge in time
   * (`out-of-order`), so those go again and then this one, unchanged;
   * 'refused', refused before its rid was taken (the error frame is
   * delivered), so the rid goes again without the frames; 'ended', the
   * session is over.
   */
  verdict(res) {
    const json = res?.json;
    if (res?.status === 200 && json && typeof json === 'object' && json.kind === undefined) return 'ok';
    if (json?.kind !== 'error' || res.status >= 500) return 'again';
    if (json.code === 'out-of-order') return 'reorder';
    if (json.code === 'item-not-found' || json.code === 'bad-request') {
      this.lose(json.code, json.text);
      return 'ended';
    }
    this.deliver(json);
    return 'refused';
  }

  /** Delivers the frames of an answer that are new to the page, and what it confirms. */
  take(json) {
    const frames = this.inbox.accept(json.first, json.frames);
    const n0 = this.inbox.last - frames.length + 1;
    frames.forEach((f, i) => this.deliver(f, n0 + i));
    if (json.acked) this.acked(json.acked);
  }

  release() {
    for (const ctl of this.#controllers) ctl.abort();
    this.#controllers.clear();
  }
}

/**
 * @typedef {object} PollRequest
 * One long-poll request until its answer is taken.
 * @property {{sid: string, rid: number, ack: number, frames?: Frame[]}} body
 * @property {number} failures how often it went again after a failure
 * @property {AbortController|null} ctl of the post in flight
 * @property {any} timer of the wait before it goes again
 */

/**
 * Long-polling: every request is POST /poll; one is kept open at all times
 * and frames up go in a new one, with the next rid.
 */
class PollTransport extends HTTPTransport {
  #wait;
  #requests = 2;
  /** @type {Map<number, PollRequest>} requests without an answer yet, by rid */
  #inflight = new Map();
  #failing = new Set();
  #outbox = [];
  /** Answers that came before an earlier one, by rid: taken in rid order. */
  #answers = new Map();
  #nextAnswer = 0;

  constructor(base, env) {
    super(base, env);
    this.#wait = env.wait;
  }

  open(login) {
    const body = { rid: this.rid++, wait: this.#wait, frames: [login] };
    this.#nextAnswer = this.rid;
    this.post('poll', body, this.env.timeout).then(
      (res) => this.#loggedIn(res),
      () => this.#loggedIn(null),
    );
    return this.opened;
  }

  #loggedIn(res) {
    if (this.over || !this.loginAnswer(res)) return;
    if (Number.isFinite(res.json.wait)) this.#wait = res.json.wait;
    if (Number.isSafeInteger(res.json.requests) && res.json.requests > 0) this.#requests = res.json.requests;
    this.#pump();
  }

  send(frames) {
    this.#outbox.push(...frames);
    this.#pump();
  }

  async close() {
    if (!this.over && this.sid) {
      this.send([{ kind: 'close' }]);
      await this.closeWait();
    }
    this.abort();
  }

  /** Sends what waits, keeping one request open and at most `requests`. */
  #pump() {
    if (this.over || !this.sid) return;
    while (this.#inflight.size < this.#requests) {
      if (this.#inflight.size > 0 && this.#outbox.length === 0) return;
      const body = { sid: this.sid, rid: this.rid++, ack: this.inbox.last };
      if (this.#outbox.length > 0) body.frames = this.#outbox.splice(0);
      this.#request({ body, failures: 0, ctl: null, timer: null });
    }
  }

  /** Posts req, or posts it again: the newest post of a request is the one whose answer counts. */
  async #request(req) {
    const { rid } = req.body;
    this.#inflight.set(rid, req);
    this.cancel(req.timer);
    req.timer = null;
    const ctl = new AbortController();
    req.ctl = ctl;
    const started = Date.now();
    let res = null;
    try {
      res = await this.post('poll', req.body, (this.#wait + 10) * 1000, { controller: ctl });
    } catch {
      // no answer: repeated below
    }
    if (this.over || req.ctl !== ctl) return; // over, or posted again meanwhile
    req.ctl = null;
    switch (this.verdict(res)) {
      case 'ended':
        return;
      case 'refused':
        if (!req.body.frames) {
          this.lose(res.json.code, res.json.text);
          return;
        }
        this.handlers.refused(req.body.frames);
        req.body = { sid: req.body.sid, rid, ack: req.body.ack };
        this.#request(req);
        return;
      case 'reorder':
        this.#reorder(req);
        return;
      case 'again':
        // The same request again, with the same rid: the bridge answers it
        // again (from its ack) without taking its frames twice.
        if (this.#failing.size === 0) this.state('reconnecting');
        this.#failing.add(rid);
        req.timer = this.later(backoff(req.failures++, this.env.backoff, this.env.random), () => this.#request(req));
        return;
    }
    this.#inflight.delete(rid);
    if (this.#failing.delete(rid) && this.#failing.size === 0) this.state('online');
    // Answers can overtake each other on the way: they are taken in rid
    // order, and the inbox puts frames that still come out of order (the
    // bridge may answer held requests the other way round) back in order.
    this.#answers.set(rid, res.json);
    while (this.#answers.has(this.#nextAnswer) && !this.over) {
      const json = this.#answers.get(this.#nextAnswer);
      this.#answers.delete(this.#nextAnswer++);
      this.take(json);
    }
    const empty = !res.json.frames?.length;
    if (empty && this.#inflight.size === 0 && Date.now() - started < MIN_POLL_INTERVAL) {
      // A bridge that does not hold requests: poll, do not spin.
      this.later(MIN_POLL_INTERVAL, () => this.#pump());
    } else {
      this.#pump();
    }
  }

  /**
   * The bridge did not take req: the requests before it did not reach it in
   * time. Those still without an answer go again at once, in rid order (a
   * post still in flight is cut off: if the bridge took it after all, the
   * new post is a repeat, answered from its ack), and req goes after them,
   * unchanged, after a backoff.
   */
  #reorder(req) {
    const earlier = [...this.#inflight.values()]
      .filter((o) => o.body.rid < req.body.rid)
      .sort((a, b) => a.body.rid - b.body.rid);
    for (const o of earlier) {
      o.ctl?.abort();
      this.#request(o);
    }
    req.timer = this.later(backoff(req.failures++, this.env.backoff, this.env.random), () => this.#request(req));
  }
}

/**
 * Server-Sent Events: frames down as events of GET /events, frames up (and
 * acks) in POST /send, one at a time, in rid order.
 */
class SSETransport extends HTTPTransport {
  #es = null;
  #esOpen = false;
  #esEverOpen = false;
  #esFailures = 0;
  #healthy = true;
  #outbox = [];
  #posting = false;
  #postFailing = false;
  #acked = 0;
  #ackDue = false;
  #ackTimer = null;
  #probe = false;
  #firstOpen;

  constructor(base, env) {
    super(base, env);
    this.#firstOpen = {};
    this.#firstOpen.promise = new Promise((resolve, reject) => Object.assign(this.#firstOpen, { resolve, reject }));
    this.#firstOpen.promise.catch(() => {});
  }

  async open(login) {
    this.#outbox.push(login);
    this.#flushPosts();
    const session = await this.opened;
    try {
      // A network that lets POSTs through but not event streams is one the
      // next transport may serve.
      await this.#firstOpen.promise;
    } catch (err) {
      // Ends the session that has no use now; abort does not cut this post.
      const bye = { sid: this.sid, rid: this.rid++, frames: [{ kind: 'close' }] };
      this.post('send', bye, CLOSE_WAIT, { untracked: true }).catch(() => {});
      throw err;
    }
    return session;
  }

  send(frames) {
    this.#outbox.push(...frames);
    this.#flushPosts();
  }

  async close() {
    if (!this.over && this.sid) {
      this.send([{ kind: 'close' }]);
      await this.closeWait();
    }
    this.abort();
  }

  release() {
    super.release();
    this.#es?.close();
    this.#es = null;
  }

  #openEvents() {
    const url = new URL(`${this.base}/events`);
    url.searchParams.set('sid', this.sid);
    // Always our own count, never EventSource's Last-Event-ID: the events
    // stream is reopened by hand, after the backoff.
    url.searchParams.set('last', String(this.inbox.last));
    let es;
    try {
      es = new this.env.EventSource(url.href);
    } catch (err) {
      this.#firstOpen.reject(unreachable(String(err?.message ?? err)));
      return;
    }
    this.#es = es;
    es.onopen = () => {
      if (es !== this.#es) return;
      this.#esOpen = true;
      this.#esEverOpen = true;
      this.#esFailures = 0;
      this.#firstOpen.resolve();
      this.#health();
    };
    es.onmessage = (e) => {
      if (es !== this.#es || this.over) return;
      const n = Number(e.lastEventId);
      const f = parse(e.data);
      if (!f || !Number.isSafeInteger(n)) return;
      this.take({ first: n, frames: [f] });
      if (this.inbox.gap) this.#reopen(); // something went missing: from what we have
      else this.#ackSoon();
    };
    es.onerror = () => {
      if (es === this.#es && !this.over) this.#reopen();
    };
  }

  /** Closes the events stream and opens another after the backoff. */
  #reopen() {
    this.#es?.close();
    this.#esOpen = false;
    if (!this.#esEverOpen) {
      this.#firstOpen.reject(unreachable('the event stream failed'));
      return;
    }
    this.#health();
    // A post tells whether the session is still there (404 ends it).
    this.#probe = true;
    this.#ackDue = true;
    this.#flushPosts();
    this.later(backoff(this.#esFailures++, this.env.backoff, this.env.random), () => this.#openEvents());
  }

  #ackSoon() {
    const unacked = this.inbox.last - this.#acked;
    if (unacked >= ACK_EVERY) {
      this.#ackDue = true;
      this.#flushPosts();
    } else if (unacked > 0 && this.#ackTimer === null) {
      this.#ackTimer = this.later(ACK_DELAY, () => {
        this.#ackTimer = null;
        this.#ackDue = true;
        this.#flushPosts();
      });
    }
  }

  /** Posts what waits, one request at a time, each with the next rid. */
  async #flushPosts() {
    if (this.#posting || this.over) return;
    const ack = this.sid !== null && this.#ackDue && (this.#probe || this.inbox.last > this.#acked);
    if (this.#outbox.length === 0 && !ack) return;
    this.#posting = true;
    this.#ackDue = this.#probe = false;
    const body = { rid: this.rid++ };
    if (this.sid !== null) {
      body.sid = this.sid;
      body.ack = this.inbox.last;
    }
    if (this.#outbox.length > 0) body.frames = this.#outbox.splice(0);
    for (let failures = 0; ;) {
      let res = null;
      try {
        res = await this.post('send', body, this.env.timeout);
      } catch {
        // no answer: repeated below
      }
      if (this.over) return;
      if (!body.sid) {
        // The login.
        if (!this.loginAnswer(res)) return;
        this.#openEvents();
        this.later(this.env.timeout, () => this.#firstOpen.reject(new BridgeError('timeout', 'the event stream did not open')));
        break;
      }
      const v = this.verdict(res);
      if (v === 'ended') return;
      if (v === 'ok') {
        this.take(res.json);
        break;
      }
      if (v === 'refused') {
        if (!body.frames) {
          this.lose(res.json.code, res.json.text);
          return;
        }
        this.handlers.refused(body.frames);
        delete body.frames; // the rid again, without what the bridge refused
        continue;
      }
      // No answer ('again'), or not taken for want of an earlier post
      // ('reorder': posts go one at a time, so there is none to send
      // first): the same post again, with the same rid; the bridge answers
      // a repeat without sending its frames twice.
      if (!this.#postFailing) {
        this.#postFailing = true;
        this.#health();
      }
      await this.sleep(backoff(failures++, this.env.backoff, this.env.random));
      if (this.over) return;
    }
    if (this.over) return;
    if (body.ack !== undefined) this.#acked = Math.max(this.#acked, body.ack);
    if (this.#postFailing) {
      this.#postFailing = false;
      this.#health();
    }
    this.#posting = false;
    this.#flushPosts();
  }

  /** Tells the client when the stream or the posts fail, and when both work again. */
  #health() {
    const healthy = this.#esOpen && !this.#postFailing;
    if (healthy === this.#healthy) return;
    this.#healthy = healthy;
    this.state(healthy ? 'online' : 'reconnecting');
  }
}

// ------------------------------------------------------------ tabs

/** How long a new tab waits for the leader tab to say what the session is. */
const HELLO_WAIT = 2000;
/** How long a tab that got the lock lets the old leader's last words arrive. */
const TAKEOVER_SETTLE = 50;

/**
 * One session for every tab of a browser on one origin: one connection to
 * the bridge and one upstream resource, whatever the number of tabs.
 *
 * One tab, the leader, holds a Web Lock for the API's URL and the
 * connection (a {@link Client}); the others follow over a
 * BroadcastChannel: they see every frame in, every frame any tab sent
 * (`sent` events), and the status; what they send goes through the
 * leader. The leader's client writes what resumes the session to storage
 * and every follower keeps a copy in its own, in order before the frames
 * it covers; so when the leader tab closes or reloads, the next tab in the
 * lock's queue becomes leader and resumes the session from exactly what it
 * has shown: nothing lost, nothing twice.
 *
 * The surface is the Client's (status, jid, transport, connect, resume by
 * {@link SharedClient#start}, send, iq, close, detach and the same events),
 * plus `leader` and the `sent` event (`detail.frame`, `detail.own`: sent
 * by this tab). Only the leader tab should answer the server's requests
 * (iq gets, receipts), or every tab would.
 */
export class SharedClient extends EventTarget {
  #options;
  #base;
  #storage;
  #channel;
  #locks;
  #lockName;
  #tab = newID();
  /** @type {'idle'|'leader'|'follower'} */
  #role = 'idle';
  /** @type {Client|null} the leader's connection */
  #client = null;
  #release = null;
  #queued = null;
  #status = 'offline';
  #jid = null;
  #transport = null;
  #iqs = new IQCalls();
  /** A follower's frames no leader has taken yet, by id. */
  #pending = new Map();
  #hello = null;

  /**
   * @param {object} [options] as for {@link Client}, and for tests:
   * @param {typeof BroadcastChannel} [options.BroadcastChannel]
   * @param {LockManager} [options.locks] replaces navigator.locks
   */
  constructor(options = {}) {
    super();
    const url = new URL(options.url ?? '/json', globalThis.location?.href);
    this.#base = url.href.replace(/\/+$/, '');
    this.#options = options;
    this.#storage = options.storage !== undefined ? options.storage : defaultStorage();
    const BC = options.BroadcastChannel ?? globalThis.BroadcastChannel;
    this.#locks = options.locks ?? globalThis.navigator?.locks;
    if (!BC || !this.#locks) throw new TypeError('xmppbridge: SharedClient needs BroadcastChannel and Web Locks');
    this.#channel = new BC(`xmppbridge ${this.#base}`);
    this.#channel.onmessage = (e) => this.#onMessage(e.data);
    this.#lockName = `xmppbridge leader ${this.#base}`;
  }

  /** Whether this browser has what SharedClient needs. */
  static get supported() {
    return typeof globalThis.BroadcastChannel === 'function' && !!globalThis.navigator?.locks;
  }

  get status() { return this.#status; }
  get jid() { return this.#jid; }
  get transport() { return this.#transport; }
  /** Whether this tab holds the connection. */
  get leader() { return this.#role === 'leader'; }

  /**
   * Joins the session of the other tabs, or resumes the one this tab's
   * storage holds (after a reload). Resolves with the bound JID, or null
   * when there is no session: then the page logs in with connect.
   * @returns {Promise<string|null>}
   */
  async start() {
    if (await this.#leaderExists()) {
      this.#follow();
      const hello = new Promise((resolve) => { this.#hello = resolve; });
      this.#post({ type: 'hello', tab: this.#tab });
      await Promise.race([hello, new Promise((r) => setTimeout(r, HELLO_WAIT))]);
      this.#hello = null;
      return this.#status === 'offline' ? null : this.#jid;
    }
    const probe = new Client({ ...this.#options, storage: this.#storage });
    if (!probe.stored) return null;
    if (!(await this.#leadNow())) return this.start();
    try {
      return await this.#lead().resume();
    } catch (err) {
      this.#abdicate();
      throw err;
    }
  }

  /**
   * Logs in, from a tab with no session: this tab becomes the leader.
   * @param {Credentials} creds
   * @returns {Promise<string>}
   */
  async connect(creds) {
    if (this.#role !== 'idle') throw new Error(`xmppbridge: connect while ${this.#role}`);
    if (!(await this.#leadNow())) throw new BridgeError('conflict', 'another tab holds the session');
    try {
      return await this.#lead().connect(creds);
    } catch (err) {
      this.#abdicate();
      throw err;
    }
  }

  /**
   * Sends a frame through the leader tab; every tab gets a `sent` event.
   * @param {Frame} frame
   */
  send(frame) {
    if (!frame || typeof frame !== 'object' || typeof frame.kind !== 'string') {
      throw new TypeError('xmppbridge: a frame is an object with a string kind');
    }
    if (this.#role === 'leader') {
      this.#client.send(frame);
      this.#sent(frame, this.#tab, null);
      return;
    }
    if (this.#role === 'idle') throw new BridgeError('offline', 'not connected');
    const id = newID();
    this.#pending.set(id, frame);
    this.#post({ type: 'send', frame, id, tab: this.#tab });
  }

  /** As {@link Client#iq}: the answer comes to the tab that asked. */
  iq(frame, timeout = 30000) {
    return this.#iqs.call(frame, timeout, (req) => this.send(req));
  }

  /** Ends the session for every tab. */
  async close() {
    if (this.#role === 'leader') {
      await this.#client.close();
      return;
    }
    if (this.#role === 'follower') this.#post({ type: 'close', tab: this.#tab });
  }

  /**
   * This tab is going away (pagehide): a leader hands the session over to
   * the next tab, which resumes it; the session is not ended.
   */
  detach() {
    if (this.#role === 'leader') {
      this.#post({ type: 'status', detail: { status: 'reconnecting', transport: this.#transport, jid: this.#jid, reason: 'handover' } });
      const c = this.#client;
      this.#client = null;
      c.detach();
      this.#abdicate();
    }
    this.#queued?.abort();
    this.#queued = null;
    this.#channel.close?.();
  }

  async #leaderExists() {
    try {
      const q = await this.#locks.query();
      return q.held.some((l) => l.name === this.#lockName);
    } catch {
      return false;
    }
  }

  /** Takes the lock if nobody holds it; resolves whether it did. */
  #leadNow() {
    return new Promise((resolve) => {
      this.#locks.request(this.#lockName, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(false);
          return undefined;
        }
        resolve(true);
        return new Promise((release) => { this.#release = release; });
      }).catch(() => resolve(false));
    });
  }

  /** Waits in the lock's queue, to take over when the leader goes. */
  #follow() {
    this.#role = 'follower';
    if (this.#queued) return;
    const ctl = new AbortController();
    this.#queued = ctl;
    this.#locks.request(this.#lockName, { signal: ctl.signal }, () => new Promise((release) => {
      this.#release = release;
      this.#queued = null;
      this.#takeOver();
    })).catch(() => {});
  }

  /** This tab has the lock: its own Client, whose storage every tab copies. */
  #lead() {
    this.#role = 'leader';
    const st = this.#storage;
    const storage = {
      getItem: (k) => st?.getItem(k) ?? null,
      setItem: (k, v) => {
        st?.setItem(k, v);
        this.#post({ type: 'store', key: k, value: v });
      },
      removeItem: (k) => {
        st?.removeItem(k);
        this.#post({ type: 'store', key: k, value: null });
      },
    };
    const c = new Client({ ...this.#options, storage });
    this.#client = c;
    c.addEventListener('status', (e) => {
      if (this.#client !== c) return;
      const d = e.detail;
      if (d.status === 'offline' && d.reason === 'detached') return;
      this.#post({ type: 'status', detail: d });
      this.#setStatus(d);
      if (d.status === 'offline') this.#abdicate();
    });
    c.addEventListener('stanza', (e) => {
      if (this.#client !== c) return;
      this.#post({ type: 'frame', frame: e.detail });
      this.#deliver(e.detail);
    });
    c.addEventListener('error', (e) => {
      if (this.#client !== c) return;
      this.#post({ type: 'frame', frame: e.detail });
      this.#deliver(e.detail);
    });
    this.#post({ type: 'leader', tab: this.#tab });
    return c;
  }

  /** The leader went: this tab resumes the session from its copy. */
  async #takeOver() {
    // What the old leader said before it let go of the lock (the session
    // ended, the last frames and counts) may still be on its way: the lock
    // and the channel are not ordered with each other.
    await new Promise((r) => setTimeout(r, TAKEOVER_SETTLE));
    const probe = new Client({ ...this.#options, storage: this.#storage });
    if (this.#role !== 'follower' || !probe.stored) {
      this.#abdicate();
      if (this.#status !== 'offline') this.#setStatus({ status: 'offline', transport: null, jid: this.#jid, reason: 'normal' });
      return;
    }
    this.#setStatus({ status: 'reconnecting', transport: this.#transport, jid: this.#jid, reason: 'handover' });
    const c = this.#lead();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    try {
      await c.resume();
    } catch {
      return; // offline: the status said why
    }
    for (const f of pending) this.send(f);
  }

  /** Lets the lock go: the tab has no session any more. */
  #abdicate() {
    this.#role = 'idle';
    this.#client = null;
    this.#release?.();
    this.#release = null;
  }

  #post(msg) {
    try {
      this.#channel.postMessage(msg);
    } catch {
      // a closed channel: the tab is going away
    }
  }

  #onMessage(m) {
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'store':
        if (this.#role === 'leader') return;
        try {
          if (m.value === null) this.#storage?.removeItem?.(m.key);
          else this.#storage?.setItem(m.key, m.value);
        } catch {
          // full or forbidden: this tab cannot take over
        }
        return;
      case 'status':
        if (this.#role === 'leader') return;
        if (m.detail.status !== 'offline' && this.#role === 'idle') this.#follow();
        this.#setStatus(m.detail);
        if (m.detail.status === 'offline' && this.#role === 'follower') {
          this.#role = 'idle';
          this.#queued?.abort();
          this.#queued = null;
        }
        this.#hello?.();
        return;
      case 'hello':
        if (this.#role === 'leader') {
          this.#post({ type: 'status', detail: { status: this.#status, transport: this.#transport, jid: this.#jid, resumed: true } });
        }
        return;
      case 'leader':
        // A new leader: what no leader took goes to it.
        for (const [id, frame] of this.#pending) this.#post({ type: 'send', frame, id, tab: this.#tab });
        return;
      case 'frame':
        if (this.#role !== 'leader') this.#deliver(m.frame);
        return;
      case 'send':
        if (this.#role !== 'leader') return;
        try {
          this.#client.send(m.frame);
        } catch {
          return; // offline: the status says so
        }
        this.#sent(m.frame, m.tab, m.id);
        return;
      case 'sent':
        this.#pending.delete(m.id);
        if (this.#role !== 'leader') this.dispatchEvent(new CustomEvent('sent', { detail: { frame: m.frame, own: m.tab === this.#tab } }));
        return;
      case 'close':
        if (this.#role === 'leader') this.#client.close();
        return;
      default:
    }
  }

  #sent(frame, tab, id) {
    this.#post({ type: 'sent', frame, tab, id });
    this.dispatchEvent(new CustomEvent('sent', { detail: { frame, own: tab === this.#tab } }));
  }

  #deliver(f) {
    if (f.kind === 'error') {
      this.dispatchEvent(new CustomEvent('error', { detail: f }));
      return;
    }
    if (f.kind === 'iq' && (f.type === 'result' || f.type === 'error')) {
      this.#iqs.answer(f, this.#jid);
    }
    this.dispatchEvent(new CustomEvent('stanza', { detail: f }));
    if (f.kind !== 'element') this.dispatchEvent(new CustomEvent(f.kind, { detail: f }));
  }

  #setStatus(d) {
    this.#status = d.status;
    if (d.jid) this.#jid = d.jid;
    this.#transport = d.transport ?? this.#transport;
    if (d.status === 'offline') {
      this.#iqs.rejectAll();
      this.#pending.clear();
    }
    this.dispatchEvent(new CustomEvent('status', { detail: { ...d } }));
  }
}
