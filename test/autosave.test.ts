import t from 'tap'
import Fastify from 'fastify'
import socketio from 'fastify-socket.io'
import { io as connectClient } from 'socket.io-client'
import { startApp, call, next, captureLogs, sessionIdOf } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- Save on mutation, acks after the save, merge, one live session per id ----

/** Handlers used by most tests: sync, async, read-only, late ack, ack-less, throwing. */
function handlers (app: any): void {
  app.io.on('connection', (socket: any) => {
    socket.session.connections = (socket.session.connections ?? 0) + 1
    socket.on('inc', (ack: (v: unknown) => void) => {
      socket.session.count = (socket.session.count ?? 0) + 1
      ack(socket.session.count)
    })
    socket.on('inc-async', async (ack: (v: unknown) => void) => {
      await new Promise((resolve) => setTimeout(resolve, 5))
      socket.session.count = (socket.session.count ?? 0) + 1
      ack(socket.session.count)
    })
    socket.on('ack-first', (ack: (v: unknown) => void) => {
      ack('early')
      socket.session.early = true
    })
    socket.on('ack-later', (ack: (v: unknown) => void) => {
      setTimeout(() => {
        socket.session.later = true
        ack('late')
      }, 5)
    })
    socket.on('read', (ack: (v: unknown) => void) => ack(socket.session.count ?? 0))
    socket.on('set', (key: string, value: unknown) => { socket.session[key] = value })
    socket.on('remove', (key: string, ack: () => void) => { delete socket.session[key]; ack() })
    socket.on('undefine', (key: string, ack: () => void) => { socket.session[key] = undefined; ack() })
    socket.on('throw', (ack: (v: unknown) => void) => {
      socket.session.beforeThrow = true
      ack('thrown')
      throw new Error('listener bug')
    })
    socket.on('reject', async (ack: (v: unknown) => void) => {
      socket.session.beforeReject = true
      ack('rejected')
      throw new Error('async listener bug')
    })
  })
}

t.test('a changed session is saved after sync and async listeners; the ack comes after the save', async (t) => {
  const store = new FakeStore()
  const { login, connected, http } = await startApp(t, { session: { store }, setup: handlers })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'inc'), 1)
  t.equal((await http('GET', '/session', cookie)).count, 1, 'read-your-writes: HTTP after the ack sees it')
  t.equal(await call(socket, 'inc-async'), 2)
  t.equal((await http('GET', '/session', cookie)).count, 2)
  t.equal(await call(socket, 'ack-first'), 'early')
  t.equal((await http('GET', '/session', cookie)).early, true, 'an ack called before the change still waits for the save')
  t.equal(await call(socket, 'ack-later'), 'late')
  t.equal((await http('GET', '/session', cookie)).later, true, 'an ack called after the listener returned waits too')
  t.equal((await http('GET', '/session', cookie)).connections, 1, 'the connection listener change was saved')
})

t.test('unchanged sessions cause no store write; events without ack are saved too', async (t) => {
  const store = new FakeStore()
  const { login, connected, http } = await startApp(t, { session: { store }, setup: handlers })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  await call(socket, 'inc')
  const writes = store.counts.set
  const reads = store.counts.get
  for (let i = 0; i < 20; i++) t.equal(await call(socket, 'read'), 1)
  t.equal(store.counts.set, writes, 'no writes for 20 read-only events')
  t.equal(store.counts.get, reads, 'no reads either')
  socket.emit('set', 'color', 'blue')
  t.equal(await call(socket, 'read'), 1)
  t.equal((await http('GET', '/session', cookie)).color, 'blue')
  t.equal(await call(socket, 'remove', 'color'), undefined)
  t.equal((await http('GET', '/session', cookie)).color, undefined, 'a deleted key is deleted in the store')
})

t.test('merge, not overwrite: a key written over HTTP after the handshake survives a socket save', async (t) => {
  const { login, connected, http } = await startApp(t, { setup: handlers })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  await http('POST', '/set', cookie, { cart: ['book'] })
  t.equal(await call(socket, 'inc'), 1)
  const data = await http('GET', '/session', cookie)
  t.same(data.cart, ['book'], 'the cart added over HTTP is still there')
  t.equal(data.count, 1)
  t.equal(await call(socket, 'inc'), 2)
  t.same((await http('GET', '/session', cookie)).cart, ['book'])
})

