// The demo chat page: log in through the bridge's JSON API, show the roster
// with live presence, and chat one to one. A reload continues the session:
// the client keeps its resume token in sessionStorage, and the page keeps
// what it shows (roster, presence, chats) there too; never the password.
// Tabs share one session (SharedClient, where the browser has
// BroadcastChannel and Web Locks; ?tabs=off gives each tab its own): a new
// tab shows the chat at once, and asks another tab for what it shows.
//
// URL parameters: ?transport=websocket|sse|poll (or a comma-separated list)
// chooses the transports, ?url= the API's base (default "json", beside the
// page; only on the page's own origin), ?jid= fills in the address.

import { Client, SharedClient, newID } from './xmppbridge.js';

const $ = (sel) => document.querySelector(sel);

const TRANSPORT_NAMES = { websocket: 'WebSocket', sse: 'Server-Sent Events', poll: 'long-polling' };
const PRESENCE_TEXT = { online: 'Online', away: 'Away', dnd: 'Do not disturb', offline: 'Offline' };
const LOGIN_ERRORS = {
  'not-authorized': 'Wrong address or password.',
  'bad-token': 'Your session has expired. Sign in again.',
  'item-not-found': 'Your session has ended. Sign in again.',
  unreachable: 'Cannot reach the bridge. Check your connection.',
  'remote-connection-failed': 'The bridge cannot reach your server right now.',
  'host-unknown': 'This bridge does not serve that domain.',
  'encryption-required': 'Passwords need a secure (https) connection to the bridge.',
  timeout: 'The server took too long to answer.',
  'bad-value': 'That address is not valid: it looks like name@example.com.',
};
/** Our "composing" becomes "paused" after this long without typing (XEP-0085). */
const PAUSED_AFTER = 5000;

const params = new URLSearchParams(location.search);

/** Where the page keeps what it shows, for a reload that resumes the session. */
const VIEW_KEY = 'xmppbridge.demo.view';
/** Whether the tabs of this browser share one session. */
const SHARED = SharedClient.supported && params.get('tabs') !== 'off';
/** Tabs ask each other what they show: {want: 'view'}, answered {view}. */
const viewChannel = SHARED ? new BroadcastChannel('xmppbridge.demo') : null;

/**
 * The API's base URL from the page's ?url= (null: absent), resolved against
 * the page: only on the page's own origin, since the password typed here
 * goes there and a link must not be able to send it to another server.
 * Anything else is ignored for the default, "json" beside the page.
 * @param {string|null} param
 * @param {string} page the page's URL
 * @returns {string}
 */
export function apiURL(param, page) {
  const fallback = new URL('json', page).href;
  if (param === null || param === undefined) return fallback;
  let url = null;
  try {
    url = new URL(param, page);
  } catch {
    // not a URL: ignored
  }
  const origin = new URL(page).origin;
  if (url && /^https?:$/.test(url.protocol) && url.origin === origin && !url.username && !url.password) return url.href;
  console.warn(`?url=${param} ignored: the API must be on this page's origin (${origin})`);
  return fallback;
}

const API_URL = apiURL(params.get('url'), location.href);

/**
 * @typedef {object} Contact
 * @property {string} jid bare JID
 * @property {string} name
 * @property {boolean} inRoster
 * @property {string} subscription
 * @property {string|undefined} ask
 * @property {Map<string, {show?: string, status?: string, priority: number}>} resources
 * @property {string} lastStatus the status text of the last unavailable presence
 * @property {{dir: 'in'|'out', id?: string, body: string, time: Date, state?: string}[]} messages
 * @property {boolean} typing
 * @property {number} unread
 */

const state = {
  /** @type {Client|null} */
  client: null,
  me: '', // bare JID
  /** @type {Map<string, Contact>} */
  contacts: new Map(),
  /** @type {Set<string>} bare JIDs asking to see our presence */
  requests: new Set(),
  /** @type {string|null} the contact whose chat is open */
  active: null,
  composing: false,
  pausedTimer: 0,
  loggingOut: false,
  refetch: false,
  wantView: false, // a new tab waits for another's view
};

