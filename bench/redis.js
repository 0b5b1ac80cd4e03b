import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

// ---- A redis-server for the benchmark, on a free loopback port, without persistence ----

/** Whether redis-server is installed. */
export function haveRedis () {
  return spawnSync('redis-server', ['--version']).status === 0
}

async function freePort () {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** The CPU time the redis-server has used so far, µs (INFO CPU: used_cpu_sys + used_cpu_user). */
async function cpuTime (client) {
  const info = await client.info('cpu')
  const field = (name) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))[1])
  return (field('used_cpu_sys') + field('used_cpu_user')) * 1e6
}

/** Starts redis-server; resolves with its URL, its CPU time so far (µs) and a stop function. */
export async function startRedis () {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise((resolve, reject) => {
    let output = ''
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)))
    child.stdout.on('data', (chunk) => {
      output += chunk
      if (output.includes('Ready to accept connections')) resolve()
    })
  })
  child.removeAllListeners('exit')
  const url = `redis://127.0.0.1:${port}`
  const client = new Redis(url, { connectionName: 'bench' })
  return {
    url,
    cpu: () => cpuTime(client),
    async stop () {
      await client.quit()
      await new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM') })
    }
  }
}
