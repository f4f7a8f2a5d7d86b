#!/usr/bin/python3
"""Desktop app figures, run by bench/desktop.sh inside a throwaway X display + D-Bus session.

    desktop.py APP AMI_PORT RUNTIME_DIR MARKER HOTKEY_REPEATS

Prints machine-readable lines `figure <name> <value>` (times in ms, memory in KiB):
- start-up: spawn of `APP --background` until its instance socket accepts a connection;
  baseline: `APP --version`, spawn until exit;
- memory (RSS and PSS summed over the app's processes: the tray, window processes and their
  WebKit children, found by MARKER in their environment): idle with no window, with the settings
  window open (a second launch), after the window was closed;
- hotkey-to-Originate: `xdotool key ctrl+alt+d` with a number in the PRIMARY selection (xclip)
  until the agent channel's Newchannel (Local/10@agents) on a separate AMI connection;
  baseline: the same Originate written by hand on a logged-in AMI connection, measured the same way.
"""
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time

APP, AMI_PORT, RUNTIME, MARKER, REPEATS = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
SOCK = os.path.join(RUNTIME, "org.clickdial.app", "instance.sock")
HERE = os.path.dirname(os.path.abspath(__file__))


def figure(name, value):
    print(f"figure {name} {value}", flush=True)


def now_ms():
    return time.monotonic_ns() / 1e6


def ask(request, timeout=5):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(SOCK)
    s.sendall((json.dumps(request) + "\n").encode())
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data or b"null")


def app_pids():
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{p}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if MARKER.encode() in env and (comm.startswith("clickdial") or comm.startswith("WebKit")):
            pids.append((int(p), comm))
    return pids


def memory(label):
    rss = pss = 0
    parts = []
    for pid, comm in app_pids():
        try:
            with open(f"/proc/{pid}/status") as f:
                r = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            with open(f"/proc/{pid}/smaps_rollup") as f:
                s = next(int(l.split()[1]) for l in f if l.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
        rss += r
        pss += s
        parts.append(f"{comm}:{r}")
    print(f"# memory {label}: {len(parts)} processes {' '.join(parts)}", flush=True)
    figure(f"rss_{label}", rss)
    figure(f"pss_{label}", pss)
    figure(f"procs_{label}", len(parts))


def windows():
    out = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "clickdial"],
                         capture_output=True, text=True)
    return [w for w in out.stdout.split() if w]


