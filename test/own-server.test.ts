import t from 'tap'
import { Server } from 'socket.io'
import { startApp } from './helpers.js'

// ---- The same tests on a Socket.IO server the app makes itself (README: "Bring your own Socket.IO server") ----
// Every app of these files gets `fastify.io` from `new Server(app.server)` instead of fastify-socket.io.

process.env.TEST_SOCKET_SERVER = 'own'

t.test('the apps of this file bring their own Socket.IO server', async (t) => {
  const { app } = await startApp(t)
  t.ok(app.io instanceof Server)
  t.notOk(app.hasPlugin('fastify-socket.io'), 'fastify-socket.io is not registered')
  const other = await startApp(t, { socketServer: 'fastify-socket.io' })
  t.ok(other.app.hasPlugin('fastify-socket.io'), 'while the default of the other files is')
})

await import('./session.test.js')
await import('./lifecycle.test.js')
await import('./gone.test.js')
await import('./expiry.test.js')
await import('./nodes.test.js')
await import('./close.test.js')
