import { fork } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { io } from 'socket.io-client'
import { haveRedis, startRedis } from './redis.js'

// ---- Many nodes under load: npm run bench:nodes ----
// NODES node processes (bench/node-server.js) on one redis-server, SOCKETS sockets over SOCKETS / 2 sessions (two
// tabs each; TWO_NODES of the sessions have their tabs on two different nodes), a mix of reads, `views++`, HTTP
// `views++` (on any node) and logouts for SECONDS, then IDLE seconds of nothing. Reports lost updates (must be 0),
// logout fan-out, Redis commands per second per 1,000 idle sockets, and memory per node.

const env = (name, fallback) => Number(process.env[name] ?? fallback)
const NODES = env('NODES', 4)
const SOCKETS = env('NODES_SOCKETS', 5000)
const SECONDS = env('NODES_SECONDS', 60)
const IDLE = env('NODES_IDLE', 30)
/** Events and requests per second, over all sessions. */
const RATE = env('NODES_RATE', 1000)
const TWO_NODES = env('NODES_TWO_NODES', 0.2)
/** The mix: a read, `views++` over a socket, an HTTP `views++`, a logout (the rest). */
const MIX = { read: 0.55, inc: 0.35, http: 0.095 }
const MAX_IN_FLIGHT = 2000

const percentile = (values, p) => {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(p / 100 * sorted.length))]
}
const pick = (list) => list[Math.floor(Math.random() * list.length)]
const ms = (value) => `${value.toFixed(1)} ms`