// ------------------------------------------------------------ JIDs

function bare(jid) {
  return (jid ?? '').split('/')[0].toLowerCase();
}

function resourceOf(jid) {
  const i = (jid ?? '').indexOf('/');
  return i < 0 ? '' : jid.slice(i + 1);
}

// ------------------------------------------------------------ login and logout

function chosenTransports() {
  const fromURL = (params.get('transport') ?? '').split(',').map((s) => s.trim()).filter((s) => s in TRANSPORT_NAMES);
  if (fromURL.length > 0) return fromURL;
  const picked = $('#transport').value;
  return picked ? [picked] : undefined;
}

async function login(event) {
  event.preventDefault();
  const jid = $('#jid').value.trim();
  const password = $('#password').value;
  if (!jid.includes('@')) {
    showLoginError('Enter your full address, like alice@example.com.');
    return;
  }
  showLoginError('');
  $('#login-button').disabled = true;
  $('#login-button').textContent = 'Signing in…';

  const client = newClient();
  state.me = bare(jid);
  state.wantView = false;
  try {
    await client.connect({ jid, password, resource: params.get('resource') ?? undefined });
    $('#password').value = '';
  } catch (err) {
    if (state.client === client && !SHARED) state.client = null;
    showLoginError(LOGIN_ERRORS[err.code] ?? `Could not sign in (${err.code ?? err.message}).`);
  } finally {
    $('#login-button').disabled = false;
    $('#login-button').textContent = 'Sign in';
  }
}

function newClient() {
  state.loggingOut = false;
  if (SHARED && state.client) return state.client; // one per page, for its life
  const options = { url: API_URL, transports: chosenTransports() };
  const client = SHARED ? new SharedClient(options) : new Client(options);
  state.client = client;
  client.addEventListener('sent', (e) => onSent(e.detail));
  client.addEventListener('status', (e) => onStatus(client, e.detail));
  client.addEventListener('message', (e) => onMessage(e.detail));
  client.addEventListener('presence', (e) => onPresence(e.detail));
  client.addEventListener('iq', (e) => onIq(e.detail));
  client.addEventListener('error', (e) => console.warn('xmppbridge error frame', e.detail));
  return client;
}

/**
 * After a reload: continues the session the client left in sessionStorage,
 * showing what the page showed before. Returns false when there is none.
 */
function resumeStored() {
  const probe = new Client({ url: API_URL, transports: chosenTransports() });
  const stored = probe.stored;
  if (!stored) return false;
  const client = newClient();
  state.me = bare(stored.jid);
  // Without what the page showed (another tab's storage, say), the roster
  // is asked for again once the session is back.
  state.refetch = !restoreView();
  $('#me').textContent = state.me;
  $('#me').title = stored.jid;
  $('#me').dataset.jid = stored.jid;
  showView('chat');
  render();
  client.resume().catch((err) => {
    // The session is gone and the page has no password to log in with:
    // onStatus has gone back to the form, saying why.
    console.warn('resume', err);
  });
  return true;
}

/**
 * With tabs sharing a session: joins it, or resumes the one this tab's
 * storage holds (a reload); else the login form.
 */
async function startShared() {
  const client = newClient();
  const stored = new Client({ url: API_URL }).stored;
  if (stored) {
    state.me = bare(stored.jid);
    restoreView();
    showChat(stored.jid);
  }
  // Another tab, if any, knows better what happened meanwhile.
  state.wantView = true;
  let jid = null;
  try {
    jid = await client.start();
  } catch (err) {
    console.warn('resume', err); // onStatus went back to the form
    return;
  }
  if (!jid) {
    state.wantView = false;
    if (!stored) showView('login');
    return;
  }
  if (client.leader) {
    state.wantView = false;
    if (!stored) startSession(client);
    return;
  }
  if (!stored) {
    state.me = bare(jid);
    showChat(jid);
  }
  viewChannel.postMessage({ want: 'view' });
}

