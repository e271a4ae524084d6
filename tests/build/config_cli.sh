#!/usr/bin/env bash
# classcast serve --config FILE, for real: a good file starts a server that
# answers on the port the file gives (the command line overriding one
# setting), and each kind of bad file stops start-up with exit code 2 and a
# message naming the file, the line, the key and the problem.
# usage: config_cli.sh CLASSCAST
set -u
BIN=$1
T=$(mktemp -d /tmp/cc-config.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "config_cli: FAIL: $*"; exit 1; }

# A free TCP port from the kernel (bind 0, read it back).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$T/good.conf" <<CONF
# classcast on the classroom computer
[server]
bind = 127.0.0.1
http-port = $port
udp-port = 0
demo = yes
max-connections = 500
log-level = debug
web-root = "$(dirname "$0")/../../web"
state-dir = $T/state
CONF
# start CONF OUT [OPTIONS...]: a server from CONF in the background (PID),
# its log in OUT, waited for until it listens (or exits) for up to 10 s.
start() {
  local conf=$1 out=$2; shift 2
  "$BIN" serve --config "$conf" "$@" >"$out" 2>&1 &
  PID=$!
  for _ in $(seq 1 100); do
    grep -q "listening http" "$out" && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
}
# The command line wins over the file (log-level).
start "$T/good.conf" "$T/out" --log-level warn
grep -q "listening http://127.0.0.1:$port" "$T/out" || { cat "$T/out"; fail "the server from good.conf did not listen on $port"; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
[ "$code" = 200 ] || fail "/healthz answered $code"
grep -q "Student page:.*code=demo" "$T/out" || fail "demo = yes did not open the demo lesson"
grep -q " D \| I " "$T/out" && fail "--log-level warn on the command line did not win over the file's debug"
kill "$PID"; wait "$PID"; rc=$?; PID=
[ "$rc" = 0 ] || fail "the server exited $rc on SIGTERM"

# An off-by-default setting turned on in the file.
printf '[server]\nbind = 127.0.0.1\nhttp-port = 0\nudp-port = 0\nkeyframe-replay = true\nstate-dir = %s\n' \
  "$T/state2" > "$T/on.conf"
start "$T/on.conf" "$T/out2" --log-level info
grep -q "starts on the kept keyframe" "$T/out2" || { cat "$T/out2"; fail "keyframe-replay = true did not turn it on"; }
kill "$PID"; wait "$PID"; PID=

# Bad files: exit 2, and the message names file, line, key and problem.
bad() { # NAME CONTENT EXPECTED-REGEX
  printf '%b' "$2" > "$T/$1.conf"
  out=$("$BIN" serve --config "$T/$1.conf" 2>&1); rc=$?
  [ "$rc" = 2 ] || fail "$1: exit $rc, not 2 ($out)"
  echo "$out" | tr "\n" " " | grep -Eq "$3" || fail "$1: message '$out' does not match '$3'"
}
bad unknown   '[server]\nhttp-prot = 8080\n'        "$T/unknown.conf, line 2: unknown setting 'http-prot'"
bad section   'bind = 0.0.0.0\n'                    "$T/section.conf, line 1: 'bind' is in no section"
bad othersect '[serve]\nbind = 0.0.0.0\n'           "line 2: 'bind' is in \\[serve\\]"
bad port      '[server]\n\nhttp-port = 80a\n'       "wants a port number.*'80a'.*$T/port.conf, line 3, 'http-port'"
bad number    '[server]\nmax-connections = lots\n'  "max-connections wants a number.*line 2, 'max-connections'"
bad bool      '[server]\ndemo = maybe\n'            "line 2: 'demo' is true or false, not 'maybe'"
bad empty     '[server]\nbind =\n'                  "line 2: 'bind' needs a value"
bad syntax    '[server\n'                           "line 1: a section name has no closing"
bad twice     '[server]\nbind = 1.2.3.4\nbind = 5.6.7.8\n' "line 3: 'bind' is set twice"
bad address   '[server]\nbind = classroom\n'        "not an IP address"
out=$("$BIN" serve --config "$T/missing.conf" 2>&1); rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q "cannot read the configuration file $T/missing.conf" || fail "missing file: $rc $out"
echo "config_cli: ok"
