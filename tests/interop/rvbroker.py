"""tests/interop/rvbroker.py: starts `rivulet broker` for the interop tests.

The broker runs as a subprocess on a fresh data folder, listening on
127.0.0.1 with a port the OS picks (--listen 127.0.0.1:0); the port is read
from the line the broker prints when it is ready. stop() sends SIGTERM and
checks the broker exits 0. $RV_BIN names the rivulet program (set by ctest).
"""
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time

RV_BIN = os.environ.get("RV_BIN", "rivulet")


class Broker:
    def __init__(self, properties=None, data_dir=None):
        self.tmp = tempfile.mkdtemp(prefix="rv-interop-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.properties = {"group.initial.rebalance.delay.ms": "100"}
        self.properties.update(properties or {})
        self.proc = None
        self.bootstrap = None

    def start(self, timeout=30):
        cfg = os.path.join(self.tmp, "broker.properties")
        with open(cfg, "w") as f:
            for k, v in self.properties.items():
                f.write("%s=%s\n" % (k, v))
        self.log_path = os.path.join(self.tmp, "broker.log")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [RV_BIN, "broker", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--config", cfg],
            stdout=subprocess.PIPE, stderr=self.log)
        deadline = time.time() + timeout
        line = b""
        while time.time() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                line = self.proc.stdout.readline()
                m = re.search(rb"listening on (\S+):(\d+)", line)
                if m:
                    self.bootstrap = "127.0.0.1:%d" % int(m.group(2))
                    return self
                if not line:
                    break
            if self.proc.poll() is not None:
                break
        raise RuntimeError("rivulet broker did not start (got %r); log:\n%s" % (line, self.logs()))

    def logs(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout=30):
        """SIGTERM, then wait; returns the exit status."""
        if not self.proc:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("rivulet broker did not stop on SIGTERM; log:\n" + self.logs())
        self.proc.stdout.close()
        self.log.close()
        self.proc = None
        return rc

    def cleanup(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.log.close()
            self.proc = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def java_partition(key, partitions):
    """Java's default partitioner: murmur2 of the key bytes, positive, modulo."""
    data = bytearray(key)
    length = len(data)
    seed, m, r = 0x9747B28C, 0x5BD1E995, 24
    h = (seed ^ length) & 0xFFFFFFFF
    i = 0
    while i + 4 <= length:
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
        i += 4
    rest = length & 3
    if rest == 3:
        h ^= data[i + 2] << 16
    if rest >= 2:
        h ^= data[i + 1] << 8
    if rest >= 1:
        h ^= data[i]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return (h & 0x7FFFFFFF) % partitions


def wait_for(cond, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)
