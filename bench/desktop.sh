#!/usr/bin/env bash
# Desktop app figures (see desktop.py) in a throwaway desktop: Xvfb, a D-Bus session with an
# unlocked gnome-keyring holding the AMI secret, dunst and trayer, and a real Asterisk whose
# calls are short so the hotkey can be pressed again soon.
#
#   bench/desktop.sh APP WORKDIR [HOTKEY_REPEATS]      (needs CLICKDIAL_PBX)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$1" work="$2" repeats="${3:-10}"
pbx="${CLICKDIAL_PBX:?set CLICKDIAL_PBX}"
# wmclose.py closes the settings window as a window manager would (WM_DELETE_WINDOW), through
# Xlib; the other desktop tools come with ./dev test.
if ! /usr/bin/python3 -c 'import Xlib' 2>/dev/null; then
  echo "installing the Debian package python3-xlib for bench/wmclose.py" >&2
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-xlib >/dev/null
fi
rm -rf "$work"
mkdir -p "$work"/{cfg,data,run,home,conf}
chmod 700 "$work/run"
cat >"$work/conf/extensions.conf" <<'CONF'
[general]
static = yes
writeprotect = yes

[agents]
exten => _1X,1,Answer()
 same => n,Wait(0.5)
 same => n,Hangup()

[extensiones-locales]
exten => _X.,1,Answer()
 same => n,Hangup()
CONF
ami_port=$((20000 + RANDOM % 20000))
http_port=$((ami_port + 1))
eval "$("$pbx/start" --ami-port "$ami_port" --http-port "$http_port" --conf "$work/conf")"
xvfb_pid=""
cleanup() {
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null
  "$pbx/stop" "$PBX_DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cat >"$work/cfg/settings.toml" <<TOML
extension = "10"
preview_secs = 0

[connection]
mode = "ami"
host = "127.0.0.1"
port = $PBX_AMI_PORT
username = "clickdial"
channel = "Local/{extension}@agents"
context = "extensiones-locales"

[dial]
country = "ES"
TOML
display=""
for n in $(seq 90 140); do
  if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then display=":$n"; break; fi
done
[ -n "$display" ] || { echo "no free X display" >&2; exit 1; }
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
# Ready once a client gets an answer (its socket can exist a while before).
for _ in $(seq 300); do DISPLAY="$display" xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.05; done
marker="clickdial-bench-$$-$RANDOM"
# shellcheck disable=SC2016 # expanded by the session's shell
env -u WAYLAND_DISPLAY -u XDG_SESSION_TYPE -u DBUS_SESSION_BUS_ADDRESS -u LANGUAGE -u LC_ALL \
  DISPLAY="$display" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" \
  XDG_DATA_HOME="$work/home/.local/share" XDG_CACHE_HOME="$work/home/.cache" \
  XDG_RUNTIME_DIR="$work/run" CLICKDIAL_CONFIG_DIR="$work/cfg" CLICKDIAL_DATA_DIR="$work/data" \
  CLICKDIAL_BENCH_RUN="$marker" GDK_GL=disable GDK_BACKEND=x11 NO_AT_BRIDGE=1 \
  LANG=C.UTF-8 LC_MESSAGES=en_ES.UTF-8 \
  dbus-run-session -- sh -c '
    printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    printf %s clickdial-secret | secret-tool store --label=clickdial service clickdial username ami-secret target default
    dunst >"$0/dunst.log" 2>&1 &
    trayer --edge top --align right --widthtype request --height 32 >"$0/trayer.log" 2>&1 &
    sleep 1
    /usr/bin/python3 "$1/desktop.py" "$2" "$3" "$XDG_RUNTIME_DIR" "$4" "$5"
    status=$?
    kill %1 %2 2>/dev/null
    exit $status
  ' "$work" "$here" "$app" "$PBX_AMI_PORT" "$marker" "$repeats"
