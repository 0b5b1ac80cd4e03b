import { acks, handshakes, idleMemory, login } from './load.js'
import { printRatios, printTable } from './report.js'
import { startServer } from './servers.js'

// ---- npm run bench: bare Socket.IO, the hand-written recipe and the plugin, side by side ----

const VARIANTS = ['bare', 'recipe', 'plugin']
const ROUNDS = 3
const HANDSHAKES = 2_000
const HANDSHAKE_CONCURRENCY = 20
const ACKS = 40_000
const ACK_CLIENTS = 50
const IDLE_SOCKETS = 2_000
const WARMUP = { passes: 2, handshakes: 1_000, acks: 10_000 }

/** One measurement pass over a server; `sizes` scales it down for the warm-up. */
async function measure (server, cookies, sizes) {
  const clients = cookies.slice(0, ACK_CLIENTS)
  const handshakeRate = await handshakes(server, cookies.slice(0, HANDSHAKE_CONCURRENCY), sizes.handshakes, HANDSHAKE_CONCURRENCY)
  const read = await acks(server, clients, 'read', sizes.acks)
  const write = await acks(server, clients, 'write', sizes.acks)
  const memory = sizes.memory ? await idleMemory(server, cookies) : undefined
  return { handshakes: handshakeRate, read: read.rate, write: write.rate, readWrites: read.writes, writeWrites: write.writes, memory }
}

/** Runs every variant once per round, starting each round with a different one. */
async function rounds (servers, cookies) {
  const results = Object.fromEntries(VARIANTS.map((v) => [v, { handshakes: [], read: [], write: [], readWrites: [], writeWrites: [], memory: [] }]))
  for (let round = 0; round < ROUNDS; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length])
    console.log(`round ${round + 1}/${ROUNDS}: ${order.join(', ')}`)
    for (const variant of order) {
      const figures = await measure(servers[variant], cookies[variant], { handshakes: HANDSHAKES, acks: ACKS, memory: true })
      for (const [key, value] of Object.entries(figures)) results[variant][key].push(value)
    }
  }
  return results
}

async function main () {
  const started = performance.now()
  const servers = {}
  try {
    const starts = await Promise.allSettled(VARIANTS.map(startServer))
    for (const start of starts) if (start.status === 'fulfilled') servers[start.value.variant] = start.value
    const failed = starts.find((start) => start.status === 'rejected')
    if (failed) throw failed.reason
    const cookies = {}
    for (const variant of VARIANTS) cookies[variant] = await login(servers[variant].url, IDLE_SOCKETS)
    console.log('warming up')
    for (const variant of VARIANTS) {
      for (let pass = 0; pass < WARMUP.passes; pass++) await measure(servers[variant], cookies[variant], WARMUP)
    }
    const results = await rounds(servers, cookies)
    await Promise.all(VARIANTS.map((v) => servers[v].close()))
    console.log(`\n${ROUNDS} rounds in ${((performance.now() - started) / 1000).toFixed(0)} s; ` +
      `${HANDSHAKES} handshakes (${HANDSHAKE_CONCURRENCY} at a time), ${ACKS} acks per event (${ACK_CLIENTS} clients), ${IDLE_SOCKETS} idle sockets\n`)
    printTable(results, VARIANTS)
    printRatios(results)
  } catch (err) {
    for (const server of Object.values(servers)) server.kill()
    throw err
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
