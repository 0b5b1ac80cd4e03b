import t from 'tap'
import { Lease, type Leased, type SharedSessions } from '../../plugin/session/lease.js'
import type { Stored } from '../../plugin/session/store.js'

// ---- A shared session's lease, over a store whose answers the test chooses ----

/** A store that answers `acquire` from `answers` (the last one again once they run out), and records its calls. */
function sharedStore (answers: Array<Stored | null | 'busy' | Error>, release: () => Promise<void> = async () => {}) {
  const calls: string[] = []
  const shared: SharedSessions = {
    join: async () => 1,
    leave: async () => {},
    track: () => {},
    heldBy: () => [],
    acquire: async () => {
      calls.push('acquire')
      const answer = answers.length > 1 ? answers.shift() : answers[0]
      if (answer instanceof Error) throw answer
      return answer as Stored | null | 'busy'
    },
    release: async () => {
      calls.push('release')
      await release()
    }
  }
  return { shared, calls }
}

/** A live session as the lease sees it, whose saves the test controls. */
function live (saving?: Promise<unknown>): Leased & { refreshed: Stored[] } {
  const refreshed: Stored[] = []
  return { id: 'id', version: 0, refreshed, saving: () => saving, refresh: (stored) => { refreshed.push(stored) } }
}

const logs: unknown[] = []
const log = { warn: (obj: object, msg: string) => { logs.push([obj, msg]) } }
const tick = async () => await new Promise((resolve) => setImmediate(resolve))

t.test('the first event takes the lease and reads the session; the others run at once; the last one gives it back', async (t) => {
  const { shared, calls } = sharedStore([{ n: 1 }])
  const session = live()
  const lease = new Lease(session, shared, 'me', 1000, log)
  const first = lease.enter()
  const second = lease.enter()
  t.equal(first, second, 'events that start while it is taken wait for the same acquisition')
  await first
  t.same(session.refreshed, [{ n: 1 }], 'the session as the lease read it')
  t.equal(session.version, 1, 'a newer copy than any read before')
  t.equal(lease.enter(), undefined, 'held: an event runs at once')
  lease.exit()
  lease.exit()
  await tick()
  t.same(calls, ['acquire'], 'not given back while an event runs')
  lease.exit()
  await tick()
  t.same(calls, ['acquire', 'release'])
})

t.test('another node has it: tried again until it is free', async (t) => {
  const { shared, calls } = sharedStore(['busy', 'busy', 'busy', { n: 2 }])
  const session = live()
  const lease = new Lease(session, shared, 'me', 1000, log)
  await lease.enter()
  t.same(calls, ['acquire', 'acquire', 'acquire', 'acquire'])
  t.same(session.refreshed, [{ n: 2 }])
})

t.test('busy for longer than the store timeout: the event fails with FST_SIO_SESSION_LEASE_BUSY; the next one tries again', async (t) => {
  const { shared } = sharedStore(['busy'])
  const lease = new Lease(live(), shared, 'me', 30, log)
  await t.rejects(lease.enter() as Promise<void>, { code: 'FST_SIO_SESSION_LEASE_BUSY' })
  lease.exit()
  const again = lease.enter()
  t.ok(again, 'a new acquisition')
  await t.rejects(again as Promise<void>, { code: 'FST_SIO_SESSION_LEASE_BUSY' })
})

t.test('a session gone from the store fails the event with FST_SIO_SESSION_GONE; a store error is the store\'s', async (t) => {
  const gone = new Lease(live(), sharedStore([null]).shared, 'me', 1000, log)
  await t.rejects(gone.enter() as Promise<void>, { code: 'FST_SIO_SESSION_GONE' })
  const failing = new Lease(live(), sharedStore([new Error('down')]).shared, 'me', 1000, log)
  await t.rejects(failing.enter() as Promise<void>, { message: 'down' })
})

t.test('it waits for saves before taking the lease, and before giving it back; an event that starts meanwhile keeps it', async (t) => {
  let saved!: () => void
  const saving = new Promise<void>((resolve) => { saved = resolve })
  const { shared, calls } = sharedStore([{ n: 1 }])
  const session = live(saving)
  const lease = new Lease(session, shared, 'me', 1000, log)
  const entered = lease.enter() as Promise<void>
  await tick()
  t.same(calls, [], 'a save of this node is still on its way')
  saved()
  await entered
  lease.exit()
  t.equal(lease.enter(), undefined, 'an event starts while the last save is awaited: it still holds the lease')
  await tick()
  t.same(calls, ['acquire'])
  lease.exit()
  await tick()
  t.same(calls, ['acquire', 'release'])
})

t.test('a failed give-back is logged; the lease runs out by itself', async (t) => {
  logs.length = 0
  const { shared } = sharedStore([{ n: 1 }], async () => { throw new Error('redis down') })
  const lease = new Lease(live(), shared, 'me', 1000, log)
  await lease.enter()
  lease.exit()
  await tick()
  await tick()
  t.match(logs, [[{ err: { message: 'redis down' } }, /could not give a session's lease back/]])
})
