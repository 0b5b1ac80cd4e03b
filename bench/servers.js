import { fork } from 'node:child_process'

// ---- Benchmark servers as child processes, asked for stats over IPC ----

const serverFile = new URL('./server.js', import.meta.url)
const REPLY_TIMEOUT = 30_000

/** Resolves with the first message that passes `accept`; rejects if the child exits or takes too long. */
function nextMessage (child, variant, accept) {
  return new Promise((resolve, reject) => {
    const done = (fn, value) => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      fn(value)
    }
    const onMessage = (message) => { if (accept(message)) done(resolve, message) }
    const onExit = (code, signal) => done(reject, new Error(`${variant} server exited (code ${code}, signal ${signal})`))
    const timer = setTimeout(() => done(reject, new Error(`${variant} server did not answer`)), REPLY_TIMEOUT)
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

/** Starts the server of one variant (with more node flags: `execArgv`); resolves once it listens. */
export async function startServer (variant, execArgv = []) {
  const child = fork(serverFile, [variant], { execArgv: ['--expose-gc', ...execArgv] })
  let closing = false
  let killed = false
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  // Any exit but a requested close or our own SIGTERM is news.
  child.once('exit', (code, signal) => {
    if (!(closing && code === 0) && !(killed && signal === 'SIGTERM')) console.error(`${variant} server exited unexpectedly (code ${code}, signal ${signal})`)
  })
  const { port } = await nextMessage(child, variant, (m) => m.port !== undefined)
  let lastId = 0

  return {
    variant,
    url: `http://127.0.0.1:${port}`,
    /** Store writes and connected clients; with `memory`, heap + external after GC. */
    async stats (memory = false) {
      const id = ++lastId
      const reply = nextMessage(child, variant, (m) => m.id === id)
      child.send({ cmd: 'stats', id, memory })
      return (await reply).stats
    },
    /** Closes the server and waits for its process to exit cleanly. */
    async close () {
      closing = true
      if (child.exitCode === null && child.signalCode === null) child.send({ cmd: 'close' })
      const { code, signal } = await exited
      if (code !== 0) throw new Error(`${variant} server exited with code ${code}, signal ${signal}`)
    },
    /** Stops the process at once (after a failure elsewhere). */
    kill () {
      if (child.exitCode === null && child.signalCode === null) killed = child.kill()
    }
  }
}