function showChat(jid) {
  $('#me').textContent = bare(jid);
  $('#me').title = jid;
  $('#me').dataset.jid = jid;
  showView('chat');
  render();
}

/** Whether this page answers the server's requests: with shared tabs, only the leader does. */
function leads() {
  return !SHARED || state.client?.leader === true;
}

/** Another tab sent a message: it shows here too. */
function onSent({ frame, own }) {
  if (own || frame.kind !== 'message' || !frame.to || frame.body === undefined) return;
  const c = contact(frame.to);
  c.messages.push({ dir: 'out', id: frame.id, body: frame.body, time: new Date(), state: 'sent' });
  render();
}

function currentView() {
  return {
    me: state.me,
    active: state.active,
    requests: [...state.requests],
    contacts: [...state.contacts.values()].map((c) => ({ ...c, resources: [...c.resources], typing: false })),
  };
}

/** Keeps what the page shows in sessionStorage (never the password). */
function saveView() {
  if (!state.client || !state.me) return;
  try {
    sessionStorage.setItem(VIEW_KEY, JSON.stringify(currentView()));
  } catch {
    // full or forbidden: a reload shows less
  }
}

function restoreView() {
  let view = null;
  try {
    view = JSON.parse(sessionStorage.getItem(VIEW_KEY) ?? 'null');
  } catch {
    view = null;
  }
  return applyView(view);
}

function applyView(view) {
  if (!view || view.me !== state.me) return false;
  const active = state.active;
  state.contacts.clear();
  for (const c of view.contacts ?? []) {
    state.contacts.set(c.jid, {
      ...c,
      resources: new Map(c.resources ?? []),
      messages: (c.messages ?? []).map((m) => ({ ...m, time: new Date(m.time) })),
    });
  }
  state.requests = new Set(view.requests ?? []);
  state.active = active ?? (view.active && state.contacts.has(view.active) ? view.active : null);
  if (state.active) $('#chat-view').dataset.pane = 'chat';
  return true;
}

function forgetView() {
  try {
    sessionStorage.removeItem(VIEW_KEY);
  } catch {
    // nothing to forget
  }
}

function showLoginError(text) {
  $('#login-error').textContent = text;
  $('#login-error').hidden = !text;
}

async function logout() {
  const client = state.client;
  state.loggingOut = true;
  if (client?.status === 'online') client.send({ kind: 'presence', type: 'unavailable' });
  await client?.close();
  forgetView();
  reset();
  showView('login');
}

function reset() {
  if (!SHARED) state.client = null;
  state.contacts.clear();
  state.requests.clear();
  state.active = null;
  state.composing = false;
  clearTimeout(state.pausedTimer);
  $('#messages').replaceChildren();
  render();
}

function showView(which) {
  $('#login-view').hidden = which !== 'login';
  $('#chat-view').hidden = which !== 'chat';
  // Not when the form is already being filled in: a tab that learns late
  // (startShared) that it has no session must not move the caret.
  if (which === 'login' && !document.activeElement?.matches?.('input, textarea')) $('#jid').focus();
}

// ------------------------------------------------------------ the session

function onStatus(client, s) {
  if (client !== state.client) return;
  renderStatus(s);
  if (s.status === 'online' && !s.resumed) {
    forgetView();
    state.me = bare(s.jid);
    $('#me').textContent = bare(s.jid);
    $('#me').title = s.jid;
    $('#me').dataset.jid = s.jid;
    showView('chat');
    state.wantView = false;
    startSession(client);
  }
  if (s.status === 'online' && s.resumed && state.refetch) {
    state.refetch = false;
    startSession(client);
  }
  if (s.status === 'offline' && s.reason === 'detached') return; // the page is going away
  if (s.status === 'offline' && !state.loggingOut) {
    // The session is gone for good (wrong password now, replaced by another
    // login, …): back to the form, saying why.
    forgetView();
    reset();
    showView('login');
    if (s.reason && s.reason !== 'normal') {
      showLoginError(LOGIN_ERRORS[s.reason] ?? `Disconnected (${s.reason}${s.text ? `: ${s.text}` : ''}).`);
    }
  }
}

