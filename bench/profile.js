import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { acks, handshakes, login } from './load.js'
import { startServer } from './servers.js'

// ---- CPU profiles of the plugin's hot paths: node bench/profile.js [dir], then node bench/profile-summary.js [dir] ----
// One server process per variant and path, under node --cpu-prof, so that each profile holds one hot path.

const DIR = resolve(process.argv[2] ?? process.env.BENCH_PROFILE ?? 'bench/profiles/cpu')
// plugin-cart: the same server with a cart of BENCH_CART items (default 100, about 10 KB) in every session.
process.env.BENCH_CART ??= '100'
const VARIANTS = (process.env.PROFILE_VARIANTS ?? 'plugin,plugin-cart').split(',')
const CLIENTS = 50
const HANDSHAKES = 4_000
const HANDSHAKE_CONCURRENCY = 20
const ACKS = 60_000

/** Each hot path: run `count` operations (a warm-up with fewer first), resolve with the figures of `load.js`. */
const paths = {
  handshake: (server, cookies, count = HANDSHAKES) => handshakes(server, cookies.slice(0, HANDSHAKE_CONCURRENCY), count, HANDSHAKE_CONCURRENCY),
  read: (server, cookies, count = ACKS) => acks(server, cookies, 'read', count),
  write: (server, cookies, count = ACKS) => acks(server, cookies, 'write', count)
}

/** Profiles one hot path on one variant; the profile is written when the server exits. */
async function profile (variant, path) {
  const name = `${variant}-${path}.cpuprofile`
  const server = await startServer(variant, ['--cpu-prof', `--cpu-prof-dir=${DIR}`, `--cpu-prof-name=${name}`])
  try {
    const { cookies } = await login(server.url, CLIENTS)
    await paths[path](server, cookies, 1_000)
    const { rate, cpu } = await paths[path](server, cookies)
    console.log(`${name}: ${Math.round(rate).toLocaleString('en-US')}/s, ${Math.round(cpu)} µs of server CPU each`)
  } catch (err) {
    server.kill()
    throw err
  }
  await server.close()
}

async function main () {
  mkdirSync(DIR, { recursive: true })
  for (const variant of VARIANTS) {
    for (const path of (process.env.PROFILE_PATHS ?? Object.keys(paths).join(',')).split(',')) await profile(variant, path)
  }
  console.log(`\nprofiles in ${DIR}; summary: node bench/profile-summary.js ${DIR}`)
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err)
  process.exitCode = 1
})
