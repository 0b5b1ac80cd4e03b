import { MemoryStore } from '@fastify/session'
import type { Session } from 'fastify'

// ---- One configurable session store for the tests: real memory storage, with delays, holds, failures and hangs on demand ----

export type StoreMethod = 'get' | 'set' | 'destroy'

/** A value per store method. */
export type PerMethod<T> = { [M in StoreMethod]?: T }

/** A session as the memory store holds it (what @fastify/session hands to `set`). */
export interface StoredSession {
  cookie?: { expires?: Date | string | null, originalExpires?: Date | string | null, originalMaxAge?: number | null, [key: string]: unknown }
  [key: string]: unknown
}

/** One call the store received, in the order they arrived. */
export interface StoreCall {
  method: StoreMethod
  id: string
  /** The data handed to `set`. */
  session?: StoredSession
  /** `Date.now()` when the call arrived. */
  at: number
  /** Undefined while the call runs; 'ok' or 'failed' once it answered; 'hung' when it never will. */
  outcome?: 'ok' | 'failed' | 'hung'
  /** The error it answered with. */
  error?: unknown
}

/**
 * How a method fails: the error every call answers with (any value but a function; a string is passed on
 * as it is), or a function of the call that returns the error, or undefined to let the call through, or
 * throws to make the store method itself throw.
 */
export type Failure = ((call: StoreCall) => unknown) | Error | string

/** Calls held until `open()`. */
export interface Gate {
  /** Lets the held calls (and every later one) through. */
  open: () => void
  /** How many calls are waiting. */
  readonly waiting: number
}

export interface FakeStoreOptions {
  /** The map the sessions live in (share one between stores to share the sessions). */
  sessions?: Map<string, StoredSession>
  /** Milliseconds each call of a method waits before it answers. */
  delay?: PerMethod<number>
  /** Failures per method (see `Failure`). */
  fail?: PerMethod<Failure>
  /** Methods whose calls never answer. */
  hang?: PerMethod<boolean>
}

/**
 * A `MemoryStore` (its real storage) that counts and logs its calls, and, per method, can delay them
 * (`delay`), hold them until a gate opens (`hold()`), fail them (`fail`) or never answer them (`hang`).
 * The settings are plain fields, changed at any time; they apply to the calls that arrive afterwards.
 * A call is decided when it arrives (hang, fail), then waits for a hold and a delay, then answers.
 */
export class FakeStore extends MemoryStore {
  declare store: Map<string, StoredSession>
  delay: PerMethod<number>
  fail: PerMethod<Failure>
  hang: PerMethod<boolean>
  /** Calls per method, counted when they arrive (hung and failed ones too). */
  readonly counts: Record<StoreMethod, number> = { get: 0, set: 0, destroy: 0 }
  /** Every call, in order. */
  readonly calls: StoreCall[] = []
  /** Calls left hanging. */
  hung = 0
  private readonly holds: PerMethod<{ gate: Gate, wait: () => Promise<void> }> = {}
  private readonly watchers = new Set<() => void>()

  constructor (options: FakeStoreOptions = {}) {
    super(options.sessions as Map<string, Session> | undefined)
    this.delay = { ...options.delay }
    this.fail = { ...options.fail }
    this.hang = { ...options.hang }
  }

  /** Sets `hang` for every method. */
  hangAll (hang = true): void {
    this.hang = { get: hang, set: hang, destroy: hang }
  }

  /** From now on, calls of `methods` wait until the gate opens; opening it ends the hold. */
  hold (...methods: StoreMethod[]): Gate {
    let release = (): void => {}
    const opened = new Promise<void>((resolve) => { release = resolve })
    let waiting = 0
    const gate: Gate = {
      open: () => {
        for (const method of methods) if (this.holds[method]?.gate === gate) delete this.holds[method]
        release()
      },
      get waiting () { return waiting }
    }
    const wait = async (): Promise<void> => {
      waiting++
      await opened
      waiting--
    }
    for (const method of methods) this.holds[method] = { gate, wait }
    return gate
  }

  /** The last call of `method`, if any. */
  last (method: StoreMethod): StoreCall | undefined {
    for (let i = this.calls.length - 1; i >= 0; i--) if (this.calls[i].method === method) return this.calls[i]
    return undefined
  }

  /** Resolves once `check()` holds, looking again whenever a call arrives or answers. */
  async until (check: () => boolean): Promise<void> {
    if (check()) return
    await new Promise<void>((resolve) => {
      const watch = (): void => {
        if (!check()) return
        this.watchers.delete(watch)
        resolve()
      }
      this.watchers.add(watch)
    })
  }

  /** Resolves once `method` was called `n` times in all (counting from the store's creation). */
  async called (method: StoreMethod, n: number): Promise<void> {
    await this.until(() => this.counts[method] >= n)
  }

  get (id: string, done: (err: unknown, value?: Session | null) => void): void {
    this.run({ method: 'get', id, at: Date.now() }, done, () => super.get(id, done))
  }

  set (id: string, session: Session, done: (err?: unknown) => void): void {
    this.run({ method: 'set', id, session: session as unknown as StoredSession, at: Date.now() }, done, () => super.set(id, session, done))
  }

  destroy (id: string, done: (err?: unknown) => void): void {
    this.run({ method: 'destroy', id, at: Date.now() }, done, () => super.destroy(id, done))
  }

  private run (call: StoreCall, done: (err: unknown) => void, real: () => void): void {
    const { method } = call
    this.counts[method]++
    this.calls.push(call)
    if (this.hang[method] === true) {
      call.outcome = 'hung'
      this.hung++
      this.changed()
      return
    }
    const failure = this.failure(call)
    const answer = (): void => {
      if (failure === undefined) {
        call.outcome = 'ok'
        real()
      } else {
        call.outcome = 'failed'
        call.error = failure
        done(failure)
      }
      this.changed()
    }
    this.changed()
    const hold = this.holds[method]
    const delay = this.delay[method] ?? 0
    const delayed = delay > 0 ? () => { setTimeout(answer, delay) } : answer
    if (hold !== undefined) void hold.wait().then(delayed)
    else delayed()
  }

  private failure (call: StoreCall): unknown {
    const fail = this.fail[call.method]
    return typeof fail === 'function' ? fail(call) : fail
  }

  private changed (): void {
    for (const watch of [...this.watchers]) watch()
  }
}