/** What a client does on every new session: roster, then presence (RFC 6121 §2.2). */
async function startSession(client) {
  for (const c of state.contacts.values()) c.resources.clear();
  const roster = client.iq({ kind: 'iq', type: 'get', roster: { items: [] } });
  // With shared tabs the leader's presence is the session's.
  if (leads()) client.send({ kind: 'presence' });
  render();
  try {
    const res = await roster;
    applyRoster(res.roster?.items ?? [], true);
  } catch (err) {
    console.warn('roster', err);
  }
}

function contact(jid, create = true) {
  const key = bare(jid);
  let c = state.contacts.get(key);
  if (!c && create) {
    c = { jid: key, name: '', inRoster: false, subscription: 'none', ask: undefined, resources: new Map(), lastStatus: '', messages: [], typing: false, unread: 0 };
    state.contacts.set(key, c);
  }
  return c;
}

function displayName(c) {
  return c.name || c.jid.split('@')[0] || c.jid;
}

/** Applies roster items: the whole roster (full), or a push. */
function applyRoster(items, full) {
  if (full) for (const c of state.contacts.values()) c.inRoster = false;
  for (const item of items) {
    if (!item.jid) continue;
    const c = contact(item.jid);
    if (item.subscription === 'remove') {
      c.inRoster = false;
      continue;
    }
    c.inRoster = true;
    c.name = item.name ?? '';
    c.subscription = item.subscription ?? 'none';
    c.ask = item.ask;
  }
  for (const [key, c] of state.contacts) {
    if (!c.inRoster && c.messages.length === 0 && key !== state.active) state.contacts.delete(key);
  }
  render();
}

function onIq(f) {
  const client = state.client;
  if (f.type !== 'get' && f.type !== 'set') return; // answers are the iq() promises'
  const reply = (more) => {
    if (leads()) client.send({ kind: 'iq', id: f.id, ...(f.from ? { to: f.from } : {}), ...more });
  };
  if (f.type === 'set' && f.roster) {
    // Roster pushes come from the account itself (RFC 6121 §2.1.6).
    if (f.from && bare(f.from) !== state.me) return;
    applyRoster(f.roster.items ?? [], false);
    reply({ type: 'result' });
    return;
  }
  const query = f.payload?.find((el) => typeof el === 'object');
  if (f.type === 'get' && query?.xmlns === 'urn:xmpp:ping') {
    reply({ type: 'result' });
    return;
  }
  if (f.type === 'get' && query?.xmlns === 'http://jabber.org/protocol/disco#info' && !query.attrs?.node) {
    const features = ['http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/chatstates', 'urn:xmpp:receipts', 'urn:xmpp:ping'];
    reply({ type: 'result', payload: [{ name: 'query', xmlns: query.xmlns, children: [
      { name: 'identity', attrs: { category: 'client', type: 'web', name: 'xmppbridge chat' } },
      ...features.map((v) => ({ name: 'feature', attrs: { var: v } })),
    ] }] });
    return;
  }
  reply({ type: 'error', error: { type: 'cancel', condition: 'service-unavailable' } });
}

function onPresence(f) {
  if (!f.from || bare(f.from) === state.me) return; // our own other resources
  const key = bare(f.from);
  switch (f.type) {
    case undefined: {
      const c = contact(key);
      c.resources.set(resourceOf(f.from), { show: f.show, status: f.status, priority: f.priority ?? 0 });
      break;
    }
    case 'unavailable': {
      const c = contact(key, false);
      if (!c) return;
      c.resources.delete(resourceOf(f.from));
      if (resourceOf(f.from) === '') c.resources.clear();
      c.lastStatus = f.status ?? '';
      if (c.resources.size === 0) c.typing = false;
      break;
    }
    case 'subscribe': {
      const c = contact(key, false);
      // Someone we asked first, or already share presence with: say yes.
      if (c && (c.ask === 'subscribe' || ['to', 'from', 'both'].includes(c.subscription))) {
        if (leads()) state.client.send({ kind: 'presence', type: 'subscribed', to: key });
      } else {
        state.requests.add(key);
      }
      break;
    }
    default:
      return; // subscribed/unsubscribe(d): the roster push tells; errors: nothing to show
  }
  render();
}

