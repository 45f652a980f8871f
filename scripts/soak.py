#!/usr/bin/env python3
"""A soak under exhaustion: one `herald serve` on loopback, attacked for a bounded time by
half-sent HTTP heads, WebSocket connections that never upgrade, AUTH frames trickled a byte at
a time, a SUBSCRIBE flood and a reconnect storm, all at once, while an honest client keeps
connecting and receiving and a probe keeps asking /healthz.

It prints what the server did (how fast each bad connection was closed against its timeout,
how /healthz and the honest client fared, descriptors and memory over time) and exits 1 if a
rule broke: /healthz failed, the honest client missed a message, a bad connection outlived its
timeout by more than the slack, or descriptors or memory kept growing.

Usage: scripts/soak [--seconds 60] [--binary PATH] [--scale 1.0]
"""

import argparse
import asyncio
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ADMIN_KEY = "soak-admin-key-0123456789abcdefghijklmnop"
AUTH_TIMEOUT = 3.0
API_HEAD_TIMEOUT = 3.0
API_IDLE_TIMEOUT = 5.0
# A WebSocket connection has max(auth timeout, 10 s) to finish its upgrade (the gateway's rule:
# a short auth timeout must not cut off upgrades slowed by load); the auth timeout starts after.
UPGRADE_TIMEOUT = max(AUTH_TIMEOUT, 10.0)
# A bad connection may live this much past its timeout (the timer wheel's tick, a busy loop).
SLACK = 2.5

OP_AUTH, OP_AUTH_OK, OP_ERROR, OP_PING, OP_PONG, OP_PUSH = 1, 2, 3, 4, 5, 6
OP_SUBSCRIBE, OP_OK, OP_GOAWAY = 10, 12, 13


def frame(op, seq, body=b""):
    return struct.pack(">IBBHI", 8 + len(body), 1, op, 0, seq) + body


async def read_frame(reader):
    header = await reader.readexactly(4)
    (length,) = struct.unpack(">I", header)
    rest = await reader.readexactly(length)
    return rest[1], struct.unpack(">I", rest[4:8])[0], rest[8:]


class Server:
    def __init__(self, binary, work):
        self.binary = binary
        self.work = work
        self.process = None

    def start(self):
        data = os.path.join(self.work, "data")
        os.makedirs(data, mode=0o700)
        self.out = open(os.path.join(self.work, "server.out"), "w+")
        self.err = open(os.path.join(self.work, "server.err"), "w+")
        env = dict(os.environ, HERALD_ADMIN_KEY=ADMIN_KEY)
        self.process = subprocess.Popen(
            [self.binary, "serve", "--host", "127.0.0.1", "--tcp-port", "0", "--ws-port", "0", "--api-port", "0",
             "--data-dir", data, "--log-level", "error", "--auth-timeout", str(AUTH_TIMEOUT),
             "--api-head-timeout", str(API_HEAD_TIMEOUT), "--api-idle-timeout", str(API_IDLE_TIMEOUT)],
            stdout=self.out, stderr=self.err, env=env)
        deadline = time.time() + 60
        while time.time() < deadline:
            self.out.seek(0)
            for line in self.out.read().splitlines():
                if line.startswith("herald ready"):
                    fields = dict(part.split("=", 1) for part in line.split()[2:])
                    self.tcp = int(fields["tcp"].rsplit(":", 1)[1])
                    self.ws = int(fields["ws"].rsplit(":", 1)[1])
                    self.api = int(fields["api"].rsplit(":", 1)[1])
                    return
            if self.process.poll() is not None:
                self.err.seek(0)
                sys.exit("herald exited before it was ready:\n" + self.err.read())
            time.sleep(0.1)
        sys.exit("herald printed no ready line within 60 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def descriptors(self):
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def resident_kib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def api_call(port, method, path, body=None, bearer=ADMIN_KEY, timeout=5):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read() or b"{}")


