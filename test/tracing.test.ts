import t from 'tap'
import { tracingChannel } from 'node:diagnostics_channel'
import { Type } from 'typebox'
import { startApp, call, next } from './helpers.js'
import { sessionClient } from '../plugin/testing.js'
import { FakeStore } from './fake-store.js'

// ---- diagnostics_channel tracing of handshakes, routed events and saves ----

type Phase = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error'
const PHASES: Phase[] = ['start', 'end', 'asyncStart', 'asyncEnd', 'error']
interface Seen { phase: Phase, context: Record<string, unknown> }

/** Subscribes to one of the plugin's tracing channels until teardown; what it publishes, in order. */
function watch (t: { teardown: (fn: () => void) => void }, name: string): Seen[] {
  const seen: Seen[] = []
  const channel = tracingChannel(`fastify-socket.io-session:${name}`)
  const handlers = Object.fromEntries(PHASES.map((phase) => [phase, (context: object) => { seen.push({ phase, context: { ...context } }) }]))
  channel.subscribe(handlers as any)
  t.teardown(() => { channel.unsubscribe(handlers as any) })
  return seen
}

/** The phases of each traced operation (by its context object's identity), and its final context. */
const operations = (seen: Seen[]) => {
  const phases = seen.map((s) => s.phase)
  return { phases, last: seen[seen.length - 1]?.context }
}

const Auth = Type.Object({ token: Type.String() })
const Count = Type.Object({ by: Type.Number() })

t.test('each operation: start, end, then asyncStart and asyncEnd with its outcome; error before them when it failed', async (t) => {
  const store = new FakeStore()
  const handshakes = watch(t, 'handshake')
  const events = watch(t, 'event')
  const saves = watch(t, 'save')
  const { app, connected } = await startApp(t, {
    session: { store },
    plugin: { auth: Auth },
    setup: (app) => {
      app.io.event('add', { schema: { payload: Count } }, (socket, { by }) => {
        const session = socket.session as unknown as Record<string, unknown>
        session.count = ((session.count as number | undefined) ?? 0) + by
        session.secret = 'secret-value'
        return session.count
      })
      app.io.event('boom', () => { throw new Error('handler failed') })
    }
  })
  // Handshakes: accepted (a stored session), anonymous (none), refused (its code).
  const { socket, cookie, sessionId } = await sessionClient(app, { session: { user: 'ada' }, auth: { token: 't' } })
  const id = sessionId as string
  t.same(operations(handshakes), { phases: ['start', 'end', 'asyncStart', 'asyncEnd'], last: { namespace: '/', transport: 'websocket', outcome: 'accepted' } })
  handshakes.length = 0
  await connected({ auth: { token: 't' }, transports: ['polling'] })
  t.same(handshakes.at(-1)?.context, { namespace: '/', transport: 'polling', outcome: 'anonymous' })
  handshakes.length = 0
  t.equal((await connected({ auth: {} }).catch((err) => err)).data?.code, 'INVALID_AUTH')
  t.same(operations(handshakes), { phases: ['start', 'end', 'asyncStart', 'asyncEnd'], last: { namespace: '/', transport: 'websocket', outcome: 'INVALID_AUTH' } })

  // A routed event that changes the session: the event ends after its save.
  t.equal(await call(socket, 'add', { by: 2 }), 2)
  t.same(operations(events), { phases: ['start', 'end', 'asyncStart', 'asyncEnd'], last: { event: 'add', namespace: '/', outcome: 'ok' } })
  t.same(operations(saves), { phases: ['start', 'end', 'asyncStart', 'asyncEnd'], last: { changed: 2, removed: 0, outcome: 'saved' } })

  // Refused at once (the payload): the same order, the outcome published after `end`.
  events.length = 0
  t.match(await call(socket, 'add', { by: 'x' }), { error: { code: 'INVALID_PAYLOAD' } })
  t.same(operations(events), { phases: ['start', 'end', 'asyncStart', 'asyncEnd'], last: { event: 'add', namespace: '/', outcome: 'INVALID_PAYLOAD' } })
  events.length = 0
  t.match(await call(socket, 'boom'), { error: { code: 'HANDLER_ERROR' } })
  t.equal(events.at(-1)?.context.outcome, 'HANDLER_ERROR')

  // A failed save: error, then the outcome.
  saves.length = 0
  store.fail.set = new Error('store down')
  t.match(await call(socket, 'add', { by: 1 }), { error: { code: 'SESSION_SAVE_FAILED' } })
  t.same(saves.map((s) => s.phase), ['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
  t.equal(saves.at(-1)?.context.outcome, 'failed')
  t.match(saves.at(-1)?.context.error, { message: 'store down' })
  store.fail.set = undefined

  // The store lost the session: the save says gone.
  saves.length = 0
  const ended = next(socket, 'disconnect')
  store.store.delete(id)
  await call(socket, 'add', { by: 1 }).catch(() => undefined)
  await ended
  t.equal(saves.at(-1)?.context.outcome, 'gone')
  t.notOk(saves.some((s) => s.phase === 'error'), 'a session that ended is not an error of the save')

  // Names and outcomes only: never the session id, a value of the session, or the cookie.
  const published = JSON.stringify([...handshakes, ...events, ...saves].map((s) => ({ ...s.context, error: undefined })))
  for (const secret of [id, 'secret-value', 'ada', cookie as string]) t.notMatch(published, secret, `no ${secret === id ? 'session id' : secret}`)
})
