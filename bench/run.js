import { acks, handshakes, idleMemory, login, pages } from './load.js'
import { haveRedis, startRedis } from './redis.js'
import { printRatios, printRedisRatios, printRouteRatio, printSizes, printTable } from './report.js'
import { startServer } from './servers.js'

// ---- npm run bench: bare Socket.IO, the hand-written recipe and the plugin, side by side ----

// BENCH_CART=n: the -cart servers put an n-item cart in every session (default 100, about 10 KB); 0 skips them.
const CART_ITEMS = Number(process.env.BENCH_CART ?? 100)
process.env.BENCH_CART = String(CART_ITEMS)
const carts = (variants) => CART_ITEMS > 0 ? variants.map((v) => `${v}-cart`) : []
const VARIANTS = ['bare', 'recipe', 'plugin', ...carts(['recipe', 'plugin'])]
const REDIS_VARIANTS = ['recipe-redis', 'recipe-node-redis', 'plugin-redis', 'plugin-node-redis', ...carts(['recipe-node-redis', 'plugin-redis'])]
// Throughput rounds: at least MIN_ROUNDS, more while the time budget lasts (slow machines get fewer).
// BENCH_ROUNDS=n runs exactly n rounds of everything (n = 1 to try a change quickly).
const FIXED_ROUNDS = process.env.BENCH_ROUNDS ? Number(process.env.BENCH_ROUNDS) : undefined
const MIN_ROUNDS = FIXED_ROUNDS ?? 3
const MAX_ROUNDS = FIXED_ROUNDS ?? 9
const THROUGHPUT_BUDGET_MS = 100_000
const MEMORY_ROUNDS = FIXED_ROUNDS ?? 3
const WARMUP_PASSES = 1
const HANDSHAKES = 1_000
const HANDSHAKE_CONCURRENCY = 20
const ACKS = 20_000
const ACK_CLIENTS = 50
// The burst measurement: each client keeps this many changing events in flight (a tab sending several at once).
const BURST = 8
const PAGES = 10_000
const IDLE_SOCKETS = 1_000

/** The throughput measurements of one round; each resolves to named figures. */
const throughput = {
  async handshakes (server, cookies) {
    const { rate, cpu } = await handshakes(server, cookies.slice(0, HANDSHAKE_CONCURRENCY), HANDSHAKES, HANDSHAKE_CONCURRENCY)
    return { handshakes: rate, handshakeCpu: cpu }
  },
  async read (server, cookies) {
    const { rate, writes, cpu } = await acks(server, cookies.slice(0, ACK_CLIENTS), 'read', ACKS)
    return { read: rate, readWrites: writes, readCpu: cpu }
  },
  async write (server, cookies) {
    // On Redis, also the redis-server's CPU time per save (one save per write event).
    const redisBefore = await server.redisCpu?.()
    const { rate, writes, cpu, events } = await acks(server, cookies.slice(0, ACK_CLIENTS), 'write', ACKS)
    const redisCpu = server.redisCpu ? ((await server.redisCpu()) - redisBefore) / events : undefined
    return { write: rate, writeWrites: writes, writeCpu: cpu, ...(redisCpu === undefined ? {} : { redisCpu }) }
  },
  async burst (server, cookies) {
    const { rate, writes, cpu } = await acks(server, cookies.slice(0, ACK_CLIENTS), 'write', ACKS, BURST)
    return { burst: rate, burstWrites: writes, burstCpu: cpu }
  },
  async http (server, cookies) {
    const { rate, writes, cpu } = await pages(server, cookies.slice(0, ACK_CLIENTS), PAGES)
    return { http: rate, httpWrites: writes, httpCpu: cpu }
  }
}

/** Acks per second of one message event (`server.event`: the route or the plain listener). */
async function message (server, cookies) {
  const { rate, cpu } = await acks(server, cookies.slice(0, ACK_CLIENTS), server.event, ACKS)
  return { message: rate, messageCpu: cpu }
}

async function memory (server, cookies) {
  return { memory: await idleMemory(server, cookies) }
}

/** The variants, starting with a different one each round. */
const rotated = (variants, round) => variants.map((_, i) => variants[(i + round) % variants.length])

/**
 * Runs `measurements` for `rounds.min` to `rounds.max` rounds, starting no new round after `rounds.budget` ms
 * once the minimum is done. Within a round each measurement runs on every variant back to back, so that the
 * figures compared with each other are taken close together. Resolves to the number of rounds run.
 */
async function runRounds (servers, cookies, measurements, rounds, results) {
  const start = performance.now()
  let round = 0
  for (; round < rounds.max; round++) {
    if (round >= rounds.min && performance.now() - start > rounds.budget) break
    for (const measure of measurements) {
      for (const variant of rotated(Object.keys(results), round)) {
        const figures = await measure(servers[variant], cookies[variant])
        for (const [key, value] of Object.entries(figures)) (results[variant][key] ??= []).push(value)
      }
    }
  }
  return round
}

/** Starts every server; if one fails, stops the others. */
async function startServers (variants) {
  const starts = await Promise.allSettled(variants.map((variant) => startServer(variant)))
  const servers = {}
  for (const start of starts) if (start.status === 'fulfilled') servers[start.value.variant] = start.value
  const failed = starts.find((start) => start.status === 'rejected')
  if (failed) {
    for (const server of Object.values(servers)) server.kill()
    throw failed.reason
  }
  return servers
}

