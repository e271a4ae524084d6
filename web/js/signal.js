// Signalling client for classcast's WebSocket /ws (docs/protocol.md).
//
// One Signal object is one WebSocket. request() sends a message with an "id"
// and resolves with the reply carrying that id (the server copies it into
// answer / joined / created / ok / pong / error); an error reply rejects with
// a SignalError whose .code is the protocol's error code. Other messages
// (lesson, media, members, transport) go to handlers registered with on().
//
// No reconnect logic lives here: the pages decide what "coming back" means
// (a teacher resumes and publishes again, a student joins and subscribes
// again) and simply make a new Signal.

import { t } from '../i18n.js';

export const REQUEST_TIMEOUT_MS = 10000;
const CONNECT_TIMEOUT_MS = 8000;

// Reply type expected for each request type; used only when a reply arrives
// without the id we sent (the spec says it is always copied, this is a
// fallback so a server slip does not hang the page).
const REPLY_TYPE = {
  create: 'created', join: 'joined', resume: 'joined',
  publish: 'answer', subscribe: 'answer', renegotiate: 'answer',
  start: 'ok', end: 'ok', unpublish: 'ok', leave: 'ok', ping: 'pong',
};

export class SignalError extends Error {
  constructor(code, message, ref) {
    super(message || code);
    this.name = 'SignalError';
    this.code = code;
    this.ref = ref || null;
  }
}

// Text for an error code in the current language (the server's English
// `message` is only for logs).
export function errorText(code, params = {}) {
  const key = `code.${code}`;
  const s = t(key, params);
  return s === key ? t('code.unknown', { code }) : s;
}

