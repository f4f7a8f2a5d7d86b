#!/usr/bin/env python3
"""Records what a real Asterisk writes to an AMI client, for the sandbox's tests.

    eval "$($CLICKDIAL_PBX/start --ami-port 25101 --http-port 25301)"     # default conf
    python3 record.py 25101 answer answer.ami
    $CLICKDIAL_PBX/stop "$PBX_DIR"

Use a fresh Asterisk per recording, so that Local channels are numbered from 00000000.
The agent* scenarios 21-23 need `--conf DIR` with extra-agents.extensions.conf copied to
DIR/extensions.conf. The dial_* and hangup_* scenarios need `--conf DIR` with dialing.extensions.conf copied to
DIR/extensions.conf (testsupport's DIALPLAN plus a ringing destination, 9002X) and
dialing.manager.conf to DIR/manager.conf (the default accounts plus `operator`, which may
also run Hangup). A number among a scenario's actions is a pause of that many seconds.
The actions of each scenario are the ones tests/recordings.rs replays.
"""
import hashlib
import re
import socket
import sys
import time

OPERATOR = ["Action: Login", "ActionID: l1", "Username: operator", "Secret: operator-secret"]
LOGIN = ["Action: Login", "ActionID: l1", "Username: clickdial", "Secret: clickdial-secret"]


def originate(agent, exten, timeout="3000", asynchronous="true", context="extensiones-locales"):
    return ["Action: Originate", "ActionID: o1", "Channel: Local/%s@agents" % agent,
            "Context: " + context, "Exten: " + exten, "Priority: 1", "Timeout: " + timeout,
            "ChannelId: chan-1", "Async: " + asynchronous]


