"""Parse throughput of panoramisk 1.4 on a captured AMI stream, for comparison with
`cargo run --release -p clickdial-ami --example parse -- FILE`.

    python3 panoramisk_parse.py FILE

The bytes go through panoramisk's own receive path (AMIProtocol.data_received, which splits
messages and builds Message objects) in 64 KiB chunks, as a socket would deliver them;
only the dispatch to waiting futures and callbacks is left out. Prints one line in the same
form as the Rust example.
"""
import logging
import sys
import time
from collections import deque

from panoramisk.ami_protocol import AMIProtocol

CHUNK = 64 * 1024
RUN_FOR = 2.0


class Counting(AMIProtocol):
    """panoramisk's protocol with message handling reduced to counting."""

    def __init__(self):
        self.queue = deque()
        self.responses = {}
        self.factory = None
        self.version = None
        self.encoding = "utf8"
        self.log = logging.getLogger("bench")
        self.messages = 0
        self.events = 0

    def handle_message(self, message):
        self.messages += 1
        if "Event" in message:
            self.events += 1


def one_pass(data):
    protocol = Counting()
    for start in range(0, len(data), CHUNK):
        protocol.data_received(data[start:start + CHUNK])
    # panoramisk keeps the last message until a blank line follows it.
    protocol.data_received(b"\r\n\r\n")
    return protocol.messages, protocol.events


def main():
    data = open(sys.argv[1], "rb").read()
    messages, events = one_pass(data)
    passes = 0
    started = time.perf_counter()
    while time.perf_counter() - started < RUN_FOR:
        one_pass(data)
        passes += 1
    seconds = time.perf_counter() - started
    print(
        f"{messages} messages ({events} events) in {len(data)} bytes: "
        f"{messages * passes / seconds:.0f} messages/s, {len(data) * passes / seconds / 1e6:.1f} MB/s"
    )


if __name__ == "__main__":
    main()