/** Runs one stage of the benchmark and says how many rounds it ran and how long it took. */
async function stage (name, run) {
  const start = performance.now()
  const rounds = await run()
  console.log(`${name}: ${rounds} round${rounds === 1 ? '' : 's'} in ${((performance.now() - start) / 1000).toFixed(1)} s`)
}

/** Exactly `n` rounds. */
const fixed = (n) => ({ min: n, max: n, budget: Infinity })

/** Logs every variant's clients in; resolves with their cookies and the size of a session of each variant. */
async function loginAll (servers, variants, count) {
  const cookies = {}
  const sizes = {}
  for (const variant of variants) ({ cookies: cookies[variant], bytes: sizes[variant] } = await login(servers[variant].url, count))
  return { cookies, sizes }
}

async function bench (servers) {
  const { cookies, sizes } = await loginAll(servers, VARIANTS, IDLE_SOCKETS)
  const warmup = Object.fromEntries(VARIANTS.map((v) => [v, {}]))
  const results = Object.fromEntries(VARIANTS.map((v) => [v, {}]))
  const measured = { min: MIN_ROUNDS, max: MAX_ROUNDS, budget: THROUGHPUT_BUDGET_MS }
  await stage('warm-up', () => runRounds(servers, cookies, Object.values(throughput), fixed(WARMUP_PASSES), warmup))
  await stage('throughput', () => runRounds(servers, cookies, Object.values(throughput), measured, results))
  await stage('memory', () => runRounds(servers, cookies, [memory], fixed(MEMORY_ROUNDS), results))
  // The same message event on the plugin's server, as an event route and as a plain socket.on listener.
  const events = { plain: { ...servers.plugin, event: 'plain' }, routed: { ...servers.plugin, event: 'routed' } }
  const routeCookies = { plain: cookies.plugin, routed: cookies.plugin }
  results.routes = { plain: {}, routed: {} }
  await stage('routes warm-up', () => runRounds(events, routeCookies, [message], fixed(WARMUP_PASSES), { plain: {}, routed: {} }))
  await stage('routes', () => runRounds(events, routeCookies, [message], measured, results.routes))
  results.sizes = sizes
  return results
}

/** The recipes on connect-redis against the plugin on its RedisStore: throughput, Redis commands and Redis CPU. */
async function benchRedis (servers, redis) {
  for (const server of Object.values(servers)) server.redisCpu = redis.cpu
  const { cookies, sizes } = await loginAll(servers, REDIS_VARIANTS, ACK_CLIENTS)
  const warmup = Object.fromEntries(REDIS_VARIANTS.map((v) => [v, {}]))
  const results = Object.fromEntries(REDIS_VARIANTS.map((v) => [v, {}]))
  const measured = { min: MIN_ROUNDS, max: MAX_ROUNDS, budget: THROUGHPUT_BUDGET_MS / 2 }
  await stage('redis warm-up', () => runRounds(servers, cookies, Object.values(throughput), fixed(WARMUP_PASSES), warmup))
  await stage('redis throughput', () => runRounds(servers, cookies, Object.values(throughput), measured, results))
  results.sizes = sizes
  return results
}

/** Starts the servers of `variants`, runs `run` on them, and closes them (or kills them after a failure). */
async function withServers (variants, run) {
  const servers = await startServers(variants)
  let results
  try {
    results = await run(servers)
  } catch (err) {
    for (const server of Object.values(servers)) server.kill()
    throw err
  }
  await Promise.all(variants.map((v) => servers[v].close()))
  return results
}

async function main () {
  const started = performance.now()
  // BENCH=redis runs only the Redis part, BENCH=memory only the first.
  const only = process.env.BENCH
  const results = only === 'redis' ? undefined : await withServers(VARIANTS, bench)
  let redisResults
  if (only !== 'memory' && haveRedis()) {
    const redis = await startRedis()
    process.env.REDIS_URL = redis.url
    try {
      redisResults = await withServers(REDIS_VARIANTS, (servers) => benchRedis(servers, redis))
    } finally {
      await redis.stop()
    }
  }
  console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(0)} s. Per round and variant: ` +
    `${HANDSHAKES} handshakes (${HANDSHAKE_CONCURRENCY} at a time), ${ACKS} acks per event (${ACK_CLIENTS} clients; ` +
    `burst: the write event, ${BURST} in flight per client), ` +
    `${PAGES} HTTP requests of a page that reads the session (${ACK_CLIENTS} clients); ` +
    `memory with ${IDLE_SOCKETS} idle sockets; ` +
    (CART_ITEMS > 0 ? `-cart: the same server with a ${CART_ITEMS}-item cart in every session\n` : 'no cart rows (BENCH_CART=0)\n'))
  if (results !== undefined) {
    printSizes(results.sizes, VARIANTS)
    printTable(results, VARIANTS)
    printRatios(results)
    printRouteRatio(results.routes)
  }
  if (redisResults === undefined) {
    console.log(`\nRedis: skipped (${only === 'memory' ? 'BENCH=memory' : 'no redis-server on this machine'})`)
    return
  }
  console.log('\non Redis (store writes = Redis commands the session store sent; recipe-redis: connect-redis 7 on ioredis, ' +
    'recipe-node-redis: connect-redis 9 on node-redis 5; plugin-redis: RedisStore on ioredis, plugin-node-redis: RedisStore on node-redis 5):\n')
  printSizes(redisResults.sizes, REDIS_VARIANTS)
  printTable(redisResults, REDIS_VARIANTS)
  printRedisRatios(redisResults)
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err)
  process.exitCode = 1
})
