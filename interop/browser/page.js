// page.js starts Converse.js with settings taken from the page's query
// string, so a test can point the same page at any BOSH or WebSocket
// endpoint:
//
//   bosh_service_url  BOSH endpoint (XEP-0124/0206), or
//   websocket_url     XMPP over WebSocket endpoint (RFC 7395); give one only,
//                     so Converse cannot fall back to the other transport
//   discover          1 instead of either URL: Converse finds the endpoints
//                     by XEP-0156 at https://DOMAIN/.well-known/host-meta
//   domain            XMPP domain; completes a jid given without one
//   jid, password     the account
//   auto_login        1 (default when a jid and password are given) or 0
//   view_mode         fullscreen (default) or embedded
//   animations        0 turns CSS transitions and animations off (default 1)
//   loglevel          Converse's console log level (default info)
//   auto_reconnect    1 makes Converse reconnect when its connection drops
//                     (default 0: a test must see a drop, not a reconnect)
//   enable_smacks     0 turns XEP-0198 stream management off (default 1,
//                     Converse's own default)
//
// Converse's own log is kept whole, at every level and with the XML it sends
// and receives, in window.xbConverseLog, whatever loglevel says goes to the
// console. window.xbProbe() returns what the page shows: whether it is
// logged in, over which transport, which contacts the roster lists,
// whether the server has echoed the page's presence, and the state of
// stream management. window.xbOpenChat(jid) opens a chat, and
// window.xbMessages(text) counts the messages that contain text, as shown
// and as Converse holds them.

import converse from '/dist/converse.min.js';

const q = new URLSearchParams(location.search);
const flag = (name, def) => {
	const v = q.get(name);
	return v === null || v === '' ? def : !['0', 'false', 'no', 'off'].includes(v.toLowerCase());
};

function fail(msg) {
	document.body.classList.add('page-error');
	document.getElementById('page-error').textContent = msg;
	throw new Error(msg);
}

const boshURL = q.get('bosh_service_url') || '';
const wsURL = q.get('websocket_url') || '';
const discover = flag('discover', false);
if ([boshURL, wsURL, discover].filter(Boolean).length !== 1) {
	fail('page.js: give exactly one of bosh_service_url, websocket_url and discover');
}
const domain = q.get('domain') || '';
let jid = q.get('jid') || '';
if (jid && !jid.includes('@') && domain) {
	jid = `${jid}@${domain}`;
}
const password = q.get('password') || '';
const viewMode = q.get('view_mode') || 'fullscreen';
if (!['fullscreen', 'embedded'].includes(viewMode)) {
	fail(`page.js: view_mode ${viewMode}: want fullscreen or embedded`);
}

if (viewMode === 'embedded') {
	document.body.classList.add('embedded');
	document.getElementById('embedded').append(document.createElement('converse-root'));
}
if (!flag('animations', true)) {
	const style = document.createElement('style');
	style.textContent = `*, *::before, *::after {
		animation: none !important; transition: none !important; scroll-behavior: auto !important;
	}`;
	document.head.append(style);
}

// Converse's log: every call, kept in order. The level check happens inside
// log.log, so wrapping it sees debug lines too.
const converseLog = [];
window.xbConverseLog = converseLog;
const { log } = converse.env;
const logToConsole = log.log.bind(log);
log.log = (level, ...args) => {
	converseLog.push(`${new Date().toISOString()} ${level} ${format(args)}`);
	return logToConsole(level, ...args);
};

// format renders console-style arguments: %s, %d, %i, %f, %o, %O take the
// next argument and %c drops it (it is CSS).
function format(args) {
	const str = (v) => {
		if (v instanceof Error) return v.stack || String(v);
		if (typeof Element !== 'undefined' && v instanceof Element) return v.outerHTML;
		if (typeof v === 'string') return v;
		try {
			return JSON.stringify(v) ?? String(v);
		} catch {
			return String(v);
		}
	};
	let rest = args.slice();
	let out = '';
	if (typeof rest[0] === 'string') {
		const fmt = rest.shift();
		out = fmt.replace(/%[sdifoOc%]/g, (m) => {
			if (m === '%%') return '%';
			if (rest.length === 0) return m;
			const v = rest.shift();
			return m === '%c' ? '' : str(v);
		});
	}
	return [out, ...rest.map(str)].filter((s) => s !== '').join(' ');
}

