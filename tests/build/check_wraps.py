#!/usr/bin/env python3
"""Check the meson wrap files in subprojects/ against meson.build.

usage: check_wraps.py [SOURCE_ROOT]      check the project (default: ../..)
       check_wraps.py --self-test        check that broken copies fail

Every subprojects/*.wrap must
  - parse as an INI file (meson reads wraps with Python's configparser),
  - have exactly one [wrap-file] or [wrap-git] section, and besides it at
    most a [provide] section,
  - for [wrap-file]: name source_url (http/https), source_filename and
    source_hash (64 hex digits, SHA-256); a patch archive, if named, needs
    all of patch_url, patch_filename and patch_hash (64 hex digits); a
    patch_directory must exist under subprojects/packagefiles/,
  - for [wrap-git]: name url and a revision that is a full 40-hex commit
    id (a branch or tag can move; a commit cannot),
and be the subproject of a `fallback` in meson.build; every fallback in
meson.build must have its wrap. When [provide] maps dependency names to
variables, the variable a fallback names must be one of them.

Prints one line per problem and exits 1 if there is any, else 0.
"""
import configparser
import os
import re
import shutil
import sys
import tempfile

HEX64 = re.compile(r'^[0-9a-f]{64}$')
HEX40 = re.compile(r'^[0-9a-f]{40}$')
URL = re.compile(r'^https?://[^\s/]+/\S*$')
MAIN_SECTIONS = ('wrap-file', 'wrap-git')


def strip_meson_comments(text):
    """meson.build without its comments ('#' to end of line outside strings)."""
    out = []
    for line in text.splitlines():
        in_str = False
        cut = len(line)
        i = 0
        while i < len(line):
            ch = line[i]
            if ch == '\\' and in_str:
                i += 2
                continue
            if ch == "'":
                in_str = not in_str
            elif ch == '#' and not in_str:
                cut = i
                break
            i += 1
        out.append(line[:cut])
    return '\n'.join(out)


def meson_fallbacks(meson_build):
    """{subproject: variable or None} for every `fallback :` in meson.build."""
    text = strip_meson_comments(meson_build)
    found = {}
    pat = re.compile(
        r"fallback\s*:\s*(?:\[\s*'([^']+)'\s*(?:,\s*'([^']+)'\s*)?\]|'([^']+)')")
    for m in pat.finditer(text):
        name = m.group(1) or m.group(3)
        found[name] = m.group(2)
    return found


def check_wrap(path, packagefiles):
    problems = []
    name = os.path.basename(path)
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    try:
        with open(path, encoding='utf-8') as f:
            cp.read_file(f)
    except (configparser.Error, UnicodeDecodeError) as e:
        return [f'{name}: not a valid INI file: {e}'.splitlines()[0]], None
    sections = cp.sections()
    main = [s for s in sections if s in MAIN_SECTIONS]
    other = [s for s in sections if s not in MAIN_SECTIONS and s != 'provide']
    if len(main) != 1:
        problems.append(f'{name}: needs exactly one [wrap-file] or [wrap-git] '
                        f'section, has {len(main)}')
    if other:
        problems.append(f'{name}: unexpected section(s) {other}')
    if len(main) != 1:
        return problems, None
    sec = cp[main[0]]
    if main[0] == 'wrap-file':
        url = sec.get('source_url', '').strip()
        if not url:
            problems.append(f'{name}: [wrap-file] has no source_url')
        elif not URL.match(url):
            problems.append(f'{name}: source_url is not an http(s) URL: {url!r}')
        fn = sec.get('source_filename', '').strip()
        if not fn:
            problems.append(f'{name}: [wrap-file] has no source_filename')
        elif '/' in fn:
            problems.append(f'{name}: source_filename must be a file name: {fn!r}')
        h = sec.get('source_hash', '').strip()
        if not h:
            problems.append(f'{name}: [wrap-file] has no source_hash')
        elif not HEX64.match(h):
            problems.append(f'{name}: source_hash is not 64 lower-case hex '
                            f'digits (SHA-256): {h!r}')
        fb = sec.get('source_fallback_url')
        if fb is not None and not URL.match(fb.strip()):
            problems.append(f'{name}: source_fallback_url is not an http(s) URL')
        patch_keys = ('patch_url', 'patch_filename', 'patch_hash')
        present = [k for k in patch_keys if sec.get(k, '').strip()]
        if present and len(present) != len(patch_keys):
            missing = [k for k in patch_keys if k not in present]
            problems.append(f'{name}: a patch archive needs {", ".join(missing)} too')
        ph = sec.get('patch_hash', '').strip()
        if ph and not HEX64.match(ph):
            problems.append(f'{name}: patch_hash is not 64 lower-case hex digits')
        pu = sec.get('patch_url', '').strip()
        if pu and not URL.match(pu):
            problems.append(f'{name}: patch_url is not an http(s) URL')
        pd = sec.get('patch_directory', '').strip()
        if pd and not os.path.isdir(os.path.join(packagefiles, pd)):
            problems.append(f'{name}: patch_directory {pd!r} is not in '
                            f'subprojects/packagefiles/')
        if pd and present:
            problems.append(f'{name}: both patch_directory and a patch archive')
    else:
        if not sec.get('url', '').strip():
            problems.append(f'{name}: [wrap-git] has no url')
        rev = sec.get('revision', '').strip()
        if not HEX40.match(rev):
            problems.append(f'{name}: [wrap-git] revision must be a full commit '
                            f'id (40 hex digits), not {rev!r}')
    provide = None
    if cp.has_section('provide'):
        provide = {k: v.strip() for k, v in cp['provide'].items()
                   if k not in ('dependency_names', 'program_names')}
    return problems, provide


