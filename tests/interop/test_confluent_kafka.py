"""tests/interop/test_confluent_kafka.py: confluent-kafka-python (Debian's
python3-confluent-kafka on librdkafka 2.0.2) against `rivulet broker`: a
producer with acks=all, a consumer group, and the AdminClient calls this
version has."""
import unittest

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from rvbroker import Broker, java_partition, wait_for


class ConfluentKafkaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        cls.bs = cls.broker.bootstrap

    @classmethod
    def tearDownClass(cls):
        rc = cls.broker.stop()
        cls.broker.cleanup()
        assert rc == 0, "broker exit status %d" % rc

    def create(self, admin, topic, partitions):
        fs = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        fs[topic].result(20)

    def test_admin_client(self):
        admin = AdminClient({"bootstrap.servers": self.bs})
        self.create(admin, "ck-admin", 2)
        md = admin.list_topics(timeout=10)
        self.assertEqual(len(md.topics["ck-admin"].partitions), 2)
        res = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "ck-admin")])
        configs = list(res.values())[0].result(20)
        self.assertEqual(configs["cleanup.policy"].value, "delete")
        r = ConfigResource(ConfigResource.Type.TOPIC, "ck-admin", set_config={"retention.ms": "1000"})
        list(admin.alter_configs([r]).values())[0].result(20)
        res = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "ck-admin")])
        self.assertEqual(list(res.values())[0].result(20)["retention.ms"].value, "1000")
        admin.create_partitions([NewPartitions("ck-admin", 4)])["ck-admin"].result(20)
        wait_for(lambda: len(admin.list_topics(timeout=10).topics["ck-admin"].partitions) == 4,
                 what="4 partitions")
        fs = admin.create_topics([NewTopic("ck-admin", num_partitions=1, replication_factor=1)])
        with self.assertRaises(Exception) as cm:
            fs["ck-admin"].result(20)
        self.assertEqual(cm.exception.args[0].code(), KafkaError.TOPIC_ALREADY_EXISTS)
        admin.delete_topics(["ck-admin"])["ck-admin"].result(20)
        wait_for(lambda: "ck-admin" not in admin.list_topics(timeout=10).topics,
                 what="topic deleted")

    def test_produce_acks_all_and_consume_in_group(self):
        admin = AdminClient({"bootstrap.servers": self.bs})
        self.create(admin, "ck-data", 3)
        p = Producer({"bootstrap.servers": self.bs, "acks": "all",
                      "partitioner": "murmur2_random", "linger.ms": 5})
        delivered = []

        def dr(err, msg):
            self.assertIsNone(err)
            delivered.append((msg.key(), msg.partition(), msg.offset()))

        for i in range(300):
            key = b"key-%d" % (i % 17)
            p.produce("ck-data", key=key, value=b"value-%d" % i,
                      headers=[("h", b"%d" % i)], on_delivery=dr)
        self.assertEqual(p.flush(30), 0)
        self.assertEqual(len(delivered), 300)
        for key, part, _ in delivered:
            self.assertEqual(part, java_partition(key, 3))

        c = Consumer({"bootstrap.servers": self.bs, "group.id": "ck-g",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
        c.subscribe(["ck-data"])
        got = []
        deadline_msgs = 0
        while len(got) < 300 and deadline_msgs < 300:
            m = c.poll(1.0)
            if m is None:
                deadline_msgs += 1
                continue
            self.assertIsNone(m.error())
            got.append(m)
        self.assertEqual(len(got), 300)
        by_part = {}
        for m in got:
            by_part.setdefault(m.partition(), []).append(m.offset())
            self.assertEqual(m.headers(), [("h", m.value()[len(b"value-"):])])
        for offs in by_part.values():
            self.assertEqual(offs, sorted(offs))  # in order per partition
        c.commit(asynchronous=False)
        committed = c.committed([TopicPartition("ck-data", i) for i in range(3)], timeout=10)
        self.assertEqual(sum(tp.offset for tp in committed), 300)
        c.close()
        groups = admin.list_groups(timeout=10)
        self.assertIn("ck-g", [g.id for g in groups])


if __name__ == "__main__":
    unittest.main(verbosity=2)