class Soak:
    def __init__(self, server, seconds, scale):
        self.server = server
        self.seconds = seconds
        self.scale = scale
        self.deadline = 0.0
        self.closes = {"half-sent HTTP head": [], "WebSocket never upgraded": [], "AUTH a byte at a time": []}
        self.late = {name: 0 for name in self.closes}
        self.counts = {"subscribe frames": 0, "subscribe answers": 0, "storm connections": 0, "storm auths": 0}
        self.health = []
        self.health_failures = 0
        self.honest = []
        self.honest_failures = []
        self.samples = []

    def n(self, count):
        return max(1, int(count * self.scale))

    def running(self):
        return time.time() < self.deadline

    async def token(self, user, topics=None):
        body = {"user": user, "ttl": 3600}
        if topics:
            body["topics"] = topics
        _, answer = await asyncio.to_thread(
            api_call, self.server.api, "POST", f"/v1/apps/{self.app}/tokens", body, self.secret)
        return answer["token"]

    # Slow attackers: each holds a connection until the server closes it, then opens another.

    async def until_closed(self, name, timeout, port, send):
        while self.running():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            opened = time.time()
            closed = False
            try:
                closed = await send(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                closed = True
            finally:
                writer.close()
            if closed:
                lived = time.time() - opened
                self.closes[name].append(lived)
                if lived > timeout + SLACK:
                    self.late[name] += 1

    async def half_head(self):
        async def send(reader, writer):
            writer.write(b"POST /v1/apps HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n")
            await writer.drain()
            return await self.wait_for_close(reader)
        await self.until_closed("half-sent HTTP head", API_HEAD_TIMEOUT, self.server.api, send)

    async def no_upgrade(self):
        async def send(reader, writer):
            writer.write(b"GET /ws HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\n")
            await writer.drain()
            return await self.wait_for_close(reader)
        await self.until_closed("WebSocket never upgraded", UPGRADE_TIMEOUT, self.server.ws, send)

    async def trickle_auth(self):
        payload = frame(OP_AUTH, 1, json.dumps({"token": "x" * 200}).encode())

        async def send(reader, writer):
            for byte in payload:
                writer.write(bytes([byte]))
                await writer.drain()
                try:
                    data = await asyncio.wait_for(reader.read(256), 0.5)
                    if not data:
                        return True
                    # ERROR auth_timeout then the close.
                    return await self.wait_for_close(reader)
                except asyncio.TimeoutError:
                    if not self.running():
                        return False
            return await self.wait_for_close(reader)
        await self.until_closed("AUTH a byte at a time", AUTH_TIMEOUT, self.server.tcp, send)

    async def wait_for_close(self, reader):
        while self.running():
            try:
                data = await asyncio.wait_for(reader.read(4096), 0.5)
            except asyncio.TimeoutError:
                continue
            if not data:
                return True
        return False

    # Fast attackers.

    async def subscribe_flood(self, index):
        token = await self.token(f"flood-{index}", topics=["*"])
        topics = [f"topic-{index}-{k}" for k in range(100)]
        while self.running():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.server.tcp)
                writer.write(frame(OP_AUTH, 1, json.dumps({"token": token}).encode()))
                op, _, body = await read_frame(reader)
                if op != OP_AUTH_OK:
                    writer.close()
                    await asyncio.sleep(0.2)
                    continue
                session = json.loads(body)["session"]

                async def drain():
                    while True:
                        await read_frame(reader)
                        self.counts["subscribe answers"] += 1
                drainer = asyncio.create_task(drain())
                seq = 2
                while self.running() and not drainer.done():
                    body = json.dumps({"session": session, "topics": topics}).encode()
                    writer.write(frame(OP_SUBSCRIBE, seq, body) * 10)
                    self.counts["subscribe frames"] += 10
                    seq += 10
                    await writer.drain()
                drainer.cancel()
                writer.close()
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                await asyncio.sleep(0.1)

    async def storm(self, index):
        token = await self.token(f"storm-{index}")
        auth = frame(OP_AUTH, 1, json.dumps({"token": token}).encode())
        while self.running():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.server.tcp)
                self.counts["storm connections"] += 1
                writer.write(auth)
                op, _, _ = await asyncio.wait_for(read_frame(reader), 10)
                if op == OP_AUTH_OK:
                    self.counts["storm auths"] += 1
                writer.close()
            except (ConnectionError, asyncio.IncompleteReadError, OSError, asyncio.TimeoutError):
                await asyncio.sleep(0.05)

    # The ones that must keep working.

    async def probe_health(self):
        while self.running():
            started = time.time()
            try:
                status, _ = await asyncio.to_thread(api_call, self.server.api, "GET", "/healthz", None, None, 3)
                if status == 200:
                    self.health.append(time.time() - started)
                else:
                    self.health_failures += 1
            except (urllib.error.URLError, OSError):
                self.health_failures += 1
            await asyncio.sleep(0.5)

    async def honest_client(self):
        token = await self.token("honest")
        round = 0
        while self.running():
            round += 1
            started = time.time()
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.server.tcp), 5)
                writer.write(frame(OP_AUTH, 1, json.dumps({"token": token}).encode()))
                op, _, _ = await asyncio.wait_for(read_frame(reader), 5)
                if op != OP_AUTH_OK:
                    raise ConnectionError(f"AUTH answered op {op}")
                marker = f"honest-{round}".encode()
                await asyncio.to_thread(
                    api_call, self.server.api, "POST", f"/v1/apps/{self.app}/messages",
                    {"users": ["honest"], "payload": marker.decode()}, self.secret)
                while True:
                    op, _, body = await asyncio.wait_for(read_frame(reader), 5)
                    if op == OP_PUSH and body.endswith(marker):
                        break
                self.honest.append(time.time() - started)
                writer.close()
            except Exception as error:  # every failure counts, whatever it is
                self.honest_failures.append(f"round {round}: {error!r}")
            await asyncio.sleep(1)

    async def monitor(self):
        while self.running():
            self.samples.append((time.time(), self.server.descriptors(), self.server.resident_kib()))
            await asyncio.sleep(1)

    async def run(self):
        _, app = await asyncio.to_thread(api_call, self.server.api, "POST", "/v1/apps", {"id": "soak"})
        self.app, self.secret = app["id"], app["secret"]
        self.deadline = time.time() + self.seconds
        tasks = [self.probe_health(), self.honest_client(), self.monitor()]
        tasks += [self.half_head() for _ in range(self.n(300))]
        tasks += [self.no_upgrade() for _ in range(self.n(300))]
        tasks += [self.trickle_auth() for _ in range(self.n(300))]
        tasks += [self.subscribe_flood(i) for i in range(self.n(10))]
        tasks += [self.storm(i) for i in range(self.n(40))]
        await asyncio.gather(*tasks)

    def report(self):
        broken = []
        print(f"soak of {self.seconds:.0f} s against one node (auth timeout {AUTH_TIMEOUT:.0f} s, upgrade timeout "
              f"{UPGRADE_TIMEOUT:.0f} s, API head timeout {API_HEAD_TIMEOUT:.0f} s; {self.n(300)} slow connections "
              f"of each kind at once)")
        for name, lived in self.closes.items():
            timeout = {"half-sent HTTP head": API_HEAD_TIMEOUT, "WebSocket never upgraded": UPGRADE_TIMEOUT}.get(
                name, AUTH_TIMEOUT)
            if lived:
                print(f"  {name}: {len(lived)} closed by the server, after {statistics.median(lived):.2f} s "
                      f"(median), {max(lived):.2f} s at most; timeout {timeout} s; {self.late[name]} late")
            else:
                print(f"  {name}: none closed by the server")
                broken.append(f"no {name} connection was closed")
            if self.late[name]:
                broken.append(f"{self.late[name]} {name} connections outlived their timeout")
        print(f"  SUBSCRIBE flood: {self.counts['subscribe frames']} frames of 100 topics sent, "
              f"{self.counts['subscribe answers']} answers read")
        print(f"  reconnect storm: {self.counts['storm connections']} connections, "
              f"{self.counts['storm auths']} authenticated "
              f"({self.counts['storm auths'] / self.seconds:.0f}/s)")
        if self.health:
            print(f"  /healthz: {len(self.health)} answered, {self.health_failures} failed; "
                  f"median {statistics.median(self.health) * 1000:.1f} ms, max {max(self.health) * 1000:.1f} ms")
        if self.health_failures or not self.health:
            broken.append(f"/healthz failed {self.health_failures} times")
        if self.honest:
            print(f"  honest client: {len(self.honest)} connect+AUTH+push rounds, {len(self.honest_failures)} failed; "
                  f"median {statistics.median(self.honest) * 1000:.1f} ms, max {max(self.honest) * 1000:.1f} ms")
        for failure in self.honest_failures[:5]:
            print(f"    {failure}")
        if self.honest_failures or not self.honest:
            broken.append(f"the honest client failed {len(self.honest_failures)} rounds")
        if self.samples:
            fds = [s[1] for s in self.samples]
            rss = [s[2] for s in self.samples]
            third = max(1, len(self.samples) // 3)
            print(f"  descriptors: start {fds[0]}, max {max(fds)}, end {fds[-1]}")
            print(f"  resident memory: start {rss[0] / 1024:.1f} MiB, max {max(rss) / 1024:.1f} MiB, "
                  f"end {rss[-1] / 1024:.1f} MiB")
            # Bounded: the last third of the run does not keep climbing past the middle third.
            middle, last = fds[third:2 * third] or fds, fds[2 * third:] or fds
            if max(last) > 1.5 * max(middle) + 100:
                broken.append("descriptors kept growing")
            middle, last = rss[third:2 * third] or rss, rss[2 * third:] or rss
            if max(last) > 1.5 * max(middle) + 51200:
                broken.append("memory kept growing")
        for rule in broken:
            print(f"soak: BROKEN: {rule}")
        if not broken:
            print("soak: every rule held")
        return not broken


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--binary", default=None)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the number of attackers")
    args = parser.parse_args()
    binary = args.binary
    if binary is None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for configuration in ("release", "debug"):
            candidate = os.path.join(root, ".build", configuration, "herald")
            if os.access(candidate, os.X_OK):
                binary = candidate
                break
    if binary is None:
        sys.exit("soak: no herald binary; build one (swift build -c release) or give --binary")
    with tempfile.TemporaryDirectory(prefix="herald-soak-") as work:
        server = Server(binary, work)
        server.start()
        try:
            soak = Soak(server, args.seconds, args.scale)
            asyncio.run(soak.run())
            ok = soak.report()
        finally:
            server.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
