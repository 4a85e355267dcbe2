"""tests/interop/test_kafka_python.py: kafka-python 2.0.2 (Debian's
python3-kafka) against `rivulet broker`: the admin client, a keyed producer
whose keys land in Java's partitions, and a consumer group that commits,
restarts and resumes from its committed offset."""
import sys
import time
import unittest

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import TopicAlreadyExistsError

from rvbroker import Broker, java_partition, wait_for


class KafkaPythonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().start()
        cls.bs = cls.broker.bootstrap

    @classmethod
    def tearDownClass(cls):
        rc = cls.broker.stop()
        cls.broker.cleanup()
        assert rc == 0, "broker exit status %d" % rc

    def admin(self):
        return KafkaAdminClient(bootstrap_servers=self.bs, client_id="interop-admin")

    def test_admin_topics(self):
        admin = self.admin()
        admin.create_topics([NewTopic("kp-admin", num_partitions=3, replication_factor=1,
                                      topic_configs={"retention.ms": "3600000"})])
        with self.assertRaises(TopicAlreadyExistsError):
            admin.create_topics([NewTopic("kp-admin", num_partitions=1, replication_factor=1)])
        self.assertIn("kp-admin", admin.list_topics())
        res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-admin")])
        configs = {c[0]: c[1] for c in res[0].resources[0][4]}
        self.assertEqual(configs["retention.ms"], "3600000")
        self.assertEqual(configs["cleanup.policy"], "delete")
        admin.create_partitions({"kp-admin": NewPartitions(total_count=5)})
        consumer = KafkaConsumer(bootstrap_servers=self.bs)
        wait_for(lambda: consumer.partitions_for_topic("kp-admin") == set(range(5)),
                 what="5 partitions")
        consumer.close()
        admin.delete_topics(["kp-admin"])
        wait_for(lambda: "kp-admin" not in admin.list_topics(), what="topic deleted")
        admin.close()

    def test_keys_land_in_java_partitions(self):
        # Kafka's own test vectors (UtilsTest): foobar -> 6, abc -> 3,
        # a-little-bit-long-string -> 8, all of 12 partitions.
        self.assertEqual(java_partition(b"foobar", 12), 6)
        admin = self.admin()
        admin.create_topics([NewTopic("kp-keys", num_partitions=12, replication_factor=1)])
        admin.close()
        producer = KafkaProducer(bootstrap_servers=self.bs, acks="all")
        keys = [b"foobar", b"abc", b"a-little-bit-long-string"] + [b"key-%d" % i for i in range(50)]
        sent = {}
        for k in keys:
            md = producer.send("kp-keys", key=k, value=b"value-" + k).get(timeout=20)
            self.assertEqual(md.partition, java_partition(k, 12), k)
            sent[k] = (md.partition, md.offset)
        self.assertEqual(sent[b"foobar"][0], 6)
        self.assertEqual(sent[b"abc"][0], 3)
        self.assertEqual(sent[b"a-little-bit-long-string"][0], 8)
        producer.close()
        # Read partition 6 back: the record is there, at its offset.
        consumer = KafkaConsumer(bootstrap_servers=self.bs, auto_offset_reset="earliest",
                                 consumer_timeout_ms=5000)
        consumer.assign([TopicPartition("kp-keys", 6)])
        got = {m.key: (m.partition, m.offset, m.value) for m in consumer}
        consumer.close()
        for k, (p, off) in sent.items():
            if p == 6:
                self.assertEqual(got[k], (6, off, b"value-" + k))

    def test_group_commit_restart_resume(self):
        admin = self.admin()
        admin.create_topics([NewTopic("kp-group", num_partitions=2, replication_factor=1)])
        admin.close()
        producer = KafkaProducer(bootstrap_servers=self.bs)
        for i in range(40):
            producer.send("kp-group", key=b"k%d" % (i % 7), value=b"v%d" % i)
        producer.flush()

        def consume(n):
            c = KafkaConsumer("kp-group", bootstrap_servers=self.bs, group_id="kp-g",
                              auto_offset_reset="earliest", enable_auto_commit=False,
                              consumer_timeout_ms=10000)
            out = []
            for m in c:
                out.append(m)
                if len(out) == n:
                    break
            c.commit()
            c.close()
            return out

        first = consume(40)
        self.assertEqual(sorted(m.value for m in first), sorted(b"v%d" % i for i in range(40)))
        for i in range(40, 50):
            producer.send("kp-group", key=b"k%d" % (i % 7), value=b"v%d" % i)
        producer.flush()
        producer.close()
        second = consume(10)  # a new consumer in the same group resumes
        self.assertEqual(sorted(m.value for m in second),
                         sorted(b"v%d" % i for i in range(40, 50)))

        admin = self.admin()
        groups = [g[0] for g in admin.list_consumer_groups()]
        self.assertIn("kp-g", groups)
        desc = admin.describe_consumer_groups(["kp-g"])[0]
        self.assertEqual(desc.state, "Empty")
        offsets = admin.list_consumer_group_offsets("kp-g")
        self.assertEqual(sum(o.offset for o in offsets.values()), 50)
        admin.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
