import t from 'tap'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// ---- require() from CommonJS (Node ≥ 20.19 loads an ES module that has no top-level await) ----
// The fixture requires the built package by its name, through the exports map, as an installed package is.

const fixture = fileURLToPath(new URL('./fixtures/require.cjs', import.meta.url))

t.test('require(\'fastify-socket.io-session\') gives the plugin, registrable as it is, and its named exports', async (t) => {
  const { stdout, stderr, code } = await new Promise<{ stdout: string, stderr: string, code: number | null }>((resolve) => {
    const child = execFile(process.execPath, [fixture], (_err, stdout, stderr) => resolve({ stdout, stderr, code: child.exitCode }))
  })
  t.equal(code, 0, stderr)
  const answer = JSON.parse(stdout)
  t.ok(answer.registered, 'app.register(require(...)) registered the plugin (fastify.io.event exists)')
  t.equal(answer.redisStore, 'function', 'RedisStore is a named export')
  t.ok(answer.exports.includes('default') && answer.exports.includes('fastifySocketIoSession'), 'the default export and its named twin')
})
