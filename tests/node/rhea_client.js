// rhea (AMQP 1.0) driven by the end-to-end suite (tests/e2e/test_amqp_rhea.py). Each mode gets
// its settings as one JSON argument ({"host", "port", ...}); results go to stdout as JSON
// lines, errors to stderr and a final {"event": "error", ...} line with exit code 1.
//
//   send      {"address", "messages": [{"body", "data": bool, "durable": bool}]}
//             sends each message unsettled and waits for its outcome; prints
//             {"event": "sent", "accepted": N}. Any outcome but accepted is an error.
//
//   receive   {"address", "count", "outcomes": ["release", "accept", ...], "idleMs"}
//             one receiver that grants one credit at a time, so the broker never pushes a
//             message it was not asked for; settles the i-th message with outcomes[i] (the
//             last outcome repeats; "accept" when none): accept, release (released) or
//             reject. Prints each message as {"event": "message",
//             "body", "data", "deliveryCount", "durable"}, then {"event": "done", "count"}
//             once it has `count` messages or none came for `idleMs`.
//
//   receivers {"address", "receivers": N, "credit", "count", "each": bool}
//             N receivers on N connections, credit windows of `credit`, accepting everything;
//             prints {"event": "attached"} once all are attached (send then), and
//             {"event": "result", "got": [[bodies of receiver 0], ...]} once together they
//             have `count` messages, or with "each", once every one has `count`.
//
//   scenario  {"address", "batches": [[body, ...], [body, ...]], "admin", "queue"}
//             the ActiveMQ Artemis tutorial: two producers on two connections send their batch
//             (10 bodies of 10 bytes, as data sections) at once; receiver A takes one message
//             and accepts it, receiver B (another connection) the other 19; with both
//             attached it reads the queue's
//             counters from the admin API (GET admin/api/queues) until they show 20
//             acknowledged and two consumers, or 10 s pass. Prints {"event": "scenario", "a":
//             [...], "b": [...], "queue": {...}}.
'use strict'

const rhea = require('rhea')

// One client step (connect, attach, an outcome, a message that must come).
const STEP_MS_MAX = 15000
// How long the admin counters may take to settle.
const SETTLE_MS_MAX = 10000

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function withDeadline (promise, what, ms = STEP_MS_MAX) {
  let timer
  const deadline = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}

// Resolves on `ok`, rejects on any of `errors`, whichever the endpoint emits first.
function once (emitter, ok, errors) {
  return new Promise((resolve, reject) => {
    emitter.once(ok, resolve)
    for (const e of errors) {
      emitter.once(e, ctx => {
        const cause = (ctx && (ctx.error || (ctx.connection && ctx.connection.error))) || e
        reject(new Error(`${e}: ${JSON.stringify(cause)}`))
      })
    }
  })
}

async function connect (settings) {
  const container = rhea.create_container()
  const conn = container.connect({
    host: settings.host,
    port: settings.port,
    reconnect: false,
    username: settings.username,
    password: settings.password
  })
  await withDeadline(once(conn, 'connection_open', ['connection_error', 'disconnected']),
    'connection open')
  return conn
}

async function disconnect (conn) {
  if (!conn.is_open()) return
  const closed = once(conn, 'connection_close', ['connection_error', 'disconnected'])
  conn.close()
  await withDeadline(closed, 'connection close')
}

function text (body) {
  // A data section arrives as {typecode: 0x75, content: Buffer}; an amqp-value as the value.
  if (body && body.typecode === 0x75) return { body: body.content.toString('utf8'), data: true }
  return { body, data: false }
}

function message (spec) {
  const body = spec.data ? rhea.message.data_section(Buffer.from(spec.body, 'utf8')) : spec.body
  return { body, durable: !!spec.durable }
}

async function sendAll (conn, address, specs) {
  const sender = conn.open_sender({ target: { address } })
  await withDeadline(once(sender, 'sender_open', ['sender_error', 'sender_close']), 'attach')
  const outcomes = new Map()
  for (const e of ['accepted', 'rejected', 'released', 'modified']) {
    sender.on(e, ctx => {
      const waiter = outcomes.get(ctx.delivery.id)
      if (waiter) waiter(e)
    })
  }
  const pending = []
  for (const spec of specs) {
    while (!sender.sendable()) {
      await withDeadline(once(sender, 'sendable', ['sender_error', 'sender_close']), 'credit')
    }
    const delivery = sender.send(message(spec))
    pending.push(withDeadline(new Promise(resolve => outcomes.set(delivery.id, resolve)),
      `outcome of ${JSON.stringify(spec.body)}`))
  }
  const got = await Promise.all(pending)
  const bad = got.filter(o => o !== 'accepted')
  if (bad.length) throw new Error(`${bad.length} messages not accepted: ${bad}`)
  sender.close()
  return got.length
}