# scenario -> (actions, seconds to keep reading after the last one)
SCENARIOS = {
    "login_failed": ([["Action: Login", "ActionID: l1", "Username: clickdial", "Secret: wrong"]], 2.5),
    "unknown_user": ([["Action: Login", "ActionID: l1", "Username: nobody", "Secret: x"]], 2.5),
    "before_login": ([["Action: Ping", "ActionID: p0"],
                      ["Action: Originate", "ActionID: o0", "Channel: Local/10@agents"],
                      ["Action: Logoff", "ActionID: lo"]], 0.5),
    "md5": ([["Action: Challenge", "ActionID: c1", "AuthType: MD5"],
             ["Action: Login", "ActionID: l2", "AuthType: MD5", "Username: clickdial", "Key: {key}"],
             ["Action: Ping", "ActionID: p1"],
             ["Action: Events", "ActionID: e1", "EventMask: off"],
             ["Action: Events", "ActionID: e2", "EventMask: on"],
             ["Action: Events", "ActionID: e3", "EventMask: call"],
             ["Action: CoreShowChannels", "ActionID: cs"],
             ["Action: Status", "ActionID: st"],
             ["Action: ExtensionStateList", "ActionID: esl"],
             ["Action: ListCommands", "ActionID: lc"],
             ["Action: Command", "ActionID: cmd", "Command: core show version"],
             ["Action: Bogus", "ActionID: b1"],
             ["ActionID: na"],
             ["Action: Challenge", "ActionID: c2", "AuthType: plain"],
             ["Action: Logoff", "ActionID: lo"]], 0.5),
    "md5_bad": ([["Action: Challenge", "ActionID: c1", "AuthType: MD5"],
                 ["Action: Login", "ActionID: l2", "AuthType: MD5", "Username: clickdial",
                  "Key: 00000000000000000000000000000000"]], 2.5),
    "events_off": ([LOGIN, ["Action: Events", "ActionID: e1", "EventMask: off"],
                    ["Action: Originate", "ActionID: o1", "Channel: Local/20@agents",
                     "Context: extensiones-locales", "Exten: 93200900", "Priority: 1",
                     "ChannelId: chan-1", "Async: true"]], 1.5),
    "lists": ([LOGIN, ["Action: BridgeList", "ActionID: bl"],
               ["Action: BridgeTechnologyList", "ActionID: btl"],
               ["Action: Originate", "ActionID: o1", "Channel: Local/10@agents",
                "Context: extensiones-locales", "Exten: 93200900", "Priority: 1",
                "ChannelId: chan-1", "Async: true"],
               ["Action: BridgeList", "ActionID: bl2"]], 0.3),
    "answer": ([LOGIN, originate("10", "93200900")], 26),
    "answer_sync": ([LOGIN, originate("10", "93200900", asynchronous="false")], 26),
    "answer_plus": ([LOGIN, originate("11", "+34932009000")], 26),
    "agentbusy": ([LOGIN, originate("20", "93200900")], 6),
    "agentbusy_sync": ([LOGIN, originate("20", "93200900", asynchronous="false")], 6),
    "noanswer": ([LOGIN, originate("19", "93200900")], 6),
    "noanswer_sync": ([LOGIN, originate("19", "93200900", asynchronous="false")], 6),
    "defaulttimeout": ([LOGIN, [l for l in originate("19", "93200900") if not l.startswith("Timeout")]], 33),
    "longring": ([LOGIN, originate("19", "93200900", timeout="130000")], 125),
    "destbusy": ([LOGIN, originate("10", "90001")], 6),
    "congestion": ([LOGIN, originate("10", "90011")], 6),
    "noexten": ([LOGIN, originate("10", "93200900", context="nonexistent")], 6),
    "noexten_sync": ([LOGIN, originate("10", "93200900", asynchronous="false", context="nonexistent")], 6),
    "badexten": ([LOGIN, originate("10", "abc")], 6),
    "readonly": ([["Action: Login", "ActionID: l1", "Username: readonly", "Secret: readonly-secret"],
                  originate("10", "93200900")], 6),
    "agentmissing": ([LOGIN, originate("99", "93200900")], 6),
    "nochanid": ([LOGIN, ["Action: Originate", "ActionID: o1", "Channel: Local/20@agents",
                          "Context: extensiones-locales", "Exten: 93200900", "Priority: 1",
                          "Async: true"]], 1),
    "malformed": ([LOGIN] + [["Action: Originate", "ActionID: m%d" % i, "Async: true"] + extra for i, extra in enumerate([
        [], ["Channel: Local/10@agents"],
        ["Channel: Foo/bar", "Context: extensiones-locales", "Exten: 93200900", "Priority: 1"],
        ["Channel: Local/10@agents", "Exten: 93200900"],
        ["Channel: Local/10@agents", "Context: extensiones-locales", "Exten: 93200900", "Priority: x"],
        ["Channel: Local/10@agents", "Context: extensiones-locales", "Exten: 93200900", "Priority: 1", "Timeout: abc"],
        ["Channel: Local/10@agents", "Application: Wait", "Data: 1"]])], 1.5),
    "agentcongestion": ([LOGIN, originate("21", "93200900", timeout="30000")], 2),
    "agenthangsup": ([LOGIN, originate("22", "93200900", timeout="30000")], 4),
    "agentstopsringing": ([LOGIN, originate("23", "93200900", timeout="30000")], 4),
    "dial_answer": ([LOGIN, originate("10", "93200900")], 5),
    "dial_busy": ([LOGIN, originate("10", "90001")], 4),
    "dial_congestion": ([LOGIN, originate("10", "90011")], 4),
    "dial_noanswer": ([LOGIN, originate("10", "90021")], 12),
    "hangup_ringing": ([OPERATOR, originate("19", "93200900", timeout="30000"), 1,
                        ["Action: Hangup", "ActionID: h1", "Channel: Local/19@agents-00000000;1"]], 2),
    "hangup_uniqueid": ([OPERATOR, originate("19", "93200900", timeout="30000"), 1,
                         ["Action: Hangup", "ActionID: h1", "Channel: chan-1"]], 2),
    "hangup_regex": ([OPERATOR, originate("19", "93200900", timeout="30000"), 1,
                      ["Action: Hangup", "ActionID: h1", "Channel: /^Local/19@agents-.*;1$/", "Cause: 21"]], 2),
    "hangup_dialing": ([OPERATOR, originate("10", "90021"), 2,
                        ["Action: Hangup", "ActionID: h1", "Channel: chan-1"]], 2),
    "hangup_errors": ([OPERATOR, ["Action: Hangup", "ActionID: h1", "Channel: Local/19@agents-00000000;1"],
                       ["Action: Hangup", "ActionID: h2"],
                       ["Action: Hangup", "ActionID: h3", "Channel: /^nothing-matches$/"],
                       ["Action: Hangup", "ActionID: h4", "Channel: chan-1"],
                       ["Action: ListCommands", "ActionID: lc"]], 0.5),
    "hangup_denied": ([LOGIN, ["Action: Hangup", "ActionID: h1", "Channel: chan-1"]], 0.5),
}


def main():
    port, scenario, out_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    actions, tail = SCENARIOS[scenario]
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(0.05)
    raw = bytearray()

    def drain(seconds):
        end = time.time() + seconds
        while time.time() < end:
            try:
                data = s.recv(65536)
                if not data:
                    return
                raw.extend(data)
            except socket.timeout:
                pass

    drain(0.2)
    for action in actions:
        if isinstance(action, (int, float)):
            drain(action)
            continue
        challenge = re.findall(rb"Challenge: (\w+)", raw)
        key = hashlib.md5(challenge[-1] + b"clickdial-secret").hexdigest() if challenge else ""
        lines = [line.replace("{key}", key) for line in action]
        s.sendall(("".join(line + "\r\n" for line in lines) + "\r\n").encode())
        drain(0.3)
    drain(tail)
    open(out_path, "wb").write(bytes(raw))


if __name__ == "__main__":
    main()
