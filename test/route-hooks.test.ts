import t from 'tap'
import type { Socket } from 'socket.io'
import { Type } from 'typebox'
import { EventError, type PreHandlerHook } from '../plugin/index.js'
import { call, next, startApp, captureLogs } from './helpers.js'

// ---- preHandler and onError hooks, global and per route ----

declare module 'fastify' {
  interface Session { hooked?: string[] }
}

/** Refuses sockets whose session has no user: the hook most apps write first. */
const requireUser: PreHandlerHook = (socket) => {
  if (socket.session.get('user' as never) === undefined) throw new EventError('FORBIDDEN', 'log in first')
}

t.test('global hooks run before the route hooks, in order, with the socket, the payload and the event', async (t) => {
  const calls: unknown[] = []
  const { connected } = await startApp(t, {
    plugin: {
      events: {
        preHandler: [
          (_socket, payload, event) => { calls.push(['global 1', payload, event]) },
          async (_socket, _payload, event) => { calls.push(['global 2', event]) }
        ]
      }
    },
    setup: (app) => {
      app.io.event('hello', {
        schema: { payload: Type.Object({ name: Type.String() }) },
        preHandler: (socket, payload) => {
          calls.push(['route', payload.name])
          socket.session.hooked = ['route']
        }
      }, (socket, payload) => `hello ${payload.name}, ${String(socket.session.hooked)}`)
    }
  })
  const socket = await connected()
  t.equal(await call(socket, 'hello', { name: 'ada' }), 'hello ada, route')
  t.same(calls, [['global 1', { name: 'ada' }, 'hello'], ['global 2', 'hello'], ['route', 'ada']])
})

t.test('a preHandler refuses with a typed error; the handler does not run', async (t) => {
  let handled = 0
  const { connected, login } = await startApp(t, {
    setup: (app) => {
      app.io.event('secret', { preHandler: requireUser }, () => { handled++; return 'the secret' })
    }
  })
  const anonymous = await connected()
  t.same(await call(anonymous, 'secret'), { error: { code: 'FORBIDDEN', message: 'log in first' } })
  anonymous.emit('secret')
  t.same(await next(anonymous, 'error'), { event: 'secret', error: { code: 'FORBIDDEN', message: 'log in first' } })
  t.equal(handled, 0)
  const cookie = await login()
  const user = await connected({ extraHeaders: { cookie } })
  t.equal(await call(user, 'secret'), 'the secret')
})

t.test('a login over HTTP reaches the hook of a socket that was anonymous', async (t) => {
  const { connected, http, url } = await startApp(t, {
    setup: (app) => { app.io.event('secret', { preHandler: requireUser }, () => 'the secret') }
  })
  const response = await fetch(url + '/set', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"visited":true}' })
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]
  const socket = await connected({ extraHeaders: { cookie } })
  t.match(await call(socket, 'secret'), { error: { code: 'FORBIDDEN' } })
  await http('POST', '/login', cookie, { user: 'ada' })
  t.equal(await call(socket, 'secret'), 'the secret')
})

t.test('hooks may be async, sync, or take done', async (t) => {
  const { connected } = await startApp(t, {
    setup: (app) => {
      app.io.event('done-ok', { preHandler: (_s, _p, _e, done) => { setImmediate(done) } }, () => 'passed')
      app.io.event('done-error', { preHandler: (_s, _p, _e, done) => { done(new EventError('FORBIDDEN')) } }, () => 'never')
      app.io.event('async-reject', { preHandler: async () => { throw new EventError('FORBIDDEN', 'not you') } }, () => 'never')
      app.io.event('sync-throw', { preHandler: () => { throw new Error('hook bug') } }, () => 'never')
      app.io.event('async-done', { preHandler: async (_s, _p, _e, _done) => {} }, () => 'an async hook need not call done')
      app.io.event('async-done-reject', { preHandler: async (_s, _p, _e, _done) => { throw new EventError('FORBIDDEN') } }, () => 'never')
    }
  })
  const socket = await connected()
  t.equal(await call(socket, 'done-ok'), 'passed')
  t.same(await call(socket, 'done-error'), { error: { code: 'FORBIDDEN', message: 'forbidden' } })
  t.same(await call(socket, 'async-reject'), { error: { code: 'FORBIDDEN', message: 'not you' } })
  t.same(await call(socket, 'sync-throw'), { error: { code: 'HANDLER_ERROR', message: 'the event could not be handled' } }, 'a hook bug is not a refusal')
  t.equal(await call(socket, 'async-done'), 'an async hook need not call done')
  t.match(await call(socket, 'async-done-reject'), { error: { code: 'FORBIDDEN' } })
})

t.test('onError hooks see every error before the reply, global first; their own failures are logged', async (t) => {
  const seen: Array<[string, unknown, string]> = []
  const { logs, logger } = captureLogs('error')
  const thrown = new Error('handler bug')
  const { connected } = await startApp(t, {
    fastify: { logger },
    plugin: { events: { onError: (_socket, error, event) => { seen.push(['global', error, event]) } } },
    setup: (app) => {
      app.io.event('fails', {
        onError: [
          async (_socket: Socket, error: unknown) => { seen.push(['route', error, 'async']) },
          (_socket: Socket, _error: unknown, _event: string, done: (err?: unknown) => void) => { done(new Error('onError bug')) }
        ]
      }, () => { throw thrown })
      app.io.event('checked', { schema: { payload: Type.Number() } }, (_socket, n) => n)
    }
  })
  const socket = await connected()
  t.same(await call(socket, 'fails'), { error: { code: 'HANDLER_ERROR', message: 'the event could not be handled' } })
  t.same(seen, [['global', thrown, 'fails'], ['route', thrown, 'async']], 'the original error')
  t.ok(logs.some((l) => /an onError hook of event "fails" failed/.test(l.msg) && /onError bug/.test(l.err?.message ?? '')))
  seen.length = 0
  await call(socket, 'checked', 'one')
  t.equal(seen.length, 1)
  t.ok(seen[0][1] instanceof EventError)
  t.match(seen[0][1], { code: 'INVALID_PAYLOAD', errors: [{ path: '', message: 'must be number' }] })
})
