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
    'common.back_home': 'Về trang đầu',
    'common.retry': 'Thử lại',
    'common.cancel': 'Hủy',
    'conn.connecting': 'Đang kết nối tới máy chủ…',
    'conn.online': 'Đã kết nối với máy chủ',
    'conn.reconnecting': 'Mất kết nối. Đang kết nối lại…',
    'conn.offline': 'Chưa kết nối',
    'index.title': 'Vào lớp học',
    'index.lead': 'Nhập mã buổi học mà thầy cô đọc hoặc viết lên bảng.',
    'index.code': 'Mã buổi học',
    'index.code_hint': 'Gồm 6 chữ số',
    'index.name': 'Tên của em',
    'index.name_hint': 'Thầy cô sẽ thấy tên này.',
    'index.join': 'Vào lớp',
    'index.teacher_link': 'Tôi là giáo viên: bắt đầu buổi học',
    'index.check_link': 'Kiểm tra camera và kết nối',
    'index.err_code': 'Mã buổi học gồm 6 chữ số, ví dụ 482913 (lớp học mẫu có mã demo).',
    'index.err_name': 'Hãy nhập tên của em.',
    'teacher.title': 'Buổi học của thầy cô',
    'teacher.create_h': 'Tạo buổi học mới',
    'teacher.create_lead': 'Điền tên buổi học, bấm “Tạo buổi học”, rồi đọc mã cho học sinh.',
    'teacher.lesson_title': 'Tên buổi học (không bắt buộc)',
    'teacher.title_ph': 'Ví dụ: Toán lớp 5 – Phân số',
    'teacher.name': 'Tên thầy cô',
    'teacher.create': 'Tạo buổi học',
    'teacher.code_label': 'Mã buổi học',
    'teacher.code_hint': 'Đọc to hoặc viết mã này lên bảng. Học sinh mở trang classcast và nhập mã.',
    'teacher.link_label': 'Hoặc gửi đường dẫn này cho học sinh:',
    'teacher.copy': 'Sao chép',
    'teacher.copied': 'Đã sao chép',
    'teacher.media_h': 'Camera, micrô và màn hình',
    'teacher.camera': 'Camera',
    'teacher.mic': 'Micrô',
    'teacher.cam_on': 'Bật camera',
    'teacher.cam_off': 'Tắt camera',
    'teacher.mic_on': 'Bật micrô',
    'teacher.mic_off': 'Tắt micrô',
    'teacher.screen_on': 'Chia sẻ màn hình',
    'teacher.screen_off': 'Dừng chia sẻ màn hình',
    'teacher.preview_cam': 'Camera của thầy cô',
    'teacher.preview_screen': 'Màn hình đang chia sẻ',
    'teacher.preview_none': 'Chưa bật camera hay chia sẻ màn hình.',
    'teacher.device_n': '{kind} {n}',
    'teacher.start': 'Bắt đầu buổi học',
    'teacher.end': 'Kết thúc buổi học',
    'teacher.end_confirm_h': 'Kết thúc buổi học?',
    'teacher.end_confirm': 'Học sinh sẽ không xem được nữa và không thể mở lại buổi học này.',
    'teacher.end_yes': 'Kết thúc buổi học',
    'teacher.end_no': 'Tiếp tục dạy',
    'teacher.state.waiting': 'Chưa bắt đầu. Học sinh vào lớp sẽ thấy “Đang chờ giáo viên…”. Khi sẵn sàng, bấm “Bắt đầu buổi học”.',
    'teacher.state.live': 'Đang dạy: học sinh đang xem và nghe thầy cô.',
    'teacher.state.ended': 'Buổi học đã kết thúc.',
    'teacher.new_lesson': 'Tạo buổi học khác',
    'teacher.members_h': 'Học sinh trong lớp',
    'teacher.members_count': '{n} học sinh, {w} đang xem',
    'teacher.members_count_one': '1 học sinh, {w} đang xem',
    'teacher.members_empty': 'Chưa có học sinh nào vào lớp.',
    'teacher.watching': 'Đang xem',
    'teacher.watching_weak': 'Đang xem · mạng yếu',
    'teacher.not_watching': 'Chưa nhận được hình',
    'teacher.role_teacher': 'Giáo viên',
    'teacher.send.idle': 'Chưa gửi hình và tiếng.',
    'teacher.send.connecting': 'Đang kết nối để gửi hình và tiếng…',
    'teacher.send.connected': 'Đang gửi hình và tiếng tới lớp.',
    'teacher.send.failed': 'Không gửi được hình và tiếng. Đang thử lại…',
    'teacher.resumed': 'Đã trở lại buổi học {code}.',
    'teacher.screen_again': 'Trang vừa tải lại nên màn hình đã ngừng chia sẻ. Bấm “Chia sẻ màn hình” nếu cần chia sẻ tiếp.',
    'local.h': 'Máy tính lớp học',
    'local.lead': 'Thầy cô đang mở trang này ngay trên máy chạy classcast, nên máy có thể tự phát màn hình, camera và micrô của chính nó cho cả lớp, không cần chia sẻ qua trình duyệt. Chọn nguồn cho từng mục rồi bấm “Bắt đầu phát từ máy này”.',
    'local.screen': 'Màn hình',
    'local.camera': 'Camera',
    'local.mic': 'Micrô',
    'local.display': 'Màn hình nào',
    'local.display_default': 'Màn hình mặc định ({d})',
    'local.display_auto': 'Màn hình mặc định',
    'local.none': 'Không dùng',
    'local.start': 'Bắt đầu phát từ máy này',
    'local.stop': 'Dừng phát từ máy này',
    'local.state.stopped': 'Máy này chưa phát gì cho lớp.',
    'local.state.starting': 'Đang mở thiết bị…',
    'local.state.stopping': 'Đang dừng…',
    'local.state.running': 'Máy này đang phát cho lớp: {list}.',
    'local.hint_switch': 'Muốn đổi nguồn (ví dụ đổi màn hình), chỉ cần chọn lại trong danh sách: máy đổi ngay, học sinh không phải làm gì.',
    'local.failed': 'Không mở được {what} “{name}”.',
    'local.failed_any': 'Máy không bắt đầu phát được.',
    'local.what.camera': 'camera',
    'local.what.mic': 'micrô',
    'local.what.screen': 'màn hình',
    'local.found.camera': 'Các camera có trên máy này: {list}.',
    'local.found.mic': 'Các micrô có trên máy này: {list}.',
    'local.found.screen': 'Các màn hình có trên máy này: {list}.',
    'local.found_none.camera': 'Máy này không có camera nào. Hãy cắm camera vào máy rồi bấm lại, hoặc chọn “Không dùng”.',
    'local.found_none.mic': 'Máy này không có micrô nào. Hãy cắm micrô vào máy rồi bấm lại, hoặc chọn “Không dùng”.',
    'local.found_none.screen': 'Không thấy màn hình nào đang chạy trên máy này.',
    'local.kept': 'Máy vẫn tiếp tục phát các nguồn cũ.',
    'local.detail': 'Chi tiết kỹ thuật (cho người phụ trách máy): {detail}',
    'local.pipe.screen': 'Màn hình máy tính',
    'local.pipe.screen-pipewire': 'Màn hình (PipeWire/Wayland)',
    'local.pipe.camera': 'Camera cắm vào máy',
    'local.pipe.mic': 'Micrô của máy',
    'local.pipe.mic-alsa': 'Micrô của máy (ALSA)',
    'local.pipe.test-video': 'Hình thử (quả bóng chuyển động)',
    'local.pipe.test-audio': 'Tiếng thử (tiếng bíp đều)',
    'student.title': 'Buổi học',
    'student.join_h': 'Vào lớp học',
    'student.joining': 'Đang vào lớp…',
    'student.waiting': 'Đang chờ giáo viên…',
    'student.waiting_sub': 'Buổi học sẽ tự bắt đầu khi thầy cô sẵn sàng. Em cứ để trang này mở.',
    'student.live': 'Đang học',
    'student.reconnecting': 'Đang kết nối lại…',
    'student.reconnecting_sub': 'Mạng bị gián đoạn. Trang sẽ tự kết nối lại, em không cần làm gì.',
    'student.ended': 'Buổi học đã kết thúc',
    'student.ended_sub': 'Cảm ơn em đã tham gia. Em có thể đóng trang này.',
    'student.failed': 'Không vào được lớp',
    'student.no_video': 'Thầy cô chưa bật camera hay chia sẻ màn hình.',
    'student.sound_tap': 'Chạm để bật tiếng',
    'student.weak_link': 'Wi-Fi của em đang yếu nên hình của thầy cô sẽ hơi giật. Tiếng vẫn nghe bình thường.',
    'student.sound_mute': 'Tắt tiếng',
    'student.teacher': 'Giáo viên: {name}',
    'student.leave': 'Rời lớp',
    'student.camera': 'Camera của thầy cô',
    'student.screen': 'Màn hình của thầy cô',
    'code.bad_json': 'Máy chủ không hiểu yêu cầu của trang. Hãy tải lại trang.',
    'code.unknown_type': 'Máy chủ không hiểu yêu cầu của trang. Hãy tải lại trang.',
    'code.bad_request': 'Thông tin gửi đi chưa đúng (ví dụ tên quá dài). Hãy sửa rồi thử lại.',
    'code.too_big': 'Yêu cầu gửi đi quá lớn.',
    'code.not_joined': 'Trang chưa vào buổi học. Hãy tải lại trang.',
    'code.already_joined': 'Trang này đã ở trong một buổi học rồi.',
    'code.no_such_lesson': 'Không có buổi học nào với mã này. Hãy hỏi lại mã với thầy cô.',
    'code.bad_token': 'Không thể trở lại buổi học này từ trình duyệt này. Hãy tạo buổi học mới.',
    'code.lesson_ended': 'Buổi học này đã kết thúc.',
    'code.forbidden': 'Chỉ giáo viên mới làm được việc này.',
    'code.bad_sdp': 'Máy chủ không dùng được hình hoặc tiếng từ trình duyệt này. Hãy thử Chrome hoặc Safari bản mới.',
    'code.capture_failed': 'Máy tính lớp học không mở được thiết bị để phát cho lớp.',
    'code.server_busy': 'Máy chủ đang quá tải (quá nhiều lớp hoặc học sinh). Hãy thử lại sau ít phút.',
    'code.too_many_tries': 'Mạng này đã nhập sai mã quá nhiều lần. Hãy kiểm tra lại mã với thầy cô; trang sẽ tự thử lại sau {seconds} giây.',
    'code.server_error': 'Máy chủ gặp sự cố. Hãy thử lại.',
    'code.timeout': 'Máy chủ không trả lời. Kiểm tra Wi-Fi rồi thử lại.',
    'code.network': 'Không liên lạc được với máy chủ. Kiểm tra Wi-Fi rồi thử lại.',
    'code.unknown': 'Có lỗi ({code}). Hãy thử lại.',
    'err.camera': 'Không mở được camera. Hãy cho phép trình duyệt dùng camera, hoặc chọn camera khác.',
    'err.mic': 'Không mở được micrô. Hãy cho phép trình duyệt dùng micrô, hoặc chọn micrô khác.',
    'err.screen': 'Không chia sẻ được màn hình (có thể thầy cô đã bấm Hủy).',
    'err.noscreen': 'Trình duyệt này không chia sẻ được màn hình. Hãy dùng Chrome, Edge hoặc Firefox trên máy tính.',
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
    'common.back_home': 'Back to the start page',
    'common.retry': 'Try again',
    'common.cancel': 'Cancel',
    'conn.connecting': 'Connecting to the server…',
    'conn.online': 'Connected to the server',
    'conn.reconnecting': 'Connection lost. Reconnecting…',
    'conn.offline': 'Not connected',
    'index.title': 'Join a lesson',
    'index.lead': 'Type the lesson code your teacher reads out or writes on the board.',
    'index.code': 'Lesson code',
    'index.code_hint': '6 digits',
    'index.name': 'Your name',
    'index.name_hint': 'Your teacher sees this name.',
    'index.join': 'Join',
    'index.teacher_link': 'I am the teacher: start a lesson',
    'index.check_link': 'Check camera and connection',
    'index.err_code': 'The lesson code has 6 digits, like 482913 (the demo lesson\'s code is demo).',
    'index.err_name': 'Please type your name.',
    'teacher.title': 'Your lesson',
    'teacher.create_h': 'Create a new lesson',
    'teacher.create_lead': 'Give the lesson a title, press “Create lesson”, then read the code to your students.',
    'teacher.lesson_title': 'Lesson title (optional)',
    'teacher.title_ph': 'For example: Maths year 5 – Fractions',
    'teacher.name': 'Your name',
    'teacher.create': 'Create lesson',
    'teacher.code_label': 'Lesson code',
    'teacher.code_hint': 'Read this code aloud or write it on the board. Students open the classcast page and type it.',
    'teacher.link_label': 'Or send students this link:',
    'teacher.copy': 'Copy',
    'teacher.copied': 'Copied',
    'teacher.media_h': 'Camera, microphone and screen',
    'teacher.camera': 'Camera',
    'teacher.mic': 'Microphone',
    'teacher.cam_on': 'Turn camera on',
    'teacher.cam_off': 'Turn camera off',
    'teacher.mic_on': 'Turn microphone on',
    'teacher.mic_off': 'Turn microphone off',
    'teacher.screen_on': 'Share screen',
    'teacher.screen_off': 'Stop sharing screen',
    'teacher.preview_cam': 'Your camera',
    'teacher.preview_screen': 'Shared screen',
    'teacher.preview_none': 'Camera off and no screen shared.',
    'teacher.device_n': '{kind} {n}',
    'teacher.start': 'Start lesson',
    'teacher.end': 'End lesson',
    'teacher.end_confirm_h': 'End the lesson?',
    'teacher.end_confirm': 'Students will stop seeing and hearing you, and this lesson cannot be reopened.',
    'teacher.end_yes': 'End lesson',
    'teacher.end_no': 'Keep teaching',
    'teacher.state.waiting': 'Not started. Students who join see “Waiting for the teacher…”. When you are ready, press “Start lesson”.',
    'teacher.state.live': 'Live: students can see and hear you.',
    'teacher.state.ended': 'The lesson has ended.',
    'teacher.new_lesson': 'Create another lesson',
    'teacher.members_h': 'Students in the lesson',
    'teacher.members_count': '{n} students, {w} watching',
    'teacher.members_count_one': '1 student, {w} watching',
    'teacher.members_empty': 'No students have joined yet.',
    'teacher.watching': 'Watching',
    'teacher.watching_weak': 'Watching · weak Wi-Fi',
    'teacher.not_watching': 'No picture yet',
    'teacher.role_teacher': 'Teacher',
    'teacher.send.idle': 'Not sending picture or sound yet.',
    'teacher.send.connecting': 'Connecting to send picture and sound…',
    'teacher.send.connected': 'Sending picture and sound to the class.',
    'teacher.send.failed': 'Picture and sound are not getting through. Trying again…',
    'teacher.resumed': 'Back in lesson {code}.',
    'teacher.screen_again': 'The page was reloaded, so screen sharing stopped. Press “Share screen” if you want to share it again.',
    'local.h': 'This classroom computer',
    'local.lead': 'You are on the computer that runs classcast, so it can send its own screen, camera and microphone to the class directly, without sharing through the browser. Choose a source for each, then press “Start sending from this computer”.',
    'local.screen': 'Screen',
    'local.camera': 'Camera',
    'local.mic': 'Microphone',
    'local.display': 'Which screen',
    'local.display_default': 'Default screen ({d})',
    'local.display_auto': 'Default screen',
    'local.none': 'Off',
    'local.start': 'Start sending from this computer',
    'local.stop': 'Stop sending from this computer',
    'local.state.stopped': 'This computer is not sending anything to the class.',
    'local.state.starting': 'Opening the devices…',
    'local.state.stopping': 'Stopping…',
    'local.state.running': 'This computer is sending to the class: {list}.',
    'local.hint_switch': 'To switch a source (another screen, for example), just pick it in the list: it changes at once, and students need not do anything.',
    'local.failed': 'Could not open the {what} “{name}”.',
    'local.failed_any': 'The computer could not start sending.',
    'local.what.camera': 'camera',
    'local.what.mic': 'microphone',
    'local.what.screen': 'screen',
    'local.found.camera': 'Cameras on this computer: {list}.',
    'local.found.mic': 'Microphones on this computer: {list}.',
    'local.found.screen': 'Screens on this computer: {list}.',
    'local.found_none.camera': 'This computer has no camera. Plug one in and press start again, or choose “Off”.',
    'local.found_none.mic': 'This computer has no microphone. Plug one in and press start again, or choose “Off”.',
    'local.found_none.screen': 'No running screen was found on this computer.',
    'local.kept': 'The computer keeps sending the previous sources.',
    'local.detail': 'Technical detail (for whoever looks after this computer): {detail}',
    'local.pipe.screen': 'Computer screen',
    'local.pipe.screen-pipewire': 'Screen (PipeWire/Wayland)',
    'local.pipe.camera': 'Camera plugged into this computer',
    'local.pipe.mic': 'This computer’s microphone',
    'local.pipe.mic-alsa': 'This computer’s microphone (ALSA)',
    'local.pipe.test-video': 'Test picture (moving ball)',
    'local.pipe.test-audio': 'Test sound (steady beep)',
    'student.title': 'Lesson',
    'student.join_h': 'Join a lesson',
    'student.joining': 'Joining the lesson…',
    'student.waiting': 'Waiting for the teacher…',
    'student.waiting_sub': 'The lesson starts by itself when your teacher is ready. Keep this page open.',
    'student.live': 'Live',
    'student.reconnecting': 'Reconnecting…',
    'student.reconnecting_sub': 'The network dropped. The page reconnects by itself; you do not need to do anything.',
    'student.ended': 'The lesson has ended',
    'student.ended_sub': 'Thank you for joining. You can close this page.',
    'student.failed': 'Could not join the lesson',
    'student.no_video': 'The teacher has not turned on the camera or shared the screen yet.',
    'student.sound_tap': 'Tap for sound',
    'student.weak_link': 'Your Wi-Fi is weak, so the teacher\'s video may look jerky. The sound is not affected.',
    'student.sound_mute': 'Mute',
    'student.teacher': 'Teacher: {name}',
    'student.leave': 'Leave',
    'student.camera': 'Teacher’s camera',
    'student.screen': 'Teacher’s screen',
    'code.bad_json': 'The server did not understand the page. Please reload the page.',
    'code.unknown_type': 'The server did not understand the page. Please reload the page.',
    'code.bad_request': 'Something you typed is not accepted (for example a name that is too long). Fix it and try again.',
    'code.too_big': 'The request was too large.',
    'code.not_joined': 'The page is not in a lesson yet. Please reload the page.',
    'code.already_joined': 'This page is already in a lesson.',
    'code.no_such_lesson': 'There is no lesson with this code. Check the code with your teacher.',
    'code.bad_token': 'This browser cannot return to that lesson. Please create a new lesson.',
    'code.lesson_ended': 'This lesson has ended.',
    'code.forbidden': 'Only the teacher can do that.',
    'code.bad_sdp': 'The server could not use the picture or sound from this browser. Try a recent Chrome or Safari.',
    'code.capture_failed': 'The classroom computer could not open a device to send to the class.',
    'code.server_busy': 'The server is full (too many lessons or students). Try again in a few minutes.',
    'code.too_many_tries': 'Too many wrong codes were typed on this network. Check the code with your teacher; the page tries again by itself in {seconds} seconds.',
    'code.server_error': 'The server had a problem. Please try again.',
    'code.timeout': 'The server did not answer. Check the Wi-Fi and try again.',
    'code.network': 'Could not reach the server. Check the Wi-Fi and try again.',
    'code.unknown': 'Something went wrong ({code}). Please try again.',
    'err.camera': 'Could not open the camera. Allow the browser to use it, or choose another camera.',
    'err.mic': 'Could not open the microphone. Allow the browser to use it, or choose another microphone.',
    'err.screen': 'Could not share the screen (perhaps Cancel was pressed).',
    'err.noscreen': 'This browser cannot share the screen. Use Chrome, Edge or Firefox on a computer.',
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