export function wsUrl() {
  const override = new URLSearchParams(location.search).get('ws');
  if (override && /^wss?:\/\//.test(override)) return override;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

let nextId = 1;

export class Signal {
  constructor(url = wsUrl()) {
    this.url = url;
    this.ws = null;
    this.pending = new Map(); // id -> {type, resolve, reject, timer}
    this.handlers = new Map(); // type -> Set(fn)
    this.closed = false;
    this.onclose = null; // (event) => void, once, when an open socket closes
  }

  // Opens the socket. Resolves once open; rejects with SignalError('network')
  // if it cannot be opened within CONNECT_TIMEOUT_MS.
  connect() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        reject(new SignalError('network', e && e.message));
        return;
      }
      this.ws = ws;
      let opened = false;
      const timer = setTimeout(() => {
        if (opened) return;
        try { ws.close(); } catch (_) { /* ignore */ }
        reject(new SignalError('network', 'WebSocket open timed out'));
      }, CONNECT_TIMEOUT_MS);
      ws.onopen = () => {
        opened = true;
        clearTimeout(timer);
        resolve();
      };
      ws.onmessage = (ev) => this._onMessage(ev);
      ws.onerror = () => { /* onclose follows and carries the outcome */ };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        this.closed = true;
        this._failPending(new SignalError('network', `WebSocket closed (${ev.code})`));
        if (!opened) {
          reject(new SignalError('network', `WebSocket closed before opening (${ev.code})`));
          return;
        }
        const fn = this.onclose;
        this.onclose = null;
        if (fn) fn(ev);
      };
    });
  }

  get open() { return !!this.ws && this.ws.readyState === 1; }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  send(msg) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  request(msg, timeoutMs = REQUEST_TIMEOUT_MS) {
    const id = `c${nextId++}`;
    return new Promise((resolve, reject) => {
      if (!this.open) {
        reject(new SignalError('network', 'not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SignalError('timeout', `no reply to ${msg.type} within ${timeoutMs} ms`, msg.type));
      }, timeoutMs);
      this.pending.set(id, { type: msg.type, resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  // Closes without calling onclose (a deliberate close).
  close() {
    this.onclose = null;
    this.closed = true;
    this._failPending(new SignalError('network', 'closed by the page'));
    if (this.ws) {
      try { this.ws.close(1000); } catch (_) { /* ignore */ }
    }
  }

  _failPending(err) {
    for (const [, p] of this.pending) { clearTimeout(p.timer); p.reject(err); }
    this.pending.clear();
  }

  _settle(id, msg) {
    const p = this.pending.get(id);
    if (!p) return false;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (msg.type === 'error') {
      const err = new SignalError(msg.code || 'server_error', msg.message, msg.ref);
      // too_many_tries: whole seconds before the server takes another try.
      if (Number.isInteger(msg.retry_after)) err.retryAfter = msg.retry_after;
      p.reject(err);
    }
    else p.resolve(msg);
    return true;
  }

  _onMessage(ev) {
    if (typeof ev.data !== 'string') return;
    let msg;
    try { msg = JSON.parse(ev.data); } catch (_) { return; }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;

    if (msg.id !== undefined && msg.id !== null) {
      // A reply to one of our requests, or to something sent on this socket
      // by someone else (a test poking the raw socket): never misroute it.
      if (this._settle(String(msg.id), msg)) return;
      if (msg.type === 'error' || msg.type === 'ok' || msg.type === 'answer' || msg.type === 'pong') return;
    } else if (['created', 'joined', 'answer', 'ok', 'pong', 'error'].includes(msg.type)) {
      // Fallback: a reply without its id settles the oldest request that
      // expects this reply type (for errors: whose type is `ref`).
      for (const [id, p] of this.pending) {
        const match = msg.type === 'error' ? (!msg.ref || msg.ref === p.type) : REPLY_TYPE[p.type] === msg.type;
        if (match) { this._settle(id, msg); return; }
      }
    }
    const set = this.handlers.get(msg.type);
    if (set) for (const fn of set) { try { fn(msg); } catch (e) { console.error(e); } }
  }
}

// No page waits for ICE gathering before it sends an offer. classcast is
// an ICE-lite agent (RFC 8445 section 2.5): it never sends connectivity
// checks, it only answers the browser's, and it learns the browser's address
// from them, so the candidates in an offer are never read. Waiting for
// gathering to complete cost a join 130-180 ms on a LAN (and up to seconds
// where an interface without a route holds gathering open).

// Backoff for reconnects. A restarted server is back in a second or two
// and every page should be back with it (docs/state.md): the first
// FAST_TRIES tries (about 30 s) come every 0.5 to 1 s, random in between
// so thirty tablets on one Wi-Fi do not retry in lockstep (a try against a
// server that is down costs nothing: the connection is refused at once).
// Then 2 s, 4 s, 8 s and 10 s, each with up to 30 % jitter.
export const FAST_TRIES = 40;
export function backoffMs(attempt) {
  if (attempt < FAST_TRIES) return Math.round(500 + Math.random() * 500);
  const base = Math.min(10000, 2000 * 2 ** Math.min(attempt - FAST_TRIES, 3));
  return Math.round(base * (0.7 + Math.random() * 0.3));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Small helpers shared by the pages.
export const $ = (id) => document.getElementById(id);

export function remember(key, value) {
  try { localStorage.setItem(key, value); } catch (_) { /* private mode */ }
}
export function recall(key) {
  try { return localStorage.getItem(key) || ''; } catch (_) { return ''; }
}

// A lesson code from whatever was typed or linked: only letters and digits
// stay, so "482 913" and "48-29-13" become "482913" and "demo" stays "demo".
export function normalizeCode(s) {
  return String(s || '').replace(/[^A-Za-z0-9]/g, '').slice(0, 32);
}
// The codes the server gives out (docs/protocol.md): a teacher's lesson has
// 6 digits; a fixed lesson (the demo, `serve --demo`) has a word such as
// "demo" (1..16 letters and digits, at least one letter). Anything else is
// a typing slip the page can point out before asking the server.
export const isLessonCode = (s) => /^[0-9]{6}$/.test(s)
  || (/^[A-Za-z0-9]{1,16}$/.test(s) && /[A-Za-z]/.test(s));

// Keeps a code field clean while someone types (letters and digits, at most
// 16). Tablets get the number pad for the usual 6-digit code and the letter
// keyboard when the field holds a word (a link prefilled with "demo", or
// letters typed on a keyboard). Call the returned fit() after setting the
// value from a link.
export function bindCodeInput(input, onInput) {
  const fit = () => input.setAttribute('inputmode', /[A-Za-z]/.test(input.value) ? 'text' : 'numeric');
  input.addEventListener('input', () => {
    const v = normalizeCode(input.value).slice(0, 16);
    if (v !== input.value) input.value = v;
    fit();
    if (onInput) onInput();
  });
  return fit;
}