/**
 * A body the translation kept in the generic form: one that came after an
 * extension it has no friendly field for (docs/json.md, fixed order).
 */
function payloadBody(f) {
  const el = f.payload?.find((c) => typeof c === 'object' && c.name === 'body' && !c.xmlns && !c.attrs);
  return el ? (el.children ?? []).filter((c) => typeof c === 'string').join('') : undefined;
}

function onMessage(f) {
  if (!f.from) return;
  const key = bare(f.from);
  if (f.type === 'error') {
    for (const c of state.contacts.values()) {
      const m = c.messages.find((x) => x.dir === 'out' && x.id === f.id);
      if (m) m.state = 'failed';
    }
    render();
    return;
  }
  if (f.type === 'groupchat' || key === state.me) return;
  const body = f.body ?? f.bodies?.[0]?.text ?? payloadBody(f);
  if (body === undefined && !f.chat_state && !f.received) return;
  const c = contact(key);
  if (f.received) {
    const m = c.messages.find((x) => x.dir === 'out' && x.id === f.received);
    if (m) m.state = 'delivered';
  }
  if (f.chat_state) c.typing = f.chat_state === 'composing';
  if (body !== undefined) {
    c.typing = false;
    const time = f.delay?.stamp ? new Date(f.delay.stamp) : new Date();
    c.messages.push({ dir: 'in', id: f.id, body, time });
    if (state.active !== key || document.hidden) c.unread++;
    // Delivery receipt (XEP-0184), to contacts only: strangers learn nothing.
    if (f.receipt_request && f.id && c.inRoster && leads()) {
      state.client.send({ kind: 'message', to: f.from, id: newID(), received: f.id });
    }
  }
  render();
}

// ------------------------------------------------------------ chatting

function openChat(key) {
  if (state.active && state.active !== key) stopComposing('paused');
  state.active = key;
  const c = contact(key);
  c.unread = 0;
  $('#chat-view').dataset.pane = 'chat';
  render();
  $('#message-input').value = '';
  $('#message-input').focus();
}

function sendMessage(event) {
  event.preventDefault();
  const input = $('#message-input');
  const body = input.value.trim();
  const c = state.active && contact(state.active);
  if (!body || !c) return;
  const id = newID();
  const m = { dir: 'out', id, body, time: new Date(), state: 'sent' };
  try {
    state.client.send({ kind: 'message', type: 'chat', to: c.jid, id, body, chat_state: 'active', receipt_request: true });
  } catch {
    m.state = 'failed';
  }
  c.messages.push(m);
  state.composing = false;
  clearTimeout(state.pausedTimer);
  input.value = '';
  autosize(input);
  render();
}

/** Tells the contact we are typing, and that we stopped (XEP-0085). */
function onInput() {
  const input = $('#message-input');
  autosize(input);
  if (!state.active || state.client?.status !== 'online') return;
  if (input.value.trim() === '') {
    stopComposing('active');
    return;
  }
  if (!state.composing) {
    state.composing = true;
    state.client.send({ kind: 'message', type: 'chat', to: state.active, chat_state: 'composing' });
  }
  clearTimeout(state.pausedTimer);
  state.pausedTimer = setTimeout(() => stopComposing('paused'), PAUSED_AFTER);
}

function stopComposing(chatState) {
  clearTimeout(state.pausedTimer);
  if (!state.composing) return;
  state.composing = false;
  if (state.active && state.client?.status === 'online') {
    state.client.send({ kind: 'message', type: 'chat', to: state.active, chat_state: chatState });
  }
}

function autosize(textarea) {
  textarea.style.height = 'auto';
  textarea.style.height = `${Math.min(textarea.scrollHeight + 2, 160)}px`;
}

