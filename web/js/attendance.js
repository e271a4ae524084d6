// Attendance on the teacher page (web/js/teacher.js): what each student or
// school is doing now, in one word with a colour and a symbol (never the
// colour alone), the students and schools that left, and a live table of
// who came when, with the lesson's attendance as a CSV file to download
// (GET /api/lessons/{code}/attendance.csv, docs/accounts.md "Lesson
// history").
//
// The states, from the server's `members` (docs/protocol.md):
//   watching   receiving the lesson, pictures moving;
//   weak       receiving, but the server sends fewer frames (weak Wi-Fi);
//   frozen     receiving, but its page decoded no frame for over 2 s;
//   no_picture joined, nothing received yet (or the teacher sends nothing);
//   left       in `left`: gone for the rest of the lesson.

import { t, lang } from '../i18n.js';

// The state of a present member (an entry of `members`).
export function memberState(m) {
  if (!m.watching) return 'no_picture';
  if (m.frozen) return 'frozen';
  if (m.weak_link) return 'weak';
  return 'watching';
}

// The word for a state (the keys the participants list always used for
// watching, weak and no picture).
export function stateLabel(state) {
  switch (state) {
    case 'watching': return t('teacher.watching');
    case 'weak': return t('teacher.watching_weak');
    case 'frozen': return t('att.frozen');
    case 'left': return t('att.left');
    default: return t('teacher.not_watching');
  }
}

// "14:05" in the page's language.
export function clock(ms) {
  if (!Number.isFinite(ms) || ms <= 0) return '';
  return new Date(ms).toLocaleTimeString(lang() === 'vi' ? 'vi-VN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
}

const guest = (m) => m && typeof m.id === 'string' && (m.role === 'student' || m.role === 'school');

// Who left and is not back: an entry of `left` is hidden while a present
// member has its id (it came back as itself) or its name and role (it
// came back as a new member).
export function stillGone(members, left) {
  const here = new Set(members.filter(guest).map((m) => m.id));
  const names = new Set(members.filter(guest).map((m) => `${m.role}\n${m.name}`));
  return left.filter((d) => guest(d) && !here.has(d.id) && !names.has(`${d.role}\n${d.name}`));
}

function cell(text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = text;
  return td;
}

function stateCell(state, text) {
  const td = document.createElement('td');
  const s = document.createElement('span');
  s.className = 'att-state';
  s.dataset.state = state;
  s.textContent = text;
  td.append(s);
  return td;
}

// ui: {card, count, table, body, empty, csv, leftSection, leftList}.
export function mountAttendance(ui) {
  // The students and schools that left, under the participants.
  function renderLeft(cc) {
    const gone = stillGone(cc.members, cc.left || []);
    ui.leftSection.hidden = !gone.length;
    ui.leftList.textContent = '';
    for (const d of gone) {
      const li = document.createElement('li');
      li.className = 'member member-left';
      li.dataset.id = d.id;
      li.dataset.role = d.role;
      li.dataset.state = 'left';
      const line = document.createElement('div');
      line.className = 'member-line';
      const name = document.createElement('span');
      name.className = 'member-name';
      name.textContent = d.name;
      const state = document.createElement('span');
      state.className = 'member-state';
      state.textContent = t('att.left_at', { time: clock(d.left_at) });
      line.append(name, state);
      li.append(line);
      ui.leftList.append(li);
    }
  }

  // Everyone who came, in the order they came: present and gone.
  function renderTable(cc) {
    const rows = [
      ...cc.members.filter((m) => guest(m) && !m.waiting).map((m) => ({ m, state: memberState(m), at: Number(m.joined_at) || 0 })),
      ...(cc.left || []).filter(guest).map((d) => ({ m: d, state: 'left', at: Number(d.joined_at) || 0 })),
    ].sort((a, b) => a.at - b.at);
    ui.body.textContent = '';
    for (const { m, state } of rows) {
      const tr = document.createElement('tr');
      tr.dataset.id = m.id;
      tr.dataset.state = state;
      // A school says so under its name; students are most of the list.
      const who = cell(m.name, 'att-name');
      if (m.role === 'school') {
        const tag = document.createElement('span');
        tag.className = 'tag tag-role tag-school';
        tag.textContent = t('sem.role.school');
        who.append(document.createElement('br'), tag);
      }
      tr.dataset.role = m.role;
      tr.append(who, cell(clock(m.joined_at), 'att-time'),
        stateCell(state, state === 'left' ? t('att.left_at', { time: clock(m.left_at) }) : stateLabel(state)));
      ui.body.append(tr);
    }
    ui.table.hidden = !rows.length;
    ui.empty.hidden = !!rows.length;
    const here = rows.filter((r) => r.state !== 'left').length;
    ui.count.textContent = t('att.count', { here, total: rows.length });
  }

  return {
    render(cc) {
      renderLeft(cc);
      renderTable(cc);
      ui.card.hidden = !cc.code;
      if (cc.code) {
        const href = `/api/lessons/${encodeURIComponent(cc.code)}/attendance.csv?lang=${lang() === 'vi' ? 'vi' : 'en'}`;
        if (ui.csv.getAttribute('href') !== href) ui.csv.setAttribute('href', href);
      }
    },
  };
}
