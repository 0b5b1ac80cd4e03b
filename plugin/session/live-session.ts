import type { FastifyBaseLogger } from 'fastify'
import type { Socket } from 'socket.io'
import { FST_SIO_SESSION_GONE, FST_SIO_SESSION_NOT_STORED, keyNames, unserializable } from '../errors.js'
import { mergeOver, storedTexts, type Changes, type Data } from './merge.js'
import { Tracker } from './tracker.js'
import { cookieExpired, type Store, type Stored } from './store.js'
import { begin, channels } from '../tracing.js'
import { Gate } from './gate.js'
import { Lease } from './lease.js'

// ---- One live session per session id, saved through one queue ----

/** The options live sessions read. */
export interface LiveSessionOptions {
  autoSave: boolean
  errorEvent: string
  rolling: boolean
  touchAfter: number
  storeTimeout: number
}

/** What every live session of one registration shares. */
export interface Context {
  /** The session store, as the plugin calls it: every call timed, merge-saves where the store has them. */
  store: Store
  log: FastifyBaseLogger
  options: LiveSessionOptions
  /** Told when this process wrote a session, and when it found it gone or destroyed it (its sockets are ended). */
  events: { saved: (live: LiveSession) => void, gone: (live: LiveSession) => void }
  /** This node's name in the store's shared-session commands (a random id per registration). */
  node: string
}

/** At most this many events of one session wait for its saves or reads; more are answered at once. */
export const MAX_WAITING = 1000

export type { Data }

/** A session cookie as the live session reads it. */
interface Cookie { expires?: Date | null, originalMaxAge?: number | null }

/**
 * One session as this process holds it, shared by all of its sockets. Saves run one after another and
 * write only what changed here, over what the store holds then. Without an id it is never written.
 */
export class LiveSession {
  /** The sockets bound to this session (an array: usually one or a few; smaller than a Set). */
  readonly sockets: Socket[] = []
  /** The store no longer has this session: it is never written again. */
  gone = false
  /** Counts the store copies taken in by saves, so that a slower read does not undo a newer save. */
  version = 0
  /** Set while the session is read again after a write elsewhere: incoming events wait for it. */
  refreshing: Promise<void> | undefined
  /** How many events wait for a save or a read of this session. */
  waiting = 0
  /** Sockets on other nodes hold this session too: its events run under a lease (see lease.ts). */
  shared = false
  /** Set while this node is counted among the session's holders: the first events wait for it. */
  joining: Promise<void> | undefined
  /** Holds the socket events while HTTP requests have the session (see gate.ts). */
  readonly gate = new Gate()
  /** What handlers touched, and the session as they see it (`view`). */
  private readonly tracker: Tracker
  private running: Promise<Error | undefined> | undefined
  private pending: Promise<Error | undefined> | undefined
  private leased: Lease | undefined

  constructor (readonly ctx: Context, readonly id: string | undefined, readonly data: Data) {
    // A store without a merge-save may hand out the objects it keeps (a memory store): they are copied when used.
    this.tracker = new Tracker(data, ctx.store.merge === undefined)
  }

  /** The session as sockets and handlers see it: the data, with what they touch tracked. */
  get view (): Data {
    return this.tracker.view
  }

  /** The lease of a shared session (only when the store has shared-session commands). */
  get lease (): Lease {
    const { store, node, options, log } = this.ctx
    return (this.leased ??= new Lease(this, store.shared as NonNullable<Context['store']['shared']>, node, options.storeTimeout, log))
  }

  /** Whether the data differs from what the store was last known to hold. */
  changed (): boolean {
    return this.tracker.changes() !== undefined
  }

  /** Whether the session's cookie has expired by `now`. */
  expired (now = Date.now()): boolean {
    return cookieExpired(this.data.cookie, now)
  }

  /** Socket activity: with rolling sessions, extends the expiry once the gain is worth a write. */
  touch (): void {
    const cookie = this.data.cookie as Cookie | undefined
    const maxAge = cookie?.originalMaxAge
    if (!this.ctx.options.rolling || !maxAge || this.id === undefined) return
    const next = Date.now() + maxAge
    if (next - Number(cookie.expires) >= Math.min(this.ctx.options.touchAfter, maxAge / 10)) {
      this.tracker.write('cookie')
      cookie.expires = new Date(next)
    }
  }

  /**
   * Saves the local changes once any save in progress is done. Undefined when there is nothing to do;
   * otherwise resolves to the save's error, or undefined. Never rejects.
   */
  flush (): Promise<Error | undefined> | undefined {
    if (this.pending !== undefined) return this.pending
    if (this.running === undefined) return this.saveChanges()
    this.pending = this.running.then(() => {
      this.pending = undefined
      return this.saveChanges()
    })
    return this.pending
  }

