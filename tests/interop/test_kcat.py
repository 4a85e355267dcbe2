"""tests/interop/test_kcat.py: kcat 1.7.1 (librdkafka 2.0.2) against
`rivulet broker`: -L metadata, -P with keys and headers, -C reading back
exactly what was written in order per partition, -G with two members
splitting the partitions, and -Q offsets for a timestamp."""
import subprocess
import time
import unittest

from rvbroker import Broker, java_partition, wait_for

KCAT = "/usr/bin/kcat"


class KcatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker({"num.partitions": "3"}).start()
        cls.bs = cls.broker.bootstrap

    @classmethod
    def tearDownClass(cls):
        rc = cls.broker.stop()
        cls.broker.cleanup()
        assert rc == 0, "broker exit status %d" % rc

    def kcat(self, *args, input=None, timeout=60):
        r = subprocess.run([KCAT, "-b", self.bs, "-X", "partitioner=murmur2_random"] + list(args),
                           input=input, capture_output=True, timeout=timeout)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return r.stdout.decode()

    def produce(self, topic, lines, *extra):
        self.kcat("-P", "-t", topic, "-K:", *extra, input="".join(l + "\n" for l in lines).encode())

    def test_metadata(self):
        self.produce("kc-meta", ["a:1"])  # auto-created with num.partitions=3
        out = self.kcat("-L", "-t", "kc-meta")
        self.assertIn("1 brokers:", out)
        self.assertIn(self.bs.split(":")[1], out)
        self.assertIn('topic "kc-meta" with 3 partitions:', out)
        for p in range(3):
            self.assertIn("partition %d, leader 1, replicas: 1, isrs: 1" % p, out)

    def test_produce_consume_exact(self):
        lines = ["key-%d:value-%d" % (i % 5, i) for i in range(60)]
        self.produce("kc-data", lines, "-H", "source=kcat")
        out = self.kcat("-C", "-t", "kc-data", "-o", "beginning", "-e", "-q",
                        "-f", "%p|%o|%k|%s|%h\n")
        rows = [l.split("|") for l in out.splitlines()]
        self.assertEqual(len(rows), 60)
        by_part = {}
        for p, o, k, v, h in rows:
            self.assertEqual(h, "source=kcat")
            self.assertEqual(int(p), java_partition(k.encode(), 3))
            by_part.setdefault(int(p), []).append((int(o), k, v))
        for p, recs in by_part.items():
            self.assertEqual([r[0] for r in recs], list(range(len(recs))))
            expect = [(k, v) for k, v in (l.split(":") for l in lines)
                      if java_partition(k.encode(), 3) == p]
            self.assertEqual([(r[1], r[2]) for r in recs], expect)

    def test_balanced_group_two_members(self):
        self.produce("kc-group", ["k%d:v%d" % (i, i) for i in range(90)])
        cmd = [KCAT, "-b", self.bs, "-G", "kc-g", "-o", "beginning", "-q", "-f", "%p %s\n",
               "-X", "session.timeout.ms=6000", "kc-group"]
        a = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        b = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            time.sleep(10)
        finally:
            a.terminate()
            b.terminate()
        outa, erra = a.communicate(timeout=30)
        outb, errb = b.communicate(timeout=30)
        pa = {int(l.split()[0]) for l in outa.decode().splitlines()}
        pb = {int(l.split()[0]) for l in outb.decode().splitlines()}
        values = [l.split()[1] for l in (outa + outb).decode().splitlines()]
        self.assertEqual(sorted(values), sorted("v%d" % i for i in range(90)),
                         erra.decode()[-2000:] + errb.decode()[-2000:])
        self.assertTrue(pa and pb, "both members got partitions: %s %s" % (pa, pb))
        self.assertFalse(pa & pb, "no partition read by both: %s %s" % (pa, pb))

    def test_offsets_for_time(self):
        t0 = int(time.time() * 1000)
        self.produce("kc-time", ["k:early"], "-p", "0")
        time.sleep(0.05)
        t1 = int(time.time() * 1000)
        self.produce("kc-time", ["k:late"], "-p", "0")
        out = self.kcat("-Q", "-t", "kc-time:0:%d" % t1)
        self.assertIn("kc-time [0] offset 1", out)
        out = self.kcat("-Q", "-t", "kc-time:0:%d" % (t0 - 1000))
        self.assertIn("kc-time [0] offset 0", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