t.test('a key written over HTTP reaches the live session at its next save', async (t) => {
  const { login, connected, http } = await startApp(t, {
    setup: (app) => {
      handlers(app)
      app.io.on('connection', (socket: any) => {
        socket.on('cart', (ack: (v: unknown) => void) => ack(socket.session.cart ?? null))
      })
    }
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  await http('POST', '/set', cookie, { cart: ['pen'] })
  await call(socket, 'inc')
  t.same(await call(socket, 'cart'), ['pen'])
  await http('POST', '/set', cookie, { user: 'renamed' })
  await http('POST', '/set', cookie, { cart: null })
  await call(socket, 'inc')
  t.same(await call(socket, 'cart'), null)
})

t.test('two tabs of one session share one live session: 50 + 50 increments make 100', async (t) => {
  const store = new FakeStore()
  const { app, login, connected, http } = await startApp(t, { session: { store }, setup: handlers })
  const cookie = await login()
  const a = await connected({ extraHeaders: { cookie } })
  const b = await connected({ extraHeaders: { cookie }, transports: ['polling'] })
  await Promise.all([a, b].map(async (socket) => {
    for (let i = 0; i < 50; i++) await call(socket, i % 2 === 0 ? 'inc' : 'inc-async')
  }))
  t.equal((await http('GET', '/session', cookie)).count, 100)
  const sockets = [...app.io.of('/').sockets.values()] as any[]
  t.equal(sockets.length, 2)
  t.equal(sockets[0].session, sockets[1].session, 'one session object for both sockets')
  t.equal((await http('GET', '/session', cookie)).connections, 2)
})

t.test('an ack Socket.IO cannot encode is logged, not thrown; the socket and the process carry on', async (t) => {
  const { logs, logger } = captureLogs('error')
  const { connected } = await startApp(t, {
    fastify: { logger },
    setup: (app) => {
      app.io.on('connection', (socket: any) => {
        socket.on('circular', (ack: (v: unknown) => void) => { const reply: Record<string, unknown> = {}; reply.self = reply; ack(reply) })
        socket.on('late-circular', (ack: (v: unknown) => void) => { setImmediate(() => { const reply: Record<string, unknown> = {}; reply.self = reply; ack(reply) }) })
        socket.on('fine', (ack: (v: unknown) => void) => ack('fine'))
      })
    }
  })
  const socket = await connected()
  socket.emit('circular', () => t.fail('no ack can be sent'))
  socket.emit('late-circular', () => t.fail('no ack can be sent'))
  t.equal(await call(socket, 'fine'), 'fine')
  const deadline = Date.now() + 5000
  while (logs.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  t.same(logs.map((l) => l.msg).sort(), ['fastify-socket.io-session: the ack of event "circular" could not be sent', 'fastify-socket.io-session: the ack of event "late-circular" could not be sent'])
  t.ok(socket.connected)
})

t.test('the changes of a disconnect listener are saved', async (t) => {
  const store = new FakeStore()
  const { login, connected, http } = await startApp(t, {
    session: { store },
    setup: (app) => { app.io.on('connection', (socket: any) => socket.on('disconnect', (reason: string) => { socket.session.leftWith = reason })) }
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  socket.disconnect()
  await store.until(() => store.calls.some((call) => call.method === 'set' && call.outcome === 'ok' && call.session?.leftWith !== undefined))
  t.equal((await http('GET', '/session', cookie)).leftWith, 'client namespace disconnect')
})

t.test('the live session is released with its last socket, and a new one is loaded fresh', async (t) => {
  const { login, connected, http } = await startApp(t, { setup: handlers })
  const cookie = await login()
  const a = await connected({ extraHeaders: { cookie } })
  await call(a, 'inc')
  const closed = next(a, 'disconnect')
  a.disconnect()
  await closed
  await http('POST', '/set', cookie, { count: 41 })
  const b = await connected({ extraHeaders: { cookie } })
  t.equal(await call(b, 'inc'), 42, 'the new socket read the store, not a stale copy')
})

t.test('a failed save is logged and told to the client before the ack; nothing crashes', async (t) => {
  const store = new FakeStore()
  const { logs, logger } = captureLogs('error')
  const { login, connected, http } = await startApp(t, { session: { store }, fastify: { logger }, setup: handlers })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  store.fail.set = new Error('disk full')
  const order: string[] = []
  socket.on('session:error', (payload) => order.push(`error:${payload.code}`))
  order.push(`ack:${await call(socket, 'inc')}`)
  t.same(order, ['error:SESSION_SAVE_FAILED', 'ack:1'])
  t.ok(logs.some((l) => /session save failed/.test(l.msg) && l.err), 'logged with the error')
  const signed = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1))
  t.notOk(JSON.stringify(logs).includes(cookie.split('=')[1]) || JSON.stringify(logs).includes(signed), 'the cookie is never logged')
  t.notOk(JSON.stringify(logs).includes(signed.slice(0, signed.lastIndexOf('.'))), 'nor the session id')
  delete store.fail.set
  t.equal(await call(socket, 'inc'), 2)
  t.equal((await http('GET', '/session', cookie)).count, 2, 'the next save writes the change that failed before')
})

t.test('listeners that throw or reject are logged; the session is still saved and the server stays up', async (t) => {
  const { logs, logger } = captureLogs('error')
  const { login, connected, http } = await startApp(t, { fastify: { logger }, setup: handlers })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'throw'), 'thrown')
  t.equal(await call(socket, 'reject'), 'rejected')
  const data = await http('GET', '/session', cookie)
  t.equal(data.beforeThrow, true)
  t.equal(data.beforeReject, true)
  t.equal(logs.filter((l) => /listener failed/.test(l.msg)).length, 2)
  t.same(logs.map((l) => l.event).filter(Boolean), ['throw', 'reject'])
})

t.test('saves of one session run in order, and a slow save holds only its own acks', async (t) => {
  const store = new FakeStore()
  const { login, connected, http } = await startApp(t, { session: { store }, setup: handlers })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  store.delay.set = 20
  const before = store.counts.set
  const results = await Promise.all([call(socket, 'inc'), call(socket, 'inc'), call(socket, 'inc'), call(socket, 'read')])
  t.same(results.slice(0, 3), [1, 2, 3])
  t.equal(store.counts.set - before, 2, 'the first save runs alone; the two changes made meanwhile share the next save')
  t.equal((await http('GET', '/session', cookie)).count, 3)
})

t.test('sockets of a server without the plugin, and with autoSave: false, keep Socket.IO\'s own listeners', async (t) => {
  const seen: boolean[] = []
  const unwrapped: boolean[] = []
  const check = (app: any): void => {
    app.io.on('connection', (socket: any) => {
      const fn = (): void => {}
      socket.on('x', fn)
      socket.onAny(fn)
      socket.prependAny(fn)
      seen.push(socket.rawListeners('x')[0] === fn && socket.listenersAny()[0] === fn)
      unwrapped.push(socket.rawListeners('x')[0] === fn)
    })
  }
  const withPlugin = await startApp(t, { setup: (app) => check(app) })
  await withPlugin.connected()
  const off = await startApp(t, { plugin: { autoSave: false }, setup: (app) => check(app) })
  await off.connected()
  const bare = Fastify()
  await bare.register(socketio.default)
  check(bare)
  await bare.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => await bare.close())
  const client = connectClient(`http://127.0.0.1:${(bare.server.address() as any).port}`, { transports: ['websocket'], reconnection: false })
  await next(client, 'connect')
  client.disconnect()
  t.same(seen, [false, true, true], 'catch-all listeners are wrapped only where the plugin saves')
  t.same(unwrapped, [true, true, true], 'event listeners are never wrapped: the dispatch runs them')
})

