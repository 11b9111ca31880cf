// kafkajs driven by the end-to-end suite (tests/e2e/group_clients.py). Two modes, each given
// its settings as one JSON argument; results go to stdout as JSON lines, kafkajs's own log
// to stderr.
//
//   node kafkajs_client.js produce '{"bootstrap": "...", "topic": "..."}'
//     reads [{"key": "...", "value": "..."}, ...] from stdin, sends them with acks=all,
//     prints {"acknowledged": N, "baseOffsets": {"0": "...", ...}} and exits 0.
//
//   node kafkajs_client.js consume '{"bootstrap", "topic", "group", "clientId",
//                                    "sessionTimeout", "heartbeatInterval", "maxWaitTimeInMs"}'
//     joins the group (subscribe, from the beginning when nothing is committed), autoCommit
//     off: each message is printed as {"event": "message", ...} and then committed with
//     commitOffsets() before the next one is taken. Every assignment is printed as
//     {"event": "assigned", "partitions": [...]}. On SIGTERM it finishes the message in
//     hand, disconnects (leaving the group) and exits 0.
'use strict'

const { Kafka, logLevel, Partitioners } = require('kafkajs')

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function kafka (settings) {
  return new Kafka({
    clientId: settings.clientId || 'e2e-kafkajs',
    brokers: [settings.bootstrap],
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 5, initialRetryTime: 100 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log }) => {
      process.stderr.write(JSON.stringify({ level, namespace, ...log }) + '\n')
    }
  })
}

async function readStdin () {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

async function produce (settings) {
  const messages = JSON.parse(await readStdin())
  const producer = kafka(settings).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
    idempotent: false
  })
  await producer.connect()
  try {
    const results = await producer.send({ topic: settings.topic, acks: -1, messages })
    const baseOffsets = {}
    for (const r of results) {
      if (r.errorCode !== 0) throw new Error(`partition ${r.partition}: error ${r.errorCode}`)
      baseOffsets[r.partition] = r.baseOffset
    }
    emit({ acknowledged: messages.length, baseOffsets })
  } finally {
    await producer.disconnect()
  }
}

async function consume (settings) {
  const client = kafka(settings)
  const consumer = client.consumer({
    groupId: settings.group,
    sessionTimeout: settings.sessionTimeout,
    heartbeatInterval: settings.heartbeatInterval,
    maxWaitTimeInMs: settings.maxWaitTimeInMs,
    rebalanceTimeout: 30000
  })
  consumer.on(consumer.events.GROUP_JOIN, e => {
    const partitions = e.payload.memberAssignment[settings.topic] || []
    emit({ event: 'assigned', partitions, memberId: e.payload.memberId })
  })
  consumer.on(consumer.events.CRASH, e => {
    emit({ event: 'error', error: `crash: ${e.payload.error && e.payload.error.stack}` })
  })

  let inHand = Promise.resolve()
  let stopping = false
  process.on('SIGTERM', async () => {
    if (stopping) return
    stopping = true
    try {
      await inHand
      await consumer.disconnect()
      emit({ event: 'closed' })
      process.exit(0)
    } catch (e) {
      emit({ event: 'error', error: `disconnect: ${e.stack}` })
      process.exit(1)
    }
  })

  await consumer.connect()
  await consumer.subscribe({ topics: [settings.topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      const handle = (async () => {
        emit({
          event: 'message',
          partition,
          offset: message.offset,
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value === null ? null : message.value.toString('utf8')
        })
        const next = (BigInt(message.offset) + 1n).toString()
        await consumer.commitOffsets([{ topic, partition, offset: next }])
      })()
      inHand = handle.catch(() => {})
      await handle
    }
  })
}

async function main () {
  const [mode, json] = process.argv.slice(2)
  const settings = JSON.parse(json || '{}')
  if (mode === 'produce') return produce(settings)
  if (mode === 'consume') return consume(settings)
  throw new Error(`unknown mode ${mode}: produce | consume`)
}

main().catch(e => {
  process.stderr.write(`kafkajs_client: ${e.stack || e}\n`)
  emit({ event: 'error', error: String(e.stack || e) })
  process.exit(1)
})