def wait(what, cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


# --- start-up -------------------------------------------------------------------------------
def startup():
    base = []
    for _ in range(5):
        t0 = now_ms()
        subprocess.run([APP, "--version"], capture_output=True, check=True)
        base.append(now_ms() - t0)
    figure("version_ms", f"{statistics.median(base):.1f}")

    t0 = now_ms()
    tray = subprocess.Popen([APP, "--background"], stdin=subprocess.DEVNULL)

    def accepting():
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(SOCK)
            return True
        except OSError:
            return False
        finally:
            s.close()

    deadline = time.monotonic() + 60
    while not accepting():
        if time.monotonic() > deadline or tray.poll() is not None:
            raise SystemExit("the tray never accepted on its instance socket")
        time.sleep(0.002)
    figure("startup_ms", f"{now_ms() - t0:.1f}")
    return tray


# --- AMI watcher ----------------------------------------------------------------------------
class Ami:
    async def connect(self):
        self.r, self.w = await asyncio.open_connection("127.0.0.1", AMI_PORT)
        await self.r.readline()
        self.w.write(b"Action: Login\r\nActionID: l\r\nUsername: clickdial\r\nSecret: clickdial-secret\r\n\r\n")
        await self.w.drain()
        msg = await self.message()
        assert "Success" in msg.get("Response", ""), msg
        return self

    async def message(self):
        msg = {}
        while True:
            line = (await self.r.readline()).decode(errors="replace").rstrip("\r\n")
            if line == "":
                if msg:
                    return msg
                continue
            k, _, v = line.partition(":")
            msg[k.strip()] = v.strip()


async def agent_channel(watch, timeout=15):
    """The time of the next Newchannel of Local/10@agents."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            m = await asyncio.wait_for(watch.message(), left)
        except asyncio.TimeoutError:
            return None
        if m.get("Event") == "Newchannel" and m.get("Channel", "").startswith("Local/10@agents"):
            return now_ms()


async def drain(watch, seconds):
    try:
        while True:
            await asyncio.wait_for(watch.message(), seconds)
    except asyncio.TimeoutError:
        pass


async def idle_call():
    for _ in range(50):
        try:
            st = ask({"do": "invoke", "command": "call_status"})
        except OSError:
            st = None
        v = (st or {}).get("value")
        if v is None or v.get("final") is True:
            return
        await asyncio.sleep(0.1)


async def hotkey():
    watch = await Ami().connect()
    hand = await Ami().connect()
    lat, base, missed = [], [], 0
    for i in range(REPEATS):
        # Baseline: the Originate written by hand on a logged-in connection.
        await drain(watch, 0.3)
        t0 = now_ms()
        hand.w.write(("Action: Originate\r\nActionID: o%d\r\nChannel: Local/10@agents\r\n"
                      "Context: extensiones-locales\r\nExten: 93200%04d\r\nPriority: 1\r\nAsync: true\r\n\r\n"
                      % (i, i)).encode())
        await hand.w.drain()
        t1 = await agent_channel(watch)
        if t1:
            base.append(t1 - t0)
        await asyncio.sleep(1.2)

        # The hotkey, with a number selected in another program.
        await idle_call()
        await drain(watch, 0.3)
        owner = subprocess.Popen(["xclip", "-selection", "primary", "-loops", "1"], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        owner.stdin.write(f"Cliente: Garcia, tel. 93 201 {i:02d} 01 (tardes)".encode())
        owner.stdin.close()
        await asyncio.sleep(0.3)
        t0 = now_ms()
        subprocess.Popen(["xdotool", "key", "ctrl+alt+d"])
        t1 = await agent_channel(watch, timeout=5)
        owner.kill()
        owner.wait()
        if t1:
            lat.append(t1 - t0)
        else:
            # No call reached Asterisk: the app is likely stuck; pressing again only waits.
            missed += 1
            break
        await asyncio.sleep(1.2)
        await idle_call()
    for name, xs in (("hotkey", lat), ("hand_originate", base)):
        if xs:
            figure(f"{name}_p50_ms", f"{statistics.median(xs):.1f}")
            figure(f"{name}_max_ms", f"{max(xs):.1f}")
        figure(f"{name}_n", len(xs))
    figure("hotkey_missed", missed)


def main():
    tray = startup()
    # Wait until the app is logged in to Asterisk, then let it settle.
    def logged_in():
        try:
            checks = ask({"do": "invoke", "command": "self_check"})["value"]["checks"]
        except (OSError, KeyError, TypeError, ValueError):
            return False
        return any(c.get("id") == "connection" and c.get("ok") for c in checks)
    wait("the app logged in to Asterisk", logged_in, 30)
    time.sleep(5)
    memory("idle")

    before = set(windows())
    subprocess.run([APP], stdin=subprocess.DEVNULL, timeout=30)
    opened = wait("the settings window", lambda: sorted(set(windows()) - before), 30)
    time.sleep(6)
    memory("window")

    closed = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "wmclose.py"), *opened],
                            capture_output=True, text=True)
    print(f"# wmclose asked {closed.stdout.strip()} window(s) {closed.stderr.strip()}", flush=True)
    wait("the window process to exit",
         lambda: not any(c.startswith("clickdial-") for _, c in app_pids()), 20)
    time.sleep(6)
    memory("closed")

    asyncio.run(hotkey())
    tray.terminate()
    try:
        tray.wait(10)
    except subprocess.TimeoutExpired:
        tray.kill()


main()