  /** Starts a save of the local changes; undefined when there are none, or no stored session (what was marked is forgotten). */
  private saveChanges (): Promise<Error | undefined> | undefined {
    const local = this.id === undefined ? undefined : this.tracker.changes()
    if (local !== undefined) return this.start(local)
    this.tracker.clean()
    return undefined
  }

  /**
   * `promise`, counting the event that waits for it; undefined when `MAX_WAITING` events already wait (a store
   * that hangs holds no more than that in memory: the event is answered at once).
   */
  hold<T> (promise: Promise<T>): Promise<T> | undefined {
    if (this.waiting >= MAX_WAITING) return undefined
    this.waiting++
    return promise.finally(() => { this.waiting-- })
  }

  /** The save in progress or queued, if any. */
  saving (): Promise<Error | undefined> | undefined {
    return this.pending ?? this.running
  }

  /** Takes the store's copy, dropping local changes; rejects when the store no longer has the session. */
  async reload (): Promise<void> {
    const id = this.storedId()
    await this.saving()
    const stored = await this.ctx.store.get(id)
    if (stored === undefined) this.lost()
    this.tracker.replaceWith(stored)
  }

  /**
   * Removes the session from the store; it is never written again, and its sockets everywhere are ended, even
   * when the store call failed (the caller is told; the delete may land later).
   */
  async destroy (): Promise<void> {
    const id = this.storedId()
    await this.saving()
    try {
      await this.ctx.store.destroy(id)
    } finally {
      this.ctx.events.gone(this)
    }
  }

  /** Brings in a copy of the stored session (a handshake's read, another process's write). */
  refresh (stored: Stored): void {
    this.tracker.absorb(stored)
  }

  /** Brings in changes another writer merged into the store (an HTTP request); `source` holds their values. */
  takeIn (local: Changes, source: Data): void {
    this.tracker.absorbChanges(local, source)
    this.version++
  }

  /** Empties the data and stops all future writes. */
  markGone (): void {
    this.gone = true
    this.tracker.clear()
  }

  /** The id, for operations that need a stored session. */
  private storedId (): string {
    if (this.id === undefined) throw new FST_SIO_SESSION_NOT_STORED()
    return this.id
  }

  private start (local: Changes): Promise<Error | undefined> {
    const { tracker } = this
    tracker.sendStarted()
    const trace = begin(channels.save, () => ({ changed: local.changed.size, removed: local.removed.length }))
    const unsaved = local.invalid.length > 0 ? this.unsaved(local.invalid) : undefined
    const run = this.persist(local).then(() => {
      tracker.sent(local)
      trace?.settled({ outcome: 'saved' })
      return unsaved
    }, (err: Error) => {
      tracker.sendFailed()
      if (this.gone) trace?.settled({ outcome: 'gone' })
      else trace?.settled({ outcome: 'failed' }, err)
      this.ctx.log.error({ err }, 'fastify-socket.io-session: session save failed')
      return err
    })
    trace?.returned()
    this.running = run
    void run.then(() => {
      if (this.running === run) this.running = undefined
    })
    return run
  }

  /** Keys that cannot be saved get their last stored value back; the save that found them fails with their names. */
  private unsaved (keys: string[]): Error {
    this.tracker.revert(keys)
    const names = keyNames(keys)
    this.ctx.log.error({ keys: names }, 'fastify-socket.io-session: session keys could not be serialized and were not saved')
    return unserializable(names)
  }

  /**
   * One merge-save: the local changes laid over the stored copy. The store's merge-save (Redis) does it in
   * one atomic command; otherwise the stored copy is read, merged, written, and taken in.
   */
  private async persist (local: Changes): Promise<void> {
    if (local.changed.size === 0 && local.removed.length === 0) return
    if (this.gone) throw new FST_SIO_SESSION_GONE()
    const id = this.id as string
    const { store } = this.ctx
    if (store.merge !== undefined) {
      if (await store.merge(id, storedTexts(local, this.data), local.removed, this.data.cookie as Cookie) !== 'saved') this.lost()
    } else {
      const merged = await store.exclusive(id, async () => {
        const stored = await store.get(id)
        if (stored === undefined) this.lost()
        const merged = mergeOver(stored, this.data, local)
        await store.set(id, merged)
        return merged
      })
      this.tracker.absorb(merged, local.changed)
    }
    this.version++
    this.ctx.events.saved(this)
  }

  /** The store no longer has the session: it is never written again, and its sockets are ended, as at a logout. */
  private lost (): never {
    this.ctx.events.gone(this)
    throw new FST_SIO_SESSION_GONE()
  }
}
