#!/usr/bin/env node
// resume.mjs: one user logs in with @xmpp/client (xmpp.js), with XEP-0198
// stream management and its reconnect on, and stays through a drop of its
// connection that the caller makes: it must resume its stream (<resumed/>,
// the same full JID) and get every message sent to it exactly once,
// including those sent while it was away.
//
// usage: node interop/resume.mjs --url URL --domain DOMAIN --marker TEXT
//          [--user alice] [--password secret] [--timeout 90] [--verbose]
//
// It talks to its caller in lines on stdout:
//   ready {"jid":…,"sm":…}   logged in, stream management enabled with
//                            resumption; the caller may now cut
//   resumed {"jid":…}        the stream was resumed after a drop
//   failed {"error":…}       resumption failed (it goes on, to report)
//   {"ok":…}                 the summary, last: once a message whose body is
//                            "MARKER end" has come, the counts of each message
//                            body that starts with MARKER
// and then closes its stream and exits. Message bodies that do not start
// with MARKER are not counted.

import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
    options: {
        url: { type: 'string' },
        domain: { type: 'string' },
        marker: { type: 'string' },
        user: { type: 'string', default: 'alice' },
        password: { type: 'string', default: 'secret' },
        timeout: { type: 'string', default: '90' },
        verbose: { type: 'boolean', default: false },
    },
});
for (const k of ['url', 'domain', 'marker']) {
    if (!opts[k]) {
        console.error(`resume.mjs: --${k} is required`);
        process.exit(2);
    }
}

const NS_SM = 'urn:xmpp:sm:3';
const summary = { ok: false, jid: null, jidAfter: null, resumed: 0, failed: 0, disconnects: 0, messages: {}, error: null };
const line = (kind, obj) => process.stdout.write(`${kind} ${JSON.stringify(obj)}\n`);
const trace = (...args) => opts.verbose && process.stderr.write(`${new Date().toISOString()} ${args.join(' ')}\n`);

let finished = false;
function finish(err) {
    if (finished) return;
    finished = true;
    summary.ok = !err;
    summary.error = err ? String(err?.stack || err) : null;
    process.stdout.write(JSON.stringify(summary) + '\n');
}

const timer = setTimeout(() => {
    finish(new Error(`no "${opts.marker} end" message within ${opts.timeout} s`));
    process.exit(1);
}, Number(opts.timeout) * 1000);

globalThis.WebSocket ??= (await import('ws')).default;
const { client, xml } = await import('@xmpp/client');

const xmpp = client({
    service: opts.url,
    domain: opts.domain,
    resource: `resume-${opts.marker}`,
    timeout: 10000,
    credentials: async (authenticate, mechanisms) => {
        const mech = mechanisms.includes('SCRAM-SHA-1') ? 'SCRAM-SHA-1' : mechanisms[0];
        await authenticate({ username: opts.user, password: opts.password }, mech);
    },
});
const sm = xmpp.streamManagement;

const onData = xmpp._onData.bind(xmpp);
xmpp._onData = (data) => {
    trace('IN ', data.toString('utf8'));
    onData(data);
};
const write = xmpp.write.bind(xmpp);
xmpp.write = (str) => {
    trace('OUT', str);
    return write(str);
};
// Connection errors are what a drop is made of; xmpp.js reconnects.
xmpp.on('error', (err) => trace('---', `error ${err?.condition || ''} ${err?.message || err}`));
xmpp.on('status', (status) => {
    trace('---', `status ${status}`);
    if (status === 'disconnect' && !finished) summary.disconnects++;
});
xmpp.on('nonza', (el) => {
    if (el.is('failed', NS_SM)) {
        summary.failed++;
        line('failed', { error: el.toString() });
    }
});
sm.on('resumed', () => {
    summary.resumed++;
    summary.jidAfter = xmpp.jid?.toString() ?? null;
    line('resumed', { jid: summary.jidAfter });
});
// A new session instead of a resumed one binds again and says online.
xmpp.on('online', (jid) => {
    if (summary.jid) summary.jidAfter = jid.toString();
});

let selfPresence = false;
xmpp.on('stanza', async (st) => {
    if (st.is('presence') && st.attrs.from === xmpp.jid?.toString() && !st.attrs.type) selfPresence = true;
    if (!st.is('message')) return;
    const body = st.getChildText('body');
    if (!body || !body.startsWith(opts.marker)) return;
    summary.messages[body] = (summary.messages[body] ?? 0) + 1;
    if (body === `${opts.marker} end`) {
        clearTimeout(timer);
        // Everything counted is acknowledged before the stream closes, so
        // the server keeps nothing to send again.
        finish(null);
        try {
            await xmpp.stop();
        } catch {}
        process.exit(0);
    }
});

try {
    await xmpp.start();
} catch (err) {
    finish(err);
    process.exit(1);
}
summary.jid = xmpp.jid.toString();
// until waits up to 10 s for ok, and ends the run with why when it does
// not come.
async function until(ok, why) {
    const deadline = Date.now() + 10000;
    while (!ok() && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
    }
    if (!ok()) {
        finish(new Error(why));
        process.exit(1);
    }
}
// <enable/> goes out after binding; its answer comes after "online".
await until(() => sm.enabled && sm.id, 'stream management with resumption was not enabled');
// Available, so that messages to the bare JID come here: the server's
// echo of the presence says it is.
await xmpp.send(xml('presence'));
await until(() => selfPresence, 'the server did not echo our presence');
line('ready', { jid: summary.jid, sm: sm.id });
