#!/usr/bin/env node
// login-and-chat.mjs: two users log in with a real npm XMPP client library,
// chat, and log out; every message must arrive exactly once, in order, intact.
//
// usage: node interop/login-and-chat.mjs --lib xmppjs|strophe --url URL --domain DOMAIN
//          [--users alice,bob] [--password secret] [--count 20] [--timeout 30] [--verbose]
//          [--peer-url URL] [--attach JID,SID,RID]
//
// URL is ws://HOST:PORT/xmpp-websocket (RFC 7395). Strophe.js also takes a
// BOSH URL, http://HOST:PORT/http-bind; @xmpp/client 0.14 has no BOSH.
// With --peer-url the second user connects there instead (for example one
// user through the bridge, the other straight to the server).
// With --attach the first user does not log in: Strophe.js attaches to a
// BOSH session a connection manager already logged in and bound (prebind),
// with Connection.attach(JID, SID, RID), RID being its first request's.
//
// Steps: both users log in with SASL SCRAM-SHA-1 and bind a resource; where
// the library enables stream management (xmpp.js does), wait for <enabled/>
// before sending anything, since @xmpp/client 0.14.0 miscounts acks otherwise;
// send initial presence and wait for its reflection; then each sends --count
// messages to the other's full JID at the same time, followed by an end
// marker. The messages carry markup characters, non-ASCII text, emoji and an
// extension element in its own namespace. Every message is checked: sender,
// type, id, body, extension. With stream management, all sent stanzas must
// also be acknowledged. Finally both log out, closing their streams.
//
// Diagnostics go to stderr (every frame with --verbose, the last frames of
// each user on failure). stdout gets one line of JSON: the summary. Exit
// status 0 on success, 1 on failure, 2 on a usage error.

import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';

const USAGE =
    'usage: node interop/login-and-chat.mjs --lib xmppjs|strophe --url URL --domain DOMAIN ' +
    '[--users alice,bob] [--password secret] [--count 20] [--timeout 30] [--verbose] [--peer-url URL] ' +
    '[--attach JID,SID,RID]';

const NS_EXT = 'urn:xmppbridge:interop:0';
const NS_META = 'urn:xmppbridge:interop:meta';
const NS_SM = 'urn:xmpp:sm:3';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

// Text that breaks naive escaping, transcoding or framing: the five XML
// specials, a CDATA terminator, an already-escaped entity, Latin-1, CJK,
// Devanagari, astral-plane emoji and a ZWJ sequence, tab and newline.
// No CR: XML parsers turn a literal CR into LF, so it cannot round-trip.
const HARD_TEXT = '<&>"\' ]]> &amp; &#x41; ü ß € 中文 नमस्ते 😀🚀 👩‍💻 𝄞\ttab\nnewline';
// Attribute values are normalized (tab and newline become spaces): keep to
// what survives.
const HARD_ATTR = '<&>"\' &lt; ü € 😀 𝄞';

// ------------------------------------------------------------------ options

function usage(msg) {
    process.stderr.write(`${msg}\n${USAGE}\n`);
    process.exit(2);
}