// A receiver whose messages are taken one at a time with next().
async function openReceiver (conn, address, credit = 0) {
  const link = conn.open_receiver({ source: { address }, autoaccept: credit > 0, credit_window: credit })
  const arrived = []
  let wake = null
  link.on('message', ctx => {
    arrived.push(ctx)
    if (wake) wake()
  })
  await withDeadline(once(link, 'receiver_open', ['receiver_error', 'receiver_close']), 'attach')
  return {
    link,
    arrived,
    // The next message, granting one credit if none is outstanding; null after `ms` of silence.
    async next (ms) {
      if (!arrived.length && link.credit === 0 && credit === 0) link.add_credit(1)
      if (!arrived.length) {
        await new Promise(resolve => {
          const timer = setTimeout(resolve, ms)
          wake = () => { clearTimeout(timer); resolve() }
        })
        wake = null
      }
      return arrived.shift() || null
    }
  }
}

function settle (delivery, outcome) {
  switch (outcome) {
    case 'accept': return delivery.accept()
    case 'release': return delivery.release()
    case 'reject': return delivery.reject({ condition: 'amqp:internal-error', description: 'e2e' })
    default: throw new Error(`unknown outcome ${outcome}`)
  }
}

async function send (s) {
  const conn = await connect(s)
  const accepted = await sendAll(conn, s.address, s.messages)
  await disconnect(conn)
  emit({ event: 'sent', accepted })
}

async function receive (s) {
  const conn = await connect(s)
  const r = await openReceiver(conn, s.address)
  const outcomes = s.outcomes && s.outcomes.length ? s.outcomes : ['accept']
  let n = 0
  while (n < s.count) {
    const ctx = await r.next(s.idleMs)
    if (!ctx) break
    emit({ event: 'message', ...text(ctx.message.body), deliveryCount: ctx.message.delivery_count || 0, durable: !!ctx.message.durable })
    settle(ctx.delivery, outcomes[Math.min(n, outcomes.length - 1)])
    n++
  }
  await disconnect(conn)
  emit({ event: 'done', count: n })
}

async function receivers (s) {
  const conns = await Promise.all(Array.from({ length: s.receivers }, () => connect(s)))
  const links = await Promise.all(conns.map(c => openReceiver(c, s.address, s.credit)))
  const got = links.map(() => [])
  const enough = () => s.each ? got.every(g => g.length >= s.count)
    : got.reduce((n, g) => n + g.length, 0) >= s.count
  let done
  const finished = new Promise(resolve => { done = resolve })
  links.forEach((r, i) => r.link.on('message', ctx => {
    got[i].push(text(ctx.message.body).body)
    if (enough()) done()
  }))
  emit({ event: 'attached' })
  await withDeadline(finished, `${s.count} messages`, 60000)
  await Promise.all(conns.map(disconnect))
  emit({ event: 'result', got })
}

async function queueCounters (admin, name) {
  const res = await fetch(`${admin}/api/queues`)
  if (!res.ok) throw new Error(`GET /api/queues: ${res.status}`)
  return (await res.json()).find(q => q.name === name) || null
}

async function scenario (s) {
  await Promise.all(s.batches.map(async batch => {
    const conn = await connect(s)
    await sendAll(conn, s.address, batch.map(body => ({ body, data: true })))
    await disconnect(conn)
  }))

  const take = async (r, n) => {
    const out = []
    for (let i = 0; i < n; i++) {
      const ctx = await r.next(STEP_MS_MAX)
      if (!ctx) throw new Error(`message ${i + 1} of ${n} did not come`)
      out.push(text(ctx.message.body).body)
      ctx.delivery.accept()
    }
    return out
  }
  const connA = await connect(s)
  const a = await take(await openReceiver(connA, s.address), 1)
  const connB = await connect(s)
  const b = await take(await openReceiver(connB, s.address), 19)

  const deadline = Date.now() + SETTLE_MS_MAX
  let queue = await queueCounters(s.admin, s.queue)
  while (Date.now() < deadline &&
         !(queue && queue.messages_acknowledged === 20 && queue.consumer_count === 2)) {
    await new Promise(resolve => setTimeout(resolve, 50))
    queue = await queueCounters(s.admin, s.queue)
  }
  await Promise.all([connA, connB].map(disconnect))
  emit({ event: 'scenario', a, b, queue })
}

async function main () {
  const [mode, json] = process.argv.slice(2)
  const settings = JSON.parse(json || '{}')
  const modes = { send, receive, receivers, scenario }
  if (!modes[mode]) throw new Error(`unknown mode ${mode}: ${Object.keys(modes).join(' | ')}`)
  await modes[mode](settings)
  process.exit(0)
}

main().catch(e => {
  process.stderr.write(`rhea_client: ${e.stack || e}\n`)
  emit({ event: 'error', error: String(e.stack || e) })
  process.exit(1)
})
