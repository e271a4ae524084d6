// Tiny i18n for classcast pages: a vi/en dictionary, language choice from
// localStorage, then navigator.languages, then English.
//
// Markup: <el data-i18n="key"> gets its textContent translated;
// <el data-i18n-attr="aria-label:key;title:key2"> gets attributes translated.
// Scripts call t('key', {name: value}) for strings they build.

const STORAGE_KEY = 'classcast.lang';
export const LANGS = ['vi', 'en'];

const DICT = {
  vi: {
    'lang.name': 'Tiếng Việt',
    'lang.switch': 'Chọn ngôn ngữ',
    'app.name': 'classcast',
    'echo.title': 'Kiểm tra kết nối',
    'echo.lead': 'Trang này gửi hình và tiếng từ máy của thầy cô lên máy chủ lớp học, rồi nhận lại ngay. Nếu thấy mình ở cả hai khung hình, kết nối đã sẵn sàng cho buổi học.',
    'echo.start': 'Bắt đầu kiểm tra',
    'echo.stop': 'Dừng',
    'echo.retry': 'Thử lại',
    'echo.local': 'Máy của bạn',
    'echo.remote': 'Nhận lại từ máy chủ',
    'echo.sound_on': 'Bật tiếng',
    'echo.sound_off': 'Tắt tiếng',
    'echo.sound_hint': 'Chạm để nghe tiếng nhận lại',
    'status.idle': 'Chưa kiểm tra. Bấm “Bắt đầu kiểm tra”.',
    'status.media': 'Đang mở camera và micrô…',
    'status.gathering': 'Đang chuẩn bị kết nối…',
    'status.connecting': 'Đang kết nối tới máy chủ…',
    'status.connected': 'Đã kết nối. Hình và tiếng đang được gửi lại.',
    'status.failed': 'Kết nối không thành công.',
    'status.closed': 'Đã dừng kiểm tra.',
    'err.media': 'Không mở được camera hoặc micrô. Hãy cho phép trình duyệt dùng camera và micrô, rồi thử lại.',
    'err.nowebrtc': 'Trình duyệt này không hỗ trợ WebRTC. Hãy dùng Chrome, Edge, Firefox hoặc Safari bản mới.',
    'err.server': 'Máy chủ từ chối kết nối: {detail}',
    'err.network': 'Không liên lạc được với máy chủ. Kiểm tra mạng Wi-Fi rồi thử lại.',
    'err.ice': 'Không tạo được đường truyền tới máy chủ (mạng có thể chặn UDP).',
    'footer.help': 'Gặp khó khăn? Hãy báo cho người phụ trách kỹ thuật của trường và gửi kèm dòng trạng thái ở trên.',
  },
  en: {
    'lang.name': 'English',
    'lang.switch': 'Choose language',
    'app.name': 'classcast',
    'echo.title': 'Connection test',
    'echo.lead': 'This page sends your camera and microphone to the classroom server and gets them straight back. If you can see yourself in both frames, the connection is ready for class.',
    'echo.start': 'Start test',
    'echo.stop': 'Stop',
    'echo.retry': 'Try again',
    'echo.local': 'Your device',
    'echo.remote': 'Back from the server',
    'echo.sound_on': 'Sound on',
    'echo.sound_off': 'Sound off',
    'echo.sound_hint': 'Tap to hear the returned sound',
    'status.idle': 'Not tested yet. Press “Start test”.',
    'status.media': 'Opening camera and microphone…',
    'status.gathering': 'Preparing the connection…',
    'status.connecting': 'Connecting to the server…',
    'status.connected': 'Connected. Picture and sound are coming back.',
    'status.failed': 'The connection failed.',
    'status.closed': 'Test stopped.',
    'err.media': 'Could not open the camera or microphone. Allow the browser to use them, then try again.',
    'err.nowebrtc': 'This browser does not support WebRTC. Please use a recent Chrome, Edge, Firefox or Safari.',
    'err.server': 'The server refused the connection: {detail}',
    'err.network': 'Could not reach the server. Check the Wi-Fi network and try again.',
    'err.ice': 'Could not open a media path to the server (the network may block UDP).',
    'footer.help': 'Having trouble? Tell your school’s technical contact and include the status line above.',
  },
};

let current = pickInitial();
const listeners = new Set();

function pickInitial() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch (_) { /* storage may be blocked (private mode) */ }
  const prefs = (navigator.languages && navigator.languages.length)
    ? navigator.languages : [navigator.language || 'en'];
  for (const p of prefs) {
    const base = String(p).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

export function lang() { return current; }

export function t(key, vars) {
  let s = DICT[current][key];
  if (s === undefined) s = DICT.en[key];
  if (s === undefined) return key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

export function setLang(l) {
  if (!LANGS.includes(l)) return;
  current = l;
  try { localStorage.setItem(STORAGE_KEY, l); } catch (_) { /* ignore */ }
  apply();
  for (const fn of listeners) fn(l);
}

export function onChange(fn) { listeners.add(fn); }

// Translate every marked element under root.
export function apply(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((x) => x.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
  const titleKey = document.querySelector('title')?.dataset.i18n;
  if (titleKey) document.title = `${t(titleKey)} · ${t('app.name')}`;
  for (const b of root.querySelectorAll('[data-lang]')) {
    b.setAttribute('aria-pressed', String(b.dataset.lang === current));
  }
}

// Wire a "Tiếng Việt | English" switch: buttons carrying data-lang="vi|en".
export function mountSwitch(container) {
  container.textContent = '';
  LANGS.forEach((l, i) => {
    if (i > 0) {
      const sep = document.createElement('span');
      sep.className = 'lang-sep';
      sep.setAttribute('aria-hidden', 'true');
      sep.textContent = '|';
      container.append(sep);
    }
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'lang-btn';
    b.dataset.lang = l;
    b.lang = l;
    // Each language names itself, in itself.
    b.textContent = DICT[l]['lang.name'];
    b.addEventListener('click', () => setLang(l));
    container.append(b);
  });
  apply();
}
