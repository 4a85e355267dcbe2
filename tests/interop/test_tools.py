"""tests/interop/test_tools.py: the `rivulet` tools against `rivulet broker`
(--bootstrap-server host:port, the kafka backend), and the same data read by
kcat: topics, configs, console producer and consumer in a group,
consumer-groups with lag and offset reset, delete-records."""
import os
import subprocess
import unittest

from rvbroker import RV_BIN, Broker

KCAT = "/usr/bin/kcat"


class ToolsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        cls.bs = cls.broker.bootstrap

    @classmethod
    def tearDownClass(cls):
        rc = cls.broker.stop()
        cls.broker.cleanup()
        assert rc == 0, "broker exit status %d" % rc

    def rv(self, *args, input=None, ok=True):
        r = subprocess.run([RV_BIN] + list(args[:1]) + ["--bootstrap-server", self.bs] +
                           list(args[1:]), input=input, capture_output=True, timeout=60)
        out = r.stdout.decode() + r.stderr.decode()
        if ok:
            self.assertEqual(r.returncode, 0, out)
        return out

    def test_tools_over_the_network(self):
        out = self.rv("topics", "--create", "--topic", "greetings", "--partitions", "2")
        self.assertIn("Created topic greetings.", out)
        out = self.rv("topics", "--describe", "--topic", "greetings")
        self.assertIn("PartitionCount: 2", out)
        self.assertIn("Leader: 1\tReplicas: 1\tIsr: 1", out)
        self.rv("configs", "--alter", "--entity-type", "topics", "--entity-name", "greetings",
                "--add-config", "retention.ms=3600000")
        out = self.rv("configs", "--describe", "--entity-type", "topics", "--entity-name",
                      "greetings")
        self.assertIn("retention.ms=3600000", out)

        lines = "".join("k%d:v%d\n" % (i, i) for i in range(10)).encode()
        self.rv("console-producer", "--topic", "greetings", "--property", "parse.key=true",
                "--property", "key.separator=:", input=lines)
        out = self.rv("console-consumer", "--topic", "greetings", "--from-beginning", "--group",
                      "readers", "--max-messages", "6")
        self.assertIn("Processed a total of 6 messages", out)
        out = self.rv("consumer-groups", "--list")
        self.assertIn("readers", out.split())
        out = self.rv("consumer-groups", "--describe", "--group", "readers")
        rows = [l.split() for l in out.splitlines() if l.startswith("readers")]
        self.assertEqual(len(rows), 2)
        # CURRENT-OFFSET + LAG = LOG-END-OFFSET; at least the 6 printed are
        # committed (a poll may have returned more, which count as consumed).
        self.assertEqual(sum(int(r[3]) + int(r[5]) for r in rows), 10)
        self.assertEqual(sum(int(r[4]) for r in rows), 10)
        self.assertGreaterEqual(sum(int(r[3]) for r in rows), 6)
        self.rv("consumer-groups", "--reset-offsets", "--group", "readers", "--topic",
                "greetings", "--to-earliest", "--execute")
        out = self.rv("consumer-groups", "--describe", "--group", "readers")
        rows = [l.split() for l in out.splitlines() if l.startswith("readers")]
        self.assertEqual(sum(int(r[3]) for r in rows), 0)

        # kcat sees what the console producer wrote.
        r = subprocess.run([KCAT, "-b", self.bs, "-C", "-t", "greetings", "-o", "beginning", "-e",
                            "-q", "-f", "%k=%s\n"], capture_output=True, timeout=60)
        self.assertEqual(sorted(r.stdout.decode().split()), sorted("k%d=v%d" % (i, i) for i in range(10)))

        out = self.rv("delete-records", "--offset-json-file", self.offsets_file())
        self.assertIn("low_watermark: 1", out)
        out = self.rv("topics", "--delete", "--topic", "greetings")
        out = self.rv("topics", "--list")
        self.assertNotIn("greetings", out.split())

    def offsets_file(self):
        path = os.path.join(self.broker.tmp, "offsets.json")
        with open(path, "w") as f:
            f.write('{"partitions": [{"topic": "greetings", "partition": 0, "offset": 1}], '
                    '"version": 1}')
        return path


if __name__ == "__main__":
    unittest.main(verbosity=2)
