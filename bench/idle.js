import { connectAll, disconnectAll, handshakes, login, waitForClients } from './load.js'
import { startServer } from './servers.js'

// ---- Many idle sockets on one process: node bench/idle.js [count] (npm run bench:idle) ----
// Each server gets `count` clients, each with its own session, all connected and idle; it reports heap + external
// memory after GC and RSS per socket, then handshakes/s with all of them still connected.

const COUNT = Number(process.argv[2] ?? process.env.BENCH_IDLE ?? 10_000)
process.env.BENCH_CART ??= '100'
const VARIANTS = ['bare', 'plugin', 'plugin-cart']
const HANDSHAKES = 1_000
const HANDSHAKE_CONCURRENCY = 20

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`

async function measure (variant) {
  const server = await startServer(variant)
  try {
    const { cookies } = await login(server.url, COUNT)
    const before = await server.stats(true)
    const sockets = await connectAll(server.url, cookies)
    try {
      await waitForClients(server, COUNT)
      const after = await server.stats(true)
      const { rate } = await handshakes(server, cookies.slice(0, HANDSHAKE_CONCURRENCY), HANDSHAKES, HANDSHAKE_CONCURRENCY, COUNT)
      return { variant, heap: after.memory, perSocket: (after.memory - before.memory) / COUNT, rss: after.rss, rate }
    } finally {
      disconnectAll(sockets)
    }
  } finally {
    await server.close()
  }
}

const rows = []
for (const variant of VARIANTS) rows.push(await measure(variant))
console.log(`${COUNT.toLocaleString('en-US')} idle sockets on one process, each with its own session (plugin-cart: a ${process.env.BENCH_CART}-item cart)\n`)
console.log('variant        heap + external   per socket   RSS        handshakes/s with them connected')
for (const r of rows) {
  console.log(`${r.variant.padEnd(15)}${mb(r.heap).padStart(15)}   ${kb(r.perSocket).padStart(10)}   ${mb(r.rss).padStart(7)}    ${Math.round(r.rate).toLocaleString('en-US')}`)
}
const bare = rows[0]
for (const r of rows.slice(1)) console.log(`${r.variant} - bare: ${kb(r.perSocket - bare.perSocket)} per socket`)
