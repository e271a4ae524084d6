// A scripted stand-in for classcast's /ws (docs/protocol.md), for testing the
// pages' flows and translations while no real server is needed: it keeps one
// lesson, answers create / resume / join / start / end / leave / ping, and
// answers publish / subscribe with a syntactically valid SDP answer whose
// single candidate goes nowhere (127.0.0.1 port 9), so no media ever flows.
// Tests drive it further with sendTo() / broadcast() / drop().
import { WebSocketServer } from 'ws';
import { startStatic } from './static.mjs';

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => ((i * 37 + 11) & 0xff).toString(16).padStart(2, '0').toUpperCase()).join(':');

// A recvonly/sendonly-flipped answer with VP8 / Opus picked by payload type
// from the offer (never a fixed number).
export function mockAnswer(offer) {
  const sections = offer.split(/\r?\n(?=m=)/);
  const mids = [];
  const out = ['v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0'];
  const media = [];
  for (const sec of sections.slice(1)) {
    const lines = sec.split(/\r?\n/);
    const kind = lines[0].slice(2).split(' ')[0];
    const mid = (lines.find((l) => l.startsWith('a=mid:')) || 'a=mid:0').slice(6);
    const want = kind === 'video' ? /^a=rtpmap:(\d+) VP8\/90000/i : /^a=rtpmap:(\d+) opus\/48000/i;
    let pt = null;
    for (const l of lines) { const m = want.exec(l); if (m) { pt = m[1]; break; } }
    const dirOf = (l) => /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(l)?.[1];
    const dir = lines.map(dirOf).find(Boolean) || 'sendrecv';
    const flip = { sendonly: 'recvonly', recvonly: 'sendonly', sendrecv: 'sendrecv', inactive: 'inactive' }[dir];
    mids.push(mid);
    const m = [`m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`, 'c=IN IP4 127.0.0.1', `a=mid:${mid}`, `a=${flip}`,
      'a=rtcp-mux', 'a=ice-ufrag:mock', 'a=ice-pwd:mockmockmockmockmockmock',
      `a=fingerprint:sha-256 ${FINGERPRINT}`, 'a=setup:passive',
      kind === 'video' ? `a=rtpmap:${pt} VP8/90000` : `a=rtpmap:${pt} opus/48000/2`,
      'a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host', 'a=end-of-candidates'];
    if (flip === 'sendonly' || flip === 'sendrecv') m.push(`a=msid:mock mock${mid}`, `a=ssrc:${1000 + media.length} cname:mock`);
    media.push(m.join('\r\n'));
  }
  out.push(`a=group:BUNDLE ${mids.join(' ')}`, 'a=ice-lite');
  return `${out.join('\r\n')}\r\n${media.join('\r\n')}\r\n`;
}