function addContact(event) {
  event.preventDefault();
  const input = $('#add-jid');
  const jid = bare(input.value.trim());
  if (!jid.includes('@') || jid === state.me || state.client?.status !== 'online') return;
  state.client.send({ kind: 'iq', type: 'set', id: newID(), roster: { items: [{ jid }] } });
  state.client.send({ kind: 'presence', type: 'subscribe', to: jid });
  input.value = '';
  openChat(jid);
}

function answerRequest(key, yes) {
  state.requests.delete(key);
  state.client.send({ kind: 'presence', type: yes ? 'subscribed' : 'unsubscribed', to: key });
  const c = contact(key, false);
  // Sharing is both ways in a chat app: ask back unless we already see them.
  if (yes && !(c && (c.subscription === 'to' || c.subscription === 'both' || c.ask === 'subscribe'))) {
    state.client.send({ kind: 'presence', type: 'subscribe', to: key });
  }
  render();
}

// ------------------------------------------------------------ presence of a contact

const SHOW_RANK = { chat: 4, undefined: 3, away: 2, xa: 1, dnd: 0 };

/** The contact's presence: its best resource's, by priority then availability. */
function presenceOf(c) {
  let best = null;
  for (const r of c.resources.values()) {
    if (!best || r.priority > best.priority || (r.priority === best.priority && SHOW_RANK[r.show] > SHOW_RANK[best.show])) best = r;
  }
  if (!best) return { state: 'offline', text: c.lastStatus };
  const st = best.show === 'dnd' ? 'dnd' : best.show === 'away' || best.show === 'xa' ? 'away' : 'online';
  return { state: st, text: best.status ?? '' };
}

// ------------------------------------------------------------ rendering

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'data') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

function avatar(c, presence) {
  const a = el('span', { class: 'avatar', 'aria-hidden': 'true' }, displayName(c).slice(0, 1));
  a.style.setProperty('--hue', String(hue(c.jid)));
  if (presence) a.dataset.presence = presence;
  return a;
}

function hue(s) {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

function render() {
  renderRequests();
  renderRoster();
  renderChat();
  const unread = [...state.contacts.values()].reduce((n, c) => n + c.unread, 0);
  document.title = `${unread ? `(${unread}) ` : ''}xmppbridge chat`;
  saveView();
}

function renderStatus(s) {
  const box = $('#status');
  box.dataset.state = s.status;
  box.dataset.transport = s.transport ?? '';
  const via = TRANSPORT_NAMES[s.transport] ?? '';
  const online = s.resumed ? 'Resumed' : 'Online';
  const text = {
    connecting: 'Connecting…',
    online: via ? `${online} · ${via}` : online,
    reconnecting: 'Reconnecting…',
    offline: 'Offline',
  }[s.status];
  box.querySelector('.status-text').textContent = text;
  box.title = s.reason ? `${text} (${s.reason})` : text;
}

function renderRequests() {
  $('#requests').hidden = state.requests.size === 0;
  $('#request-list').replaceChildren(...[...state.requests].map((key) => el('li', { class: 'request', data: { request: key } },
    el('span', { class: 'who', title: key }, key),
    el('button', { class: 'accept', type: 'button', onclick: () => answerRequest(key, true) }, 'Accept'),
    el('button', { class: 'deny ghost', type: 'button', onclick: () => answerRequest(key, false) }, 'Deny'),
  )));
}

function renderRoster() {
  const order = { online: 0, away: 1, dnd: 2, offline: 3 };
  const shown = [...state.contacts.values()]
    .filter((c) => c.inRoster || c.messages.length > 0)
    .map((c) => ({ c, p: presenceOf(c) }))
    .sort((a, b) => order[a.p.state] - order[b.p.state] || displayName(a.c).localeCompare(displayName(b.c)));
  $('#roster').replaceChildren(...shown.map(({ c, p }) => {
    let line = p.text || PRESENCE_TEXT[p.state];
    if (c.typing) line = 'typing…';
    else if (c.ask === 'subscribe' && c.subscription !== 'both' && c.subscription !== 'to') line = 'Waiting for approval';
    return el('li', {
      class: 'contact',
      role: 'button',
      tabindex: '0',
      title: c.jid,
      'aria-selected': String(c.jid === state.active),
      data: { contact: c.jid, presence: p.state, ...(c.typing ? { typing: '' } : {}) },
      onclick: () => openChat(c.jid),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openChat(c.jid); } },
    },
    avatar(c),
    el('div', { class: 'who' }, el('div', { class: 'name' }, displayName(c)), el('div', { class: 'line' }, line)),
    c.unread ? el('span', { class: 'badge', 'aria-label': `${c.unread} unread` }, String(c.unread)) : null);
  }));
  $('#roster-empty').hidden = shown.length > 0;
}