let opts;
try {
    opts = parseArgs({
        options: {
            lib: { type: 'string' },
            url: { type: 'string' },
            'peer-url': { type: 'string' },
            attach: { type: 'string' },
            domain: { type: 'string' },
            users: { type: 'string', default: 'alice,bob' },
            password: { type: 'string', default: 'secret' },
            count: { type: 'string', default: '20' },
            timeout: { type: 'string', default: '30' },
            verbose: { type: 'boolean', default: false },
            help: { type: 'boolean', default: false },
        },
        strict: true,
    }).values;
} catch (err) {
    usage(err.message);
}
if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
}
if (!['xmppjs', 'strophe'].includes(opts.lib)) usage('--lib must be xmppjs or strophe');
if (!opts.url) usage('--url is required');
if (!opts.domain) usage('--domain is required');
const users = opts.users.split(',').map((u) => u.trim());
if (users.length !== 2 || users.some((u) => !u) || users[0] === users[1]) {
    usage('--users needs two different user names, e.g. alice,bob');
}
const count = Number(opts.count);
if (!Number.isInteger(count) || count < 1) usage('--count must be a positive integer');
const timeoutSec = Number(opts.timeout);
if (!(timeoutSec > 0)) usage('--timeout must be a positive number of seconds');
const isBOSH = /^https?:\/\//.test(opts.url);
if (!isBOSH && !/^wss?:\/\//.test(opts.url)) usage('--url must be ws://, wss://, http:// or https://');
if (isBOSH && opts.lib !== 'strophe') usage('only strophe speaks BOSH; use a ws:// URL with xmppjs');
const peerURL = opts['peer-url'] || opts.url;
if (/^https?:\/\//.test(peerURL) && opts.lib !== 'strophe') usage('only strophe speaks BOSH; use a ws:// URL with xmppjs');
let attach = null;
if (opts.attach) {
    const [jid, sid, rid] = opts.attach.split(',');
    if (!jid || !sid || !/^[1-9][0-9]*$/.test(rid || '')) usage('--attach needs JID,SID,RID');
    if (opts.lib !== 'strophe' || !isBOSH) usage('--attach needs --lib strophe and a BOSH --url');
    attach = { jid, sid, rid: Number(rid) };
}

// Libraries log through console; keep stdout for the summary alone.
console.log = console.info = console.debug = (...args) => console.error(...args);

const runId = randomBytes(4).toString('hex');
const startedAt = Date.now();
let phase = 'starting';
const summary = {
    ok: false,
    lib: opts.lib,
    url: opts.url,
    domain: opts.domain,
    users,
    count,
    run: runId,
};

// ------------------------------------------------------------------ tracing

const TRACE_KEEP = 40;
const traces = new Map();

function trace(who, dir, text) {
    const line = `${new Date().toISOString()} ${who} ${dir} ${text}`;
    if (opts.verbose) process.stderr.write(`${line}\n`);
    let ring = traces.get(who);
    if (!ring) traces.set(who, (ring = []));
    ring.push(line);
    if (ring.length > TRACE_KEEP) ring.shift();
}

// ------------------------------------------------------------------ ending

let finished = false;
let loggingOut = false;

function finish(error) {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    summary.ok = !error;
    summary.ms = Date.now() - startedAt;
    if (error) {
        summary.error = error;
        summary.phase = phase;
        process.stderr.write(`FAIL (${opts.lib}, ${phase}): ${error}\n`);
        if (!opts.verbose) {
            for (const [who, ring] of traces) {
                process.stderr.write(`--- last ${ring.length} frames of ${who}\n${ring.join('\n')}\n`);
            }
        }
    }
    process.stdout.write(`${JSON.stringify(summary)}\n`, () => process.exit(error ? 1 : 0));
}

function fail(msg) {
    finish(msg);
    // Stop the caller's flow; finish has already decided the outcome.
    throw new Stop();
}

class Stop extends Error {}

const deadline = setTimeout(() => {
    finish(`timed out after ${timeoutSec}s while ${phase}`);
}, timeoutSec * 1000);

process.on('unhandledRejection', (err) => {
    if (err instanceof Stop) return;
    finish(`unhandled rejection: ${err?.stack || err}`);
});
process.on('uncaughtException', (err) => {
    if (err instanceof Stop) return;
    finish(`uncaught exception: ${err?.stack || err}`);
});

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

// waitFor polls cond until it holds; the global deadline bounds it.
async function waitFor(cond) {
    while (!cond()) {
        if (finished) throw new Stop();
        await sleep(10);
    }
}

// ------------------------------------------------------------------ messages

// A normalized received message, whatever the library:
// { from, type, id, body, ext: null | { run, seq, done, note, item, metaN } }

function messageId(from, to, seq) {
    return `${from}-${to}-${seq}-${runId}`;
}

function messageBody(from, to, seq) {
    return `${from} to ${to} #${seq} ${HARD_TEXT}`;
}

// Receiver tracks what one user receives from the other.
class Receiver {
    constructor(me, peer) {
        this.me = me;
        this.peer = peer;
        this.next = 1;
        this.done = false;
        this.foreign = 0;
    }

    onMessage(m) {
        if (!m.ext || m.ext.run !== runId) {
            // Not from this run (offline messages, other tests): ignore.
            this.foreign++;
            return;
        }
        const what = `${this.peer.name} -> ${this.me.name}`;
        if (m.from !== this.peer.jid) fail(`${what}: from=${JSON.stringify(m.from)}, want ${this.peer.jid}`);
        if (m.type !== 'chat') fail(`${what}: type=${JSON.stringify(m.type)}, want chat`);
        if (this.done) fail(`${what}: message ${JSON.stringify(m.id)} after the end marker (duplicate?)`);
        if (m.ext.done) {
            if (m.id !== messageId(this.peer.name, this.me.name, 'end')) fail(`${what}: end marker id=${JSON.stringify(m.id)}`);
            if (this.next !== count + 1) fail(`${what}: end marker after ${this.next - 1} of ${count} messages`);
            this.done = true;
            return;
        }
        const seq = Number(m.ext.seq);
        if (seq !== this.next) {
            fail(`${what}: got message #${m.ext.seq} when #${this.next} was due (${seq < this.next ? 'duplicate' : 'lost or reordered'})`);
        }
        const want = {
            id: messageId(this.peer.name, this.me.name, seq),
            body: messageBody(this.peer.name, this.me.name, seq),
            note: HARD_ATTR,
            item: HARD_TEXT,
            metaN: String(seq),
        };
        const got = { id: m.id, body: m.body, note: m.ext.note, item: m.ext.item, metaN: m.ext.metaN };
        for (const k of Object.keys(want)) {
            if (got[k] !== want[k]) {
                fail(`${what} #${seq}: ${k} = ${JSON.stringify(got[k])}, want ${JSON.stringify(want[k])}`);
            }
        }
        this.next++;
    }
}

// ------------------------------------------------------------------ xmpp.js

async function xmppjsUser(name, password, resource, url) {
    globalThis.WebSocket ??= (await import('ws')).default;
    const { client, xml } = await import('@xmpp/client');

    const u = { name, jid: null, mechanism: null, sm: false, receiver: null };
    const xmpp = client({
        service: url,
        domain: opts.domain,
        resource,
        // Generous: the bridge under -race is slower than Prosody alone.
        timeout: 10000,
        credentials: async (authenticate, mechanisms) => {
            if (!mechanisms.includes('SCRAM-SHA-1')) {
                throw new Error(`SCRAM-SHA-1 not offered (offered and supported: ${mechanisms.join(', ') || 'none'})`);
            }
            await authenticate({ username: name, password }, 'SCRAM-SHA-1');
        },
    });
    // A test must see a dropped stream, not a silent reconnect.
    xmpp.reconnect.stop();

    let features = null;
    let smOutcome = null;
    let selfPresence = false;

    // Trace the frames as they are on the wire, not as parsed: that is what
    // shows a bridge's framing or escaping mistakes.
    const onData = xmpp._onData.bind(xmpp);
    xmpp._onData = (data) => {
        trace(name, 'IN ', data.toString('utf8'));
        onData(data);
    };
    const write = xmpp.write.bind(xmpp);
    xmpp.write = (str) => {
        trace(name, 'OUT', str);
        return write(str);
    };
    xmpp.on('send', (el) => {
        if (el.is('auth', NS_SASL)) u.mechanism = el.attrs.mechanism;
    });
    xmpp.on('element', (el) => {
        if (el.is('features', NS_STREAM)) features = el;
        if (el.is('enabled', NS_SM)) smOutcome = 'enabled';
        if (el.is('failed', NS_SM)) smOutcome = `failed: ${el.toString()}`;
    });
    xmpp.on('error', (err) => {
        fail(`${name}: xmpp.js error: ${err?.condition || ''} ${err?.message || err}`);
    });
    xmpp.on('status', (status, info) => {
        trace(name, '---', `status ${status}`);
        if (status === 'disconnect' && !loggingOut) fail(`${name}: connection dropped (${JSON.stringify(info)})`);
    });
    xmpp.on('stanza', (st) => {
        if (st.is('presence') && st.attrs.from === u.jid && !st.attrs.type) selfPresence = true;
        if (!st.is('message') || !u.receiver) return;
        const x = st.getChild('x', NS_EXT);
        u.receiver.onMessage({
            from: st.attrs.from,
            type: st.attrs.type,
            id: st.attrs.id,
            body: st.getChildText('body'),
            ext: x && {
                run: x.attrs.run,
                seq: x.attrs.seq,
                done: x.attrs.done === 'true',
                note: x.attrs.note,
                item: x.getChildText('item'),
                metaN: x.getChild('meta', NS_META)?.attrs.n,
            },
        });
    });

    u.login = async () => {
        try {
            await xmpp.start();
        } catch (err) {
            if (err instanceof Stop) throw err;
            fail(`${name}: login failed: ${err?.condition || ''} ${err?.message || err}`);
        }
        u.jid = xmpp.jid.toString();
        if (u.mechanism !== 'SCRAM-SHA-1') fail(`${name}: logged in with ${u.mechanism}, want SCRAM-SHA-1`);
        // xmpp.js sends <enable/> right after binding, but reports "online"
        // before the answer. Stanzas sent in between make 0.14.0's counter
        // go backwards and Prosody ends the stream, so wait for the answer.
        if (features?.getChild('sm', NS_SM)) {
            await waitFor(() => smOutcome !== null);
            if (smOutcome !== 'enabled') fail(`${name}: stream management ${smOutcome}`);
            await waitFor(() => xmpp.streamManagement.enabled);
            u.sm = true;
        }
    };
    u.sendPresence = async () => {
        await xmpp.send(xml('presence'));
        await waitFor(() => selfPresence);
    };
    u.sendMessage = async (to, id, seq, done) => {
        const ext = done
            ? xml('x', { xmlns: NS_EXT, run: runId, done: 'true' })
            : xml(
                  'x',
                  { xmlns: NS_EXT, run: runId, seq: String(seq), note: HARD_ATTR },
                  xml('item', {}, HARD_TEXT),
                  xml('meta', { xmlns: NS_META, n: String(seq) }),
              );
        const body = done ? 'end' : messageBody(name, to.name, seq);
        await xmpp.send(xml('message', { to: to.jid, type: 'chat', id }, xml('body', {}, body), ext));
    };
    // All sent stanzas acknowledged: xmpp.js asks with <r/> shortly after a
    // burst and drops what <a h=.../> covers from its queue.
    u.settled = async () => {
        if (u.sm) await waitFor(() => xmpp.streamManagement.outbound_q.length === 0);
    };
    // stop() sends <close/> and resolves with the server's <close/>, or with
    // nothing when that did not come in time.
    u.logout = async () => {
        const el = await xmpp.stop();
        if (!el?.is?.('close', NS_FRAMING)) fail(`${name}: the server did not answer <close/>`);
    };
    return u;
}

// ------------------------------------------------------------------ Strophe.js

async function stropheUser(name, password, resource, url, attachTo) {
    const { Strophe, $msg, $pres } = await import('strophe.js');
    if (isBOSH && !globalThis.XMLHttpRequest) {
        // Strophe's BOSH transport needs XMLHttpRequest, which Node lacks, and
        // reads responseXML, which xhr2 lacks (Strophe 5.0.0 parses
        // responseText as a fallback but then drops the result).
        const XHR = (await import('xhr2')).default;
        globalThis.XMLHttpRequest = class extends XHR {
            get responseXML() {
                if (this.readyState !== 4 || !this.responseText) return null;
                return new globalThis.DOMParser().parseFromString(this.responseText, 'text/xml');
            }
        };
    }
    Strophe.setLogLevel(opts.verbose ? Strophe.LogLevel.DEBUG : Strophe.LogLevel.WARN);

    const u = { name, jid: null, mechanism: null, sm: false, receiver: null, attached: !!attachTo };
    // SCRAM-SHA-1 only: Strophe would pick it over PLAIN anyway, but a server
    // that stopped offering it must fail the run, not fall back.
    const conn = new Strophe.Connection(url, { mechanisms: [Strophe.SASLSHA1] });
    conn.rawInput = (data) => trace(name, 'IN ', data);
    conn.rawOutput = (data) => {
        trace(name, 'OUT', data);
        const m = /<auth [^>]*mechanism=["']([^"']+)/.exec(data);
        if (m) u.mechanism = m[1];
    };

    let status = null;
    let selfPresence = false;
    const statusName = (s) => Object.keys(Strophe.Status).find((k) => Strophe.Status[k] === s) || String(s);
    const bad = new Set([
        Strophe.Status.ERROR,
        Strophe.Status.CONNFAIL,
        Strophe.Status.AUTHFAIL,
        Strophe.Status.CONNTIMEOUT,
        Strophe.Status.BINDREQUIRED,
    ]);

    conn.addHandler(
        (st) => {
            const x = childNS(st, 'x', NS_EXT);
            u.receiver?.onMessage({
                from: st.getAttribute('from'),
                type: st.getAttribute('type'),
                id: st.getAttribute('id'),
                body: childNS(st, 'body', null)?.textContent ?? null,
                ext: x && {
                    run: x.getAttribute('run'),
                    seq: x.getAttribute('seq'),
                    done: x.getAttribute('done') === 'true',
                    note: x.getAttribute('note'),
                    item: childNS(x, 'item', NS_EXT)?.textContent ?? null,
                    metaN: childNS(x, 'meta', NS_META)?.getAttribute('n') ?? null,
                },
            });
            return true;
        },
        null,
        'message',
    );
    conn.addHandler(
        (st) => {
            if (st.getAttribute('from') === u.jid && !st.getAttribute('type')) selfPresence = true;
            return true;
        },
        null,
        'presence',
    );

    u.login = () =>
        new Promise((resolve) => {
            const callback = (s, condition) => {
                status = s;
                trace(name, '---', `status ${statusName(s)}${condition ? ` (${condition})` : ''}`);
                try {
                    if (bad.has(s)) fail(`${name}: Strophe status ${statusName(s)}${condition ? `: ${condition}` : ''}`);
                    if (s === Strophe.Status.DISCONNECTED && !loggingOut) fail(`${name}: disconnected unexpectedly`);
                    if (s === Strophe.Status.CONNECTED) {
                        u.jid = conn.jid;
                        if (u.mechanism !== 'SCRAM-SHA-1') fail(`${name}: logged in with ${u.mechanism}, want SCRAM-SHA-1`);
                        resolve();
                    }
                    if (s === Strophe.Status.ATTACHED) {
                        // Authenticated and bound by the connection manager.
                        if (u.mechanism) fail(`${name}: attached, yet authenticated with ${u.mechanism}`);
                        u.jid = conn.jid;
                        resolve();
                    }
                } catch (err) {
                    if (!(err instanceof Stop)) throw err;
                }
            };
            if (attachTo) {
                if (attachTo.jid.split('@')[0] !== name) fail(`--attach JID ${attachTo.jid} is not ${name}'s`);
                conn.attach(attachTo.jid, attachTo.sid, attachTo.rid, callback);
            } else {
                conn.connect(`${name}@${opts.domain}/${resource}`, password, callback);
            }
        });
    u.sendPresence = async () => {
        conn.send($pres());
        await waitFor(() => selfPresence);
    };
    u.sendMessage = async (to, id, seq, done) => {
        const m = $msg({ to: to.jid, type: 'chat', id });
        if (done) {
            m.c('body').t('end').up().c('x', { xmlns: NS_EXT, run: runId, done: 'true' });
        } else {
            m.c('body').t(messageBody(name, to.name, seq)).up();
            m.c('x', { xmlns: NS_EXT, run: runId, seq: String(seq), note: HARD_ATTR });
            m.c('item').t(HARD_TEXT).up();
            m.c('meta', { xmlns: NS_META, n: String(seq) });
        }
        conn.send(m);
    };
    u.settled = async () => {
        // Over BOSH, sends are queued until the next request goes out.
        conn.flush();
    };
    // Strophe sends unavailable presence and <close/>, then closes the
    // socket without waiting for the server's <close/>: a clean logout here
    // is reaching DISCONNECTED with no error status on the way.
    u.logout = async () => {
        conn.disconnect('logout');
        await waitFor(() => status === Strophe.Status.DISCONNECTED);
    };
    return u;
}

// childNS returns the first child element of el named local in namespace ns
// (any namespace when ns is null).
function childNS(el, local, ns) {
    for (let n = el.firstChild; n; n = n.nextSibling) {
        if (n.nodeType === 1 && (n.localName || n.nodeName) === local && (ns === null || n.namespaceURI === ns)) {
            return n;
        }
    }
    return null;
}

// ------------------------------------------------------------------ the run

async function main() {
    const make = opts.lib === 'xmppjs' ? xmppjsUser : stropheUser;
    const [a, b] = await Promise.all(
        users.map((name, i) =>
            make(name, opts.password, `interop-${opts.lib}-${name}-${runId}`, i === 0 ? opts.url : peerURL, i === 0 ? attach : null),
        ),
    );
    a.receiver = new Receiver(a, b);
    b.receiver = new Receiver(b, a);

    phase = 'logging in';
    await Promise.all([a.login(), b.login()]);
    summary.jids = [a.jid, b.jid];
    // An attached user did not authenticate itself: the other did.
    summary.mechanism = a.attached ? b.mechanism : a.mechanism;
    summary.attached = a.attached;
    summary.sm = a.sm && b.sm;

    phase = 'sending initial presence';
    await Promise.all([a.sendPresence(), b.sendPresence()]);

    phase = 'exchanging messages';
    const send = async (from, to) => {
        for (let seq = 1; seq <= count; seq++) {
            await from.sendMessage(to, messageId(from.name, to.name, seq), seq, false);
        }
        await from.sendMessage(to, messageId(from.name, to.name, 'end'), 0, true);
        await from.settled();
    };
    await Promise.all([send(a, b), send(b, a)]);
    phase = 'waiting for all messages';
    await waitFor(() => a.receiver.done && b.receiver.done);
    if (a.sm || b.sm) {
        phase = 'waiting for stream management acks';
        await Promise.all([a.settled(), b.settled()]);
    }
    summary.sent = 2 * count;
    summary.received = a.receiver.next - 1 + (b.receiver.next - 1);
    summary.ignored = a.receiver.foreign + b.receiver.foreign;

    phase = 'logging out';
    loggingOut = true;
    await Promise.all([a.logout(), b.logout()]);
    finish(null);
}

main().catch((err) => {
    if (err instanceof Stop) return;
    finish(`${err?.stack || err}`);
});