// The probe plugin keeps a handle on Converse's internals and a list of the
// events that matter for logging in.
const events = [];
let _converse;
let selfPresence = false;
const statusNames = Object.fromEntries(Object.entries(converse.env.Strophe.Status).map(([k, v]) => [v, k]));
converse.plugins.add('xmppbridge-probe', {
	initialize() {
		_converse = this._converse;
		const { api } = _converse;
		const note = (what) => events.push(`${new Date().toISOString()} ${what}`);
		for (const ev of [
			'connected',
			'reconnected',
			'will-reconnect',
			'disconnected',
			'streamResumptionFailed',
			'rosterContactsFetched',
			'rosterInitialized',
		]) {
			api.listen.on(ev, () => note(ev));
		}
		// The server echoes an available presence to its sender: once it
		// has, the server takes the page to be online, and messages to the
		// bare JID come here.
		const watchPresence = () =>
			api.connection.get().addHandler(
				(st) => {
					if (st.getAttribute('from') === api.connection.get().jid && !st.getAttribute('type')) {
						selfPresence = true;
					}
					return true;
				},
				null,
				'presence',
			);
		api.listen.on('connected', watchPresence);
		api.listen.on('reconnected', watchPresence);
		api.listen.on('connfeedback', (fb) => {
			const status = statusNames[fb.get('connection_status')] ?? fb.get('connection_status');
			note(`status ${status}${fb.get('message') ? `: ${fb.get('message')}` : ''}`);
		});
	},
});

const visible = (el) => {
	if (!el || el.getClientRects().length === 0) return false;
	const style = getComputedStyle(el);
	return style.visibility !== 'hidden' && style.display !== 'none';
};

window.xbProbe = () => {
	const api = _converse?.api;
	const conn = api?.connection.get();
	const roster = _converse?.state?.roster;
	const shown = [...document.querySelectorAll('converse-roster a.open-chat[data-jid]')]
		.filter(visible)
		.map((a) => ({ jid: a.dataset.jid, text: a.textContent.replace(/\s+/g, ' ').trim() }));
	let transport = '';
	if (conn) {
		transport = api.connection.isType('websocket') ? 'websocket' : api.connection.isType('bosh') ? 'bosh' : '?';
	}
	return {
		initialized: !!_converse,
		connected: !!api?.connection.connected(),
		authenticated: !!api?.connection.authenticated(),
		transport,
		service: conn?.service ?? '',
		jid: conn?.jid ?? '',
		status: _converse?.state?.connfeedback ? (statusNames[_converse.state.connfeedback.get('connection_status')] ?? '') : '',
		rosterModel: roster ? roster.map((c) => c.get('jid')) : [],
		rosterShown: shown,
		loginFormShown: [...document.querySelectorAll('converse-login-form')].some(visible),
		selfPresence,
		smacks: {
			enabled: !!_converse?.session?.get('smacks_enabled'),
			streamID: _converse?.session?.get('smacks_stream_id') ?? '',
			resumed: !!_converse?.session?.get('smacks_resumed'),
		},
		events: events.slice(),
	};
};

window.xbOpenChat = async (jid) => {
	await _converse.api.chats.open(jid, {}, true);
	return true;
};

window.xbMessages = (text) => {
	const shown = [...document.querySelectorAll('.chat-msg__text')].filter(
		(el) => visible(el) && el.textContent.includes(text),
	).length;
	let held = 0;
	for (const box of _converse?.state?.chatboxes?.models ?? []) {
		held += (box.messages?.models ?? []).filter((m) => (m.get('body') || '').includes(text)).length;
	}
	return { shown, held };
};

converse.initialize({
	...(boshURL ? { bosh_service_url: boshURL } : {}),
	...(wsURL ? { websocket_url: wsURL } : {}),
	// Use the endpoint given, or only what XEP-0156 discovery finds.
	discover_connection_methods: discover,
	authentication: 'login',
	jid,
	password,
	auto_login: flag('auto_login', Boolean(jid && password)),
	auto_reconnect: flag('auto_reconnect', false),
	enable_smacks: flag('enable_smacks', true),
	default_domain: domain || undefined,
	view_mode: viewMode,
	animate: flag('animations', true),
	loglevel: q.get('loglevel') || 'info',
	assets_path: '/dist/',
	i18n: 'en',
	whitelisted_plugins: ['xmppbridge-probe'],
	// Nothing that needs a user's permission or makes noise.
	play_sounds: false,
	show_desktop_notifications: false,
	allow_registration: false,
	show_controlbox_by_default: true,
});