def check(root):
    problems = []
    sub = os.path.join(root, 'subprojects')
    try:
        with open(os.path.join(root, 'meson.build'), encoding='utf-8') as f:
            fallbacks = meson_fallbacks(f.read())
    except OSError as e:
        return [f'meson.build: {e}']
    wraps = sorted(f for f in os.listdir(sub) if f.endswith('.wrap')) \
        if os.path.isdir(sub) else []
    if not wraps:
        problems.append('subprojects/: no .wrap files')
    names = set()
    for w in wraps:
        name = w[:-len('.wrap')]
        names.add(name)
        p, provide = check_wrap(os.path.join(sub, w),
                                os.path.join(sub, 'packagefiles'))
        problems += p
        if name not in fallbacks:
            problems.append(f'{w}: no dependency() in meson.build names it as '
                            f'its fallback')
        elif provide and fallbacks[name] and fallbacks[name] not in provide.values():
            problems.append(f'{w}: meson.build falls back to variable '
                            f'{fallbacks[name]!r}, [provide] offers '
                            f'{sorted(provide.values())}')
    for fb in sorted(fallbacks):
        if fb not in names:
            problems.append(f'meson.build: fallback {fb!r} has no '
                            f'subprojects/{fb}.wrap')
    return problems


def self_test():
    """Broken copies of this project's wraps must each be reported."""
    here = os.path.dirname(os.path.abspath(__file__))
    real = os.path.normpath(os.path.join(here, '..', '..'))
    good_problems = check(real)
    if good_problems:
        print('self-test needs a clean project first:')
        for p in good_problems:
            print('  ' + p)
        return 1
    with open(os.path.join(real, 'meson.build'), encoding='utf-8') as f:
        meson_build = f.read()
    real_wraps = sorted(w for w in os.listdir(os.path.join(real, 'subprojects'))
                        if w.endswith('.wrap'))
    first = real_wraps[0]
    patched = first  # a wrap with a patch archive, if there is one
    for w in real_wraps:
        with open(os.path.join(real, 'subprojects', w), encoding='utf-8') as f:
            if re.search(r'^patch_hash\s*=', f.read(), re.M):
                patched = w
                break

    def sub(text, pattern, repl):
        new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
        assert n == 1, f'self-test pattern {pattern!r} did not match'
        return new

    def hash_of(text):
        return re.search(r'^source_hash\s*=\s*(\S+)', text, re.M).group(1)

    # (what is broken, file to change, change, text the report must contain)
    cases = [
        ('source_hash missing', first,
         lambda t: sub(t, r'^source_hash\s*=.*\n', ''), 'no source_hash'),
        ('source_hash one digit short', first,
         lambda t: sub(t, r'^(source_hash\s*=\s*)(\S+)', lambda m: m.group(1) + m.group(2)[:-1]),
         'source_hash is not 64'),
        ('source_hash not hex', first,
         lambda t: t.replace(hash_of(t), 'g' * 64), 'source_hash is not 64'),
        ('source_url missing', first,
         lambda t: sub(t, r'^source_url\s*=.*\n', ''), 'no source_url'),
        ('source_filename missing', first,
         lambda t: sub(t, r'^source_filename\s*=.*\n', ''), 'no source_filename'),
        ('no [wrap-file] section', first,
         lambda t: t.replace('[wrap-file]', '[wrap-files]'),
         'exactly one [wrap-file] or [wrap-git]'),
        ('two main sections', first,
         lambda t: t + '\n[wrap-git]\nurl = https://example.org/x.git\n'
                       'revision = ' + 'a' * 40 + '\n',
         'exactly one [wrap-file] or [wrap-git]'),
        ('not INI at all', first,
         lambda t: 'source_hash = ' + 'a' * 64 + '\n' + t, 'not a valid INI file'),
        ('patch archive without patch_hash', patched,
         lambda t: (sub(t, r'^patch_hash\s*=.*\n', '') if 'patch_hash' in t else
                    sub(t, r'^\[wrap-file\]\n',
                        '[wrap-file]\npatch_url = https://example.org/p.zip\n'
                        'patch_filename = p.zip\n')),
         'needs patch_hash'),
        ('git wrap pinned to a branch', 'extra.wrap',
         lambda t: '[wrap-git]\nurl = https://example.org/x.git\nrevision = main\n',
         'revision must be a full commit'),
        ('wrap without a fallback', 'extra.wrap',
         lambda t: '[wrap-file]\nsource_url = https://example.org/x.tar.gz\n'
                   'source_filename = x.tar.gz\nsource_hash = ' + 'a' * 64 + '\n',
         'no dependency() in meson.build names it'),
        ('fallback without a wrap', 'meson.build',
         lambda t: t + "\nx_dep = dependency('x', fallback : ['nowrap', 'x_dep'])\n",
         "fallback 'nowrap' has no subprojects/nowrap.wrap"),
        ('fallback to a variable [provide] does not offer', 'meson.build',
         lambda t: re.sub(r"(fallback\s*:\s*\[\s*'([^']+)'\s*,\s*')([^']+)'",
                          lambda m: m.group(1) + 'wrong_dep\'', t, count=0),
         "falls back to variable 'wrong_dep'"),
        ('wraps deleted', None, None, 'no .wrap files'),
    ]
    failures = 0
    for what, target, change, expect in cases:
        tmp = tempfile.mkdtemp(prefix='check_wraps.')
        try:
            os.mkdir(os.path.join(tmp, 'subprojects'))
            with open(os.path.join(tmp, 'meson.build'), 'w', encoding='utf-8') as f:
                f.write(meson_build)
            if target is not None:
                for w in real_wraps:
                    shutil.copy(os.path.join(real, 'subprojects', w),
                                os.path.join(tmp, 'subprojects', w))
                path = (os.path.join(tmp, 'meson.build') if target == 'meson.build'
                        else os.path.join(tmp, 'subprojects', target))
                old = ''
                if os.path.exists(path):
                    with open(path, encoding='utf-8') as f:
                        old = f.read()
                with open(path, 'w', encoding='utf-8') as f:
                    f.write(change(old))
            got = check(tmp)
        finally:
            shutil.rmtree(tmp)
        ok = any(expect in p for p in got)
        print(f'{"ok" if ok else "FAILED"}: {what}: '
              f'{got[0] if got else "no problem reported"}')
        failures += not ok
    print(f'{len(cases) - failures} of {len(cases)} broken copies reported')
    return 1 if failures else 0


def main(argv):
    if len(argv) > 1 and argv[1] == '--self-test':
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..')
    problems = check(root)
    for p in problems:
        print(p)
    if not problems:
        print('subprojects/*.wrap: all well formed, pinned, and matching '
              'meson.build\'s fallbacks')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