t.test('autoSave: false saves nothing by itself; save() still merges', async (t) => {
  const store = new FakeStore()
  const { login, connected, http } = await startApp(t, {
    session: { store },
    plugin: { autoSave: false },
    setup: (app) => {
      handlers(app)
      app.io.on('connection', (socket: any) => {
        socket.on('save', async (ack: (v: unknown) => void) => { await socket.session.save(); ack('saved') })
      })
    }
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const writes = store.counts.set
  t.equal(await call(socket, 'inc'), 1)
  t.equal(store.counts.set, writes)
  t.equal((await http('GET', '/session', cookie)).count, undefined)
  await http('POST', '/set', cookie, { cart: ['cup'] })
  t.equal(await call(socket, 'save'), 'saved')
  const data = await http('GET', '/session', cookie)
  t.equal(data.count, 1)
  t.same(data.cart, ['cup'])
})

t.test('once, off, onAny and offAny keep working with autosave', async (t) => {
  const { login, connected, http } = await startApp(t, {
    setup: (app) => {
      app.io.on('connection', (socket: any) => {
        const once = (ack: (v: unknown) => void): void => { socket.session.once = (socket.session.once ?? 0) + 1; ack('once') }
        socket.once('once', once)
        const removed = (ack: (v: unknown) => void): void => ack('removed listener ran')
        socket.on('removed', removed)
        socket.off('removed', removed)
        socket.once('removed', removed)
        socket.removeListener('removed', removed)
        socket.prependListener('removed', (ack: (v: unknown) => void) => ack('kept'))
        const any = (event: string): void => { socket.session.lastEvent = event }
        socket.onAny(any)
        socket.prependAny((event: string) => { socket.session.anyCount = (socket.session.anyCount ?? 0) + 1; void event })
        socket.on('stop-any', (ack: (v: unknown) => void) => { socket.offAny(any); ack('ok') })
        socket.on('stop-all-any', (ack: (v: unknown) => void) => { socket.onAny(any); socket.offAny(() => {}); socket.offAny(); ack('ok') })
        socket.on('ping', (ack: (v: unknown) => void) => ack(socket.listeners('once').length))
      })
    }
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'once'), 'once')
  t.equal(await call(socket, 'ping'), 0, 'the once listener removed itself')
  t.equal(await call(socket, 'removed'), 'kept')
  t.equal((await http('GET', '/session', cookie)).lastEvent, 'removed', 'onAny listeners save too')
  await call(socket, 'stop-any')
  await call(socket, 'ping')
  t.equal((await http('GET', '/session', cookie)).lastEvent, 'stop-any', 'offAny removed it')
  t.equal((await http('GET', '/session', cookie)).once, 1)
  t.equal((await http('GET', '/session', cookie)).anyCount, 5, 'prependAny listeners save too')
  await call(socket, 'stop-all-any')
  await call(socket, 'ping')
  t.equal((await http('GET', '/session', cookie)).lastEvent, 'stop-any', 'offAny() removed every catch-all listener: ping did not set it')
})

t.test('connection listeners added before the plugin, and removed ones, are handled', async (t) => {
  const { login, connected, http, app } = await startApp(t, {
    setup: (app) => {
      const removed = (socket: any): void => { socket.session.removed = true }
      app.io.on('connection', removed)
      app.io.off('connection', removed)
      app.io.off('connection', () => {})
      app.io.once('connection', (socket: any) => { socket.session.first = true })
    }
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const data = await http('GET', '/session', cookie)
  t.equal(data.first, true)
  t.equal(data.removed, undefined)
  t.equal(app.io.listeners('connection').length, 1, 'only the plugin listener is left')
  socket.disconnect()
})

t.test('listener methods refuse non-functions as Node does, and off() of an unknown listener is harmless', async (t) => {
  const { login, connected, app } = await startApp(t, {
    setup: (app) => {
      app.io.on('connection', (socket: any) => {
        socket.on('bad', (ack: (v: unknown) => void) => {
          const codes: string[] = []
          for (const call of [() => socket.on('x', 42), () => socket.once('x', 'no')]) {
            try { call() } catch (err: any) { codes.push(err.code ?? err.name) }
          }
          socket.off('never-added', () => {})
          ack(codes)
        })
      })
    }
  })
  let thrown: any
  try { app.io.on('connection', 42 as any) } catch (err) { thrown = err }
  t.equal(thrown?.code, 'ERR_INVALID_ARG_TYPE')
  const socket = await connected({ extraHeaders: { cookie: await login() } })
  t.same(await call(socket, 'bad'), ['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_TYPE'])
})

t.test('a key set to undefined is removed, as JSON drops it', async (t) => {
  const { login, connected, http } = await startApp(t, { setup: handlers })
  const cookie = await login({ theme: 'dark' })
  const socket = await connected({ extraHeaders: { cookie } })
  socket.emit('set', 'pending', 1)
  await call(socket, 'read')
  t.equal((await http('GET', '/session', cookie)).pending, 1)
  await call(socket, 'remove', 'nothing')
  await call(socket, 'undefine', 'theme')
  t.equal((await http('GET', '/session', cookie)).theme, undefined)
})

t.test('namespaces created before the plugin was registered get sessions too', async (t) => {
  const { login, connected, http } = await startApp(t, {
    beforePlugin: (app) => {
      app.io.of('/early').on('connection', (socket: any) => {
        socket.on('who', (ack: (v: unknown) => void) => { socket.session.early = true; ack(socket.session.user ?? null) })
      })
    }
  })
  const cookie = await login({ user: 'ada' })
  const socket = await connected({ extraHeaders: { cookie } }, '/early')
  t.equal(await call(socket, 'who'), 'ada')
  t.equal((await http('GET', '/session', cookie)).early, true)
})

t.test('a key removed over HTTP while this process changed it: the local change wins', async (t) => {
  const { login, connected, http } = await startApp(t, {
    plugin: { autoSave: false },
    setup: (app) => {
      handlers(app)
      app.io.on('connection', (socket: any) => {
        socket.on('save', async (ack: (v: unknown) => void) => { await socket.session.save(); ack(socket.session.note ?? null) })
      })
      app.post('/drop', async (request) => { delete (request.session as any).note; delete (request.session as any).other; return {} })
    }
  })
  const cookie = await login({ note: 'old', other: 'x' })
  const a = await connected({ extraHeaders: { cookie } })
  a.emit('set', 'note', 'mine')
  await call(a, 'read')
  await http('POST', '/drop', cookie)
  t.equal((await http('GET', '/session', cookie)).note, undefined)
  await connected({ extraHeaders: { cookie } })
  t.equal(await call(a, 'save'), 'mine')
  const data = await http('GET', '/session', cookie)
  t.equal(data.note, 'mine', 'the unsaved local value was kept and written')
  t.equal(data.other, undefined, 'the key removed over HTTP and untouched here stays removed')
})

t.test('a client that disconnects mid-save: the save lands, the server stays up', async (t) => {
  const store = new FakeStore()
  const { app, login, connected, http } = await startApp(t, { session: { store }, setup: handlers })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  store.delay.set = 50
  socket.emit('inc', () => t.fail('no ack reaches a disconnected client'))
  await store.until(() => store.last('set')?.session?.count === 1)
  socket.disconnect()
  store.delay.set = 0
  const other = await connected({ extraHeaders: { cookie } })
  t.equal(await call(other, 'read'), 1, 'the new socket reads the saved change')
  t.equal((await http('GET', '/session', cookie)).count, 1)
  t.equal(app.io.of('/').sockets.size, 1)
})

t.test('a change whose save failed survives a read of the store that lacks its key, and is saved later', async (t) => {
  const store = new FakeStore()
  const { login, connected, http } = await startApp(t, { session: { store }, setup: handlers })
  const cookie = await login({ color: 'blue' })
  const socket = await connected({ extraHeaders: { cookie } })
  store.fail.set = new Error('disk full')
  socket.emit('set', 'color', 'red')
  t.equal(await call(socket, 'read'), 0)
  // Someone else removes the key meanwhile; a second tab's handshake reads the store again.
  delete store.fail.set
  delete store.store.get(sessionIdOf(cookie))?.color
  await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'inc'), 1)
  t.equal((await http('GET', '/session', cookie)).color, 'red', 'the local change was kept, and written with the next save')
})