export async function startMock({ code = '123456' } = {}) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  const clients = new Set(); // {ws, role, name, member, log: []}
  const lesson = { code, title: '', teacher: '', state: 'waiting', token: 'tok-teacher', viewerToken: 'tok-viewer' };
  const received = []; // every parsed client message, in order
  let nextMember = 1;

  const send = (c, msg) => { if (c.ws.readyState === 1) c.ws.send(JSON.stringify(msg)); };
  const reply = (c, req, msg) => send(c, req.id !== undefined ? { ...msg, id: req.id } : msg);
  const err = (c, req, code2, message) => reply(c, req, { type: 'error', code: code2, message, ref: req.type || null });
  const members = () => [...clients].filter((c) => c.member).map((c) => ({
    id: c.member, name: c.name, role: c.role, watching: !!c.watching,
  }));
  const sendMembers = () => {
    for (const c of clients) if (c.role === 'teacher') send(c, { type: 'members', members: members() });
  };
  const lessonMsg = () => ({ type: 'lesson', state: lesson.state, title: lesson.title, teacher: lesson.teacher });

  const handle = (c, data) => {
    let req;
    try { req = JSON.parse(data); } catch (_) { err(c, {}, 'bad_json', 'not JSON'); return; }
    received.push(req);
    switch (req.type) {
      case 'create':
        c.role = 'teacher'; c.name = req.name; c.member = `m${nextMember++}`;
        lesson.title = req.title || ''; lesson.teacher = req.name; lesson.state = 'waiting';
        reply(c, req, { type: 'created', code: lesson.code, title: lesson.title, token: lesson.token,
          viewer_token: lesson.viewerToken, member: c.member, role: 'teacher' });
        send(c, lessonMsg());
        sendMembers();
        break;
      case 'resume':
        if (req.code !== lesson.code) { err(c, req, 'no_such_lesson', 'no such lesson'); break; }
        if (req.token !== lesson.token) { err(c, req, 'bad_token', 'bad token'); break; }
        c.role = 'teacher'; c.name = lesson.teacher; c.member = `m${nextMember++}`;
        reply(c, req, { type: 'joined', code: lesson.code, title: lesson.title, teacher: lesson.teacher,
          state: lesson.state, member: c.member, role: 'teacher' });
        send(c, lessonMsg());
        sendMembers();
        break;
      case 'join':
        if (req.code !== lesson.code) { err(c, req, 'no_such_lesson', 'no such lesson'); break; }
        if (lesson.state === 'ended') { err(c, req, 'lesson_ended', 'ended'); break; }
        c.role = 'student'; c.name = req.name; c.member = `m${nextMember++}`;
        reply(c, req, { type: 'joined', code: lesson.code, title: lesson.title, teacher: lesson.teacher,
          state: lesson.state, member: c.member, role: 'student' });
        send(c, lessonMsg());
        send(c, { type: 'media', camera: false, screen: false, mic: false });
        sendMembers();
        break;
      case 'start':
      case 'end':
        if (!c.member) { err(c, req, 'not_joined', 'join first'); break; }
        if (c.role !== 'teacher') { err(c, req, 'forbidden', 'teachers only'); break; }
        lesson.state = req.type === 'start' ? 'live' : 'ended';
        reply(c, req, { type: 'ok', ref: req.type });
        for (const o of clients) if (o.member) send(o, lessonMsg());
        break;
      case 'publish':
      case 'subscribe':
      case 'renegotiate':
        if (!c.member) { err(c, req, 'not_joined', 'join first'); break; }
        if ((req.type === 'publish' || req.for === 'publish') && c.role !== 'teacher') { err(c, req, 'forbidden', 'students cannot publish'); break; }
        if (typeof req.sdp !== 'string') { err(c, req, 'bad_request', 'sdp missing'); break; }
        if (req.type === 'subscribe' || req.for === 'subscribe') { c.watching = true; sendMembers(); }
        reply(c, req, { type: 'answer', for: req.for || req.type, sdp: mockAnswer(req.sdp) });
        break;
      case 'unpublish':
        reply(c, req, { type: 'ok', ref: 'unpublish' });
        break;
      case 'leave':
        reply(c, req, { type: 'ok', ref: 'leave' });
        c.member = null;
        sendMembers();
        c.ws.close();
        break;
      case 'ping':
        reply(c, req, { type: 'pong' });
        break;
      default:
        err(c, req, 'unknown_type', 'unknown type');
    }
  };

  const web = await startStatic({
    onUpgrade(req, socket, head) {
      if (!req.url.startsWith('/ws')) { socket.destroy(); return; }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const c = { ws, role: null, name: null, member: null, watching: false };
        clients.add(c);
        ws.on('message', (d, isBinary) => { if (!isBinary) handle(c, d.toString()); });
        ws.on('close', () => { clients.delete(c); if (c.member) { c.member = null; sendMembers(); } });
      });
    },
  });

  return {
    url: web.url,
    lesson,
    received,
    requests: web.requests,
    clients: () => [...clients],
    students: () => [...clients].filter((c) => c.role === 'student'),
    broadcast(msg) { for (const c of clients) if (c.member) send(c, msg); },
    setState(state) { lesson.state = state; for (const c of clients) if (c.member) send(c, lessonMsg()); },
    // Close every student socket (as a Wi-Fi drop would look to the server).
    dropStudents() { for (const c of clients) if (c.role === 'student') c.ws.terminate(); },
    async close() {
      for (const c of clients) c.ws.terminate();
      wss.close();
      await web.close();
    },
  };
}
