"""Records what a real Asterisk sends on AMI while it handles some originates: the
captures in this directory were made with it.

    # an Asterisk with an all-rights `admin` account (secret `admin-secret`), e.g.
    #   mkdir conf && cp ../../../../../shared/pbx/conf/manager.conf conf/ &&
    #   printf '\\n[admin]\\nsecret = admin-secret\\npermit = 127.0.0.1/255.255.255.255\\nread = all\\nwrite = all\\n' >> conf/manager.conf
    #   eval "$(../../../../../shared/pbx/start --ami-port 25038 --conf conf)"
    python3 record.py PORT ORIGINATES SECONDS OUTPUT

It logs in with the MD5 challenge, sends Ping, two Commands, ORIGINATES asynchronous
originates (agents 10, 11, 12, 20 and 19 in turn; destinations 93200900, 90001, 90011 and
+34932009000 in turn; each with CallerID, two Variables, a ChannelId and a 3 s Timeout),
the CoreShowChannels and Status event lists, waits SECONDS for the calls' events, logs off,
and writes every byte received, banner included, to OUTPUT.

session.ami: `record.py 25038 1 7 session.ami`; originate-300.ami: `record.py 25038 300 28
originate-300.ami`.
"""
import hashlib
import socket
import sys
import time

port, originates, wait, output = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
sock = socket.create_connection(("127.0.0.1", port))
received = bytearray()


def send(text):
    sock.sendall(text.replace("\n", "\r\n").encode())


def pump(seconds):
    sock.settimeout(0.05)
    end = time.time() + seconds
    while time.time() < end:
        try:
            data = sock.recv(65536)
            if not data:
                return
            received.extend(data)
        except socket.timeout:
            pass


send("Action: Challenge\nActionID: c1\nAuthType: MD5\n\n")
pump(0.3)
challenge = received.decode().split("Challenge: ")[1].split("\r\n")[0]
key = hashlib.md5((challenge + "admin-secret").encode()).hexdigest()
send(f"Action: Login\nActionID: l1\nUsername: admin\nAuthType: MD5\nKey: {key}\n\n")
pump(0.3)
send("Action: Ping\nActionID: p1\n\n")
pump(0.2)
send("Action: Command\nActionID: cmd1\nCommand: core show version\n\n")
pump(0.2)
send("Action: Command\nActionID: cmd2\nCommand: dialplan show agents\n\n")
pump(0.2)
for i in range(originates):
    agent = [10, 11, 12, 20, 19][i % 5]
    destination = ["93200900", "90001", "90011", "+34932009000"][i % 4]
    send(
        f"Action: Originate\nActionID: o{i}\nChannel: Local/{agent}@agents\n"
        f"Context: extensiones-locales\nExten: {destination}\nPriority: 1\n"
        f'CallerID: "Agent {agent}" <{agent}>\nTimeout: 3000\nVariable: CD_CALL={i}\n'
        f"Variable: CD_AGENT={agent}\nChannelId: call-{i}\nAsync: true\n\n"
    )
    pump(0.02)
send("Action: CoreShowChannels\nActionID: list1\n\n")
pump(0.5)
send("Action: Status\nActionID: list2\n\n")
pump(wait)
send("Action: Logoff\nActionID: bye\n\n")
pump(0.5)
open(output, "wb").write(received)
print(len(received), "bytes")