function renderChat() {
  const c = state.active && state.contacts.get(state.active);
  $('#no-chat').hidden = Boolean(c);
  $('#chat').hidden = !c;
  if (!c) return;
  const p = presenceOf(c);
  $('#chat').dataset.contact = c.jid;
  $('#peer-name').textContent = displayName(c);
  $('#peer-status').textContent = [c.jid, p.text || PRESENCE_TEXT[p.state]].join(' · ');
  const av = avatar(c, p.state);
  av.id = 'peer-avatar';
  $('#peer-avatar').replaceWith(av);

  const list = $('#messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...c.messages.map((m) => el('li', {
    class: `message ${m.dir === 'in' ? 'incoming' : 'outgoing'}`,
    data: { id: m.id ?? '', ...(m.state ? { state: m.state } : {}) },
  },
  el('div', { class: 'bubble' }, ...linkify(m.body)),
  el('div', { class: 'meta' }, el('time', { datetime: m.time.toISOString() }, m.time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })), el('span', { class: 'receipt' })))));
  if (atBottom || c.messages.at(-1)?.dir === 'out') list.scrollTop = list.scrollHeight;

  const typing = $('#typing');
  typing.hidden = !c.typing;
  typing.dataset.contact = c.jid;
  typing.textContent = c.typing ? `${displayName(c)} is typing…` : '';
}

/** Text with its http(s) links as links. */
function linkify(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(/\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]]/g)) {
    out.push(text.slice(last, m.index), el('a', { href: m[0], target: '_blank', rel: 'noopener noreferrer' }, m[0]));
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}

// ------------------------------------------------------------ wiring

$('#login-form').addEventListener('submit', login);
$('#logout').addEventListener('click', logout);
$('#composer').addEventListener('submit', sendMessage);
$('#message-input').addEventListener('input', onInput);
$('#message-input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $('#composer').requestSubmit();
  }
});
$('#add-contact').addEventListener('submit', addContact);
$('#back').addEventListener('click', () => {
  stopComposing('paused');
  state.active = null;
  $('#chat-view').dataset.pane = 'roster';
  render();
});
document.addEventListener('visibilitychange', () => {
  const c = !document.hidden && state.active && state.contacts.get(state.active);
  if (c && c.unread) {
    c.unread = 0;
    render();
  }
});
// A page going away (a reload, a tab put away) keeps its session: the
// bridge holds it for its resume window, and the next page resumes it.
// Only signing out ends it.
window.addEventListener('pagehide', () => state.client?.detach());
// Back from the back-forward cache: the session is still there to resume.
window.addEventListener('pageshow', (e) => {
  if (!e.persisted) return;
  if (SHARED) location.reload(); // the detached SharedClient is done with
  else if (state.client?.status === 'offline') resumeStored();
});
viewChannel?.addEventListener('message', (e) => {
  const m = e.data;
  if (m?.want === 'view' && state.me && state.client?.status !== 'offline' && !state.wantView) {
    viewChannel.postMessage({ view: currentView() });
  } else if (m?.view && state.wantView && m.view.me === state.me) {
    state.wantView = false;
    applyView(m.view);
    render();
  }
});

if (params.get('jid')) $('#jid').value = params.get('jid');
if (params.get('transport')) $('#transport').value = chosenTransports()?.length === 1 ? chosenTransports()[0] : '';
if (SHARED) startShared();
else if (!resumeStored()) showView('login');

// For tests and the curious: the page's state from the console.
window.xmppbridgeDemo = state;
