// Two nodes of the example app on ports 3000 and 3001, sharing sessions and Socket.IO through Redis.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const server = fileURLToPath(new URL('./server.js', import.meta.url))
const base = Number(process.env.PORT) || 3000

// Each node says which it is in its pages' header (NODE_NAME), to tell the tabs of a cluster apart.
const nodes = [base, base + 1].map((port) => fork(server, {
  env: { ...process.env, PORT: String(port), REDIS_URL: redisUrl, NODE_NAME: `node :${port}` }
}))
// The first node to exit ends the cluster (each node prints its own reason: nothing to add here).
let stopping = false
for (const node of nodes) {
  node.on('exit', (code) => {
    if (stopping) return
    stopping = true
    for (const other of nodes) other.kill('SIGTERM')
    process.exitCode = code ?? 1
  })
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => { for (const node of nodes) node.kill(signal) })
}