/** Starts one node; resolves with its URL, a memory probe and close(). */
async function startNode (name, redisUrl) {
  const child = fork(new URL('./node-server.js', import.meta.url), [name], { env: { ...process.env, REDIS_URL: redisUrl }, execArgv: ['--expose-gc'] })
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${code})`)))
    child.once('message', (message) => resolve(message.port))
  })
  child.removeAllListeners('exit')
  let lastId = 0
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    async memory () {
      const id = ++lastId
      const reply = new Promise((resolve) => {
        const onMessage = (message) => { if (message.id === id) { child.off('message', onMessage); resolve(message.memory) } }
        child.on('message', onMessage)
      })
      child.send({ cmd: 'memory', id })
      return await reply
    },
    async close () {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.send({ cmd: 'close' })
      await Promise.race([exited, sleep(5000).then(() => child.kill('SIGKILL'))])
    }
  }
}

/** Runs `task(i)` for i < count, `concurrency` at a time. */
async function pool (count, concurrency, task) {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => { while (next < count) await task(next++) }))
}

function connect (url, cookie) {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 20_000, extraHeaders: { cookie } })
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket))
    socket.once('connect_error', reject)
  })
}

async function main () {
  if (!haveRedis()) throw new Error('bench:nodes needs redis-server')
  const redis = await startRedis()
  const admin = new Redis(redis.url)
  const nodes = await Promise.all(Array.from({ length: NODES }, async (_, i) => await startNode(`node-${i}`, redis.url)))
  const sessionCount = Math.floor(SOCKETS / 2)
  console.log(`${NODES} nodes, ${sessionCount * 2} sockets over ${sessionCount} sessions (${Math.round(TWO_NODES * 100)}% with tabs on two nodes), ` +
    `${RATE} operations/s for ${SECONDS} s, then ${IDLE} s idle\n`)

  // ---- Sessions and their tabs ----
  const started = performance.now()
  const sessions = new Array(sessionCount)
  await pool(sessionCount, 50, async (i) => {
    const home = i % NODES
    const response = await fetch(`${nodes[home].url}/login`, { method: 'POST' })
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]
    const other = i < sessionCount * TWO_NODES ? (home + 1) % NODES : home
    sessions[i] = { cookie, homes: [home, other], tabs: [], acks: [], errors: 0, http: 0, live: true }
  })
  const empty = await Promise.all(nodes.map(async (node) => await node.memory()))
  await pool(sessionCount, 100, async (i) => {
    const s = sessions[i]
    s.tabs = [await connect(nodes[s.homes[0]].url, s.cookie), await connect(nodes[s.homes[1]].url, s.cookie)]
  })
  console.log(`set up in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  // ---- Load ----
  let inFlight = 0
  let skipped = 0
  const counts = { read: 0, inc: 0, http: 0, logout: 0, errors: 0 }
  const fanout = []
  const live = () => sessions.filter((s) => s.live)
  async function operation () {
    const s = pick(sessions)
    if (!s.live) return
    const r = Math.random()
    if (r < MIX.read) {
      counts.read++
      await pick(s.tabs).timeout(20_000).emitWithAck('get')
    } else if (r < MIX.read + MIX.inc) {
      counts.inc++
      const reply = await pick(s.tabs).timeout(20_000).emitWithAck('inc')
      if (typeof reply === 'number') s.acks.push(reply)
      else s.errors++
    } else if (r < MIX.read + MIX.inc + MIX.http) {
      // One HTTP `views++` of a session at a time: two requests that read and write one key race on any server
      // (that is @fastify/session's model); what is measured is HTTP racing the sockets, on any node.
      if (s.httpBusy) return
      s.httpBusy = true
      counts.http++
      const response = await fetch(`${pick(nodes).url}/http`, { method: 'POST', headers: { cookie: s.cookie } }).finally(() => { s.httpBusy = false })
      if (response.status === 200) {
        s.http++
        s.acks.push((await response.json()).views)
      } else s.errors++
    } else {
      // Keep at least half the sessions for the idle phase.
      if (live().length <= sessionCount / 2) return
      counts.logout++
      s.live = false
      const t0 = performance.now()
      const ended = s.tabs.map((tab) => new Promise((resolve) => tab.once('disconnect', () => resolve(performance.now() - t0))))
      await fetch(`${nodes[s.homes[0] === s.homes[1] ? (s.homes[0] + 1) % NODES : (s.homes[0] + 2) % NODES].url}/logout`, { method: 'POST', headers: { cookie: s.cookie } })
      fanout.push(Math.max(...await Promise.all(ended)))
    }
  }
  const loadStart = performance.now()
  const tick = 10
  while (performance.now() - loadStart < SECONDS * 1000) {
    const due = Math.round(RATE * tick / 1000)
    for (let i = 0; i < due; i++) {
      if (inFlight >= MAX_IN_FLIGHT) { skipped++; continue }
      inFlight++
      operation().catch(() => { counts.errors++ }).finally(() => { inFlight-- })
    }
    await sleep(tick)
  }
  while (inFlight > 0) await sleep(10)
  const loadSeconds = (performance.now() - loadStart) / 1000

  // ---- Lost updates: every `views++` acked is in the store, and no two acks of a session gave the same count ----
  let lost = 0
  let duplicates = 0
  let lostHttp = 0
  let twoNodeIncs = 0
  let httpIncs = 0
  const remaining = live()
  await pool(remaining.length, 50, async (i) => {
    const s = remaining[i]
    if (s.homes[0] !== s.homes[1]) twoNodeIncs += s.acks.length
    httpIncs += s.http
    const stored = await (await fetch(`${pick(nodes).url}/session`, { headers: { cookie: s.cookie } })).json()
    duplicates += s.acks.length - new Set(s.acks).size
    lost += Math.max(0, s.acks.length - stored.views)
    lostHttp += Math.max(0, s.http - stored.http)
  })

  // ---- Idle: Redis commands while nothing happens ----
  const idleSockets = remaining.length * 2
  await sleep(2000)
  await admin.config('RESETSTAT')
  await sleep(IDLE * 1000)
  const stats = await admin.info('stats')
  // The admin's own INFO counts as one.
  const idleCommands = Number(stats.match(/total_commands_processed:(\d+)/)[1]) - 1
  // Which commands (the admin's INFO calls excluded).
  const idleKinds = [...(await admin.info('commandstats')).matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)]
    .filter(([, name]) => name !== 'info').map(([, name, calls]) => `${name} ${calls}`).join(', ')
  const memory = await Promise.all(nodes.map(async (node) => await node.memory()))

  const table = [
    ['operations', `${counts.read} reads, ${counts.inc} views++, ${counts.http} HTTP writes, ${counts.logout} logouts in ${loadSeconds.toFixed(0)} s (${Math.round((counts.read + counts.inc + counts.http + counts.logout) / loadSeconds)}/s); ${counts.errors} failed, ${skipped} skipped (over ${MAX_IN_FLIGHT} in flight)`],
    ['lost updates (views++ over sockets and HTTP)', `${lost + duplicates} (acked but not stored: ${lost}; acks giving the same count twice: ${duplicates}); ${twoNodeIncs} of the acked increments were on sessions with tabs on two nodes, ${httpIncs} over HTTP`],
    ['lost HTTP writes (a key only HTTP writes)', String(lostHttp)],
    ['logout fan-out (request sent → every tab of the session disconnected)', `p50 ${ms(percentile(fanout, 50))}, p99 ${ms(percentile(fanout, 99))}, max ${ms(Math.max(...fanout))} (${fanout.length} logouts)`],
    ['Redis commands while idle', `${(idleCommands / IDLE).toFixed(1)}/s for ${idleSockets} sockets: ${(idleCommands / IDLE / idleSockets * 1000).toFixed(2)}/s per 1,000 idle sockets (${idleKinds})`],
    ...memory.map((m, i) => [`memory, ${nodes[i].name}`, `rss ${(m.rss / 1e6).toFixed(0)} MB, heap ${(m.heapUsed / 1e6).toFixed(0)} MB, ${m.sockets} sockets: ` +
      `${((m.heapUsed + m.external - empty[i].heapUsed - empty[i].external) / Math.max(1, m.sockets) / 1024).toFixed(1)} KB heap + external per socket over the node before its sockets`])
  ]
  for (const [name, value] of table) console.log(`${name.padEnd(72)} ${value}`)

  for (const s of sessions) for (const tab of s.tabs) tab.disconnect()
  await Promise.all(nodes.map(async (node) => await node.close()))
  admin.disconnect()
  await redis.stop()
  process.exitCode = lost + duplicates + lostHttp === 0 ? 0 : 1
}

await main()
