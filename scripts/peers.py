#!/usr/bin/env python3
"""Idle subscribers on a push server, for scripts/peers: one client for every system.

Opens --connections connections from several loopback source addresses, has each one
subscribe the way its protocol does (Herald: AUTH; MQTT: CONNECT + SUBSCRIBE; Redis:
SUBSCRIBE; NATS: CONNECT + SUB + PING), waits until every one is acknowledged, holds them,
and prints the server's RSS growth per connection as JSON. The same client for all, so that
only the servers differ.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import struct
import sys
import time


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def herald_token(app, secret, user):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=")
    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    claims = b64(json.dumps({"app": app, "sub": user, "exp": int(time.time()) + 3600}, separators=(",", ":")).encode())
    signing = header + b"." + claims
    signature = b64(hmac.new(secret.encode(), signing, hashlib.sha256).digest())
    return (signing + b"." + signature).decode()


def herald_frame(op, seq, body):
    return struct.pack(">IBBHI", 8 + len(body), 1, op, 0, seq) + body


def mqtt_packet(first, body):
    length, encoded = len(body), b""
    while True:
        byte = length % 128
        length //= 128
        encoded += bytes([byte | (0x80 if length else 0)])
        if not length:
            return bytes([first]) + encoded + body


def mqtt_string(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


class Subscriber:
    """What one system's client sends, and how it knows it was acknowledged."""

    def __init__(self, system, index, args):
        self.system, self.index, self.args = system, index, args

    def greeting(self):
        if self.system == "herald":
            token = herald_token(self.args.app, self.args.secret, f"u{self.index}")
            return herald_frame(1, 1, json.dumps({"token": token}, separators=(",", ":")).encode())
        if self.system == "mqtt":
            connect = mqtt_string("MQTT") + bytes([4, 0x02]) + struct.pack(">H", 600) + mqtt_string(f"c{self.index}")
            subscribe = struct.pack(">H", 1) + mqtt_string("news") + bytes([0])
            return mqtt_packet(0x10, connect) + mqtt_packet(0x82, subscribe)
        if self.system == "redis":
            return b"SUBSCRIBE news\r\n"
        if self.system == "nats":
            return b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB news 1\r\nPING\r\n'
        raise ValueError(self.system)

    def acknowledged(self, received):
        if self.system == "herald":
            return len(received) >= 6 and received[5] == 2  # AUTH_OK
        if self.system == "mqtt":
            return b"\x90\x03\x00\x01" in received  # SUBACK
        if self.system == "redis":
            return received.endswith(b":1\r\n")
        if self.system == "nats":
            return b"PONG\r\n" in received
        raise ValueError(self.system)


async def open_one(system, index, args, source, held, failures):
    try:
        reader, writer = await asyncio.open_connection(args.host, args.port, local_addr=(source, 0))
        subscriber = Subscriber(system, index, args)
        writer.write(subscriber.greeting())
        received = b""
        while not subscriber.acknowledged(received):
            chunk = await asyncio.wait_for(reader.read(4096), timeout=30)
            if not chunk:
                raise ConnectionError(f"closed after {received[:80]!r}")
            received += chunk
        held.append(writer)
    except Exception as error:  # counted and reported, never hidden
        failures.append(repr(error))


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--system", required=True, choices=["herald", "mqtt", "redis", "nats"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--connections", type=int, default=19000)
    parser.add_argument("--sources", default="127.0.0.2-127.0.0.9")
    parser.add_argument("--hold", type=float, default=3)
    parser.add_argument("--app", default="")
    parser.add_argument("--secret", default="")
    parser.add_argument("--write-tokens", metavar="FILE",
                        help="write the tokens of users u0, u1, ... one a line (for peers-fanout) and exit")
    args = parser.parse_args()
    if args.write_tokens:
        with open(args.write_tokens, "w") as out:
            for index in range(args.connections):
                out.write(herald_token(args.app, args.secret, f"u{index}") + "\n")
        return

    first, last = args.sources.split("-")
    prefix = first.rsplit(".", 1)[0]
    sources = [f"{prefix}.{n}" for n in range(int(first.rsplit(".", 1)[1]), int(last.rsplit(".", 1)[1]) + 1)]

    await asyncio.sleep(1)
    before = rss_bytes(args.pid)
    held, failures = [], []
    started = time.monotonic()
    batch = 500
    for start in range(0, args.connections, batch):
        await asyncio.gather(*[
            open_one(args.system, index, args, sources[index % len(sources)], held, failures)
            for index in range(start, min(start + batch, args.connections))
        ])
    opened = time.monotonic() - started
    await asyncio.sleep(args.hold)
    after = rss_bytes(args.pid)
    result = {
        "system": args.system,
        "connections": len(held),
        "failures": len(failures),
        "firstFailure": failures[0] if failures else None,
        "rssBefore": before,
        "rssAfter": after,
        "bytesPerConnection": (after - before) / len(held) if held else None,
        "secondsToOpen": opened,
    }
    print(json.dumps(result))
    for writer in held:
        writer.close()
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
