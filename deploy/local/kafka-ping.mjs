// Exits 0 when a Kafka broker answers a metadata request (kafkajs admin
// listTopics) on the given bootstrap servers, 1 otherwise. Used by
// kafka-start.sh; usage: node deploy/local/kafka-ping.mjs 127.0.0.1:9092
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const brokers = (process.argv[2] ?? '127.0.0.1:9092').split(',');
const admin = new Kafka({
  clientId: 'baton-kafka-ping',
  brokers,
  connectionTimeout: 1_000,
  requestTimeout: 3_000,
  retry: { retries: 0 },
  logLevel: logLevel.NOTHING,
}).admin();

try {
  await admin.connect();
  await admin.listTopics();
  await admin.disconnect();
  process.exit(0);
} catch {
  process.exit(1);
}
