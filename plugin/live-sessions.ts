import type { FastifyBaseLogger } from 'fastify'
import type { SessionStore } from '@fastify/session'
import { FST_SIO_SESSION_GONE, FST_SIO_SESSION_NOT_STORED } from './errors.js'
import { absorb, changes, hasChanges, mergeOver, replaceWith, snapshot, type Snapshot } from './merge.js'
import { load, remove, write, type Stored } from './store.js'

// ---- One live session per session id, saved through one queue ----

/** What every live session of one registration shares. */
export interface Context {
  store: SessionStore
  log: FastifyBaseLogger
  /** Save after every listener (the `autoSave` option). */
  autoSave: boolean
  /** The event that tells a socket its session could not be saved. */
  errorEvent: string
}

/** A session's data object, as sockets and handlers see it. */
export type Data = Record<string, unknown>

/**
 * One session as this process holds it, shared by all of its sockets. Saves run one after another and
 * write only what changed here, over what the store holds then. Without an id it is never written.
 */
export class LiveSession {
  /** How many sockets are bound to this session. */
  sockets = 0
  /** The store no longer has this session: it is never written again. */
  gone = false
  /** What this process last read from or wrote to the store. */
  private readonly base: Snapshot
  private running: Promise<Error | undefined> | undefined
  private pending: Promise<Error | undefined> | undefined

  constructor (readonly ctx: Context, readonly id: string | undefined, readonly data: Data) {
    this.base = snapshot(data)
  }

  /** Whether the data differs from what the store was last known to hold. */
  changed (): boolean {
    return hasChanges(this.data, this.base)
  }

  /**
   * Saves the local changes once any save in progress is done. Undefined when there is nothing to do;
   * otherwise resolves to the save's error, or undefined. Never rejects.
   */
  flush (): Promise<Error | undefined> | undefined {
    if (this.pending !== undefined) return this.pending
    if (this.running === undefined) return this.id === undefined || !this.changed() ? undefined : this.start()
    this.pending = this.running.then(() => {
      this.pending = undefined
      return this.start()
    })
    return this.pending
  }

  /** The save in progress or queued, if any. */
  saving (): Promise<Error | undefined> | undefined {
    return this.pending ?? this.running
  }

  /** Takes the store's copy, dropping local changes; rejects when the store no longer has the session. */
  async reload (): Promise<void> {
    const id = this.storedId()
    await this.settled()
    const stored = await load(this.ctx.store, id)
    if (stored === undefined) {
      this.markGone()
      throw new FST_SIO_SESSION_GONE()
    }
    replaceWith(this.data, this.base, stored)
  }

  /** Removes the session from the store; it is never written again. */
  async destroy (): Promise<void> {
    const id = this.storedId()
    await this.settled()
    await remove(this.ctx.store, id)
    this.markGone()
  }

  /** Brings in a copy just read from the store (a new socket's handshake). */
  refresh (stored: Stored): void {
    absorb(this.data, this.base, stored)
  }

  /** The id, for operations that need a stored session. */
  private storedId (): string {
    if (this.id === undefined) throw new FST_SIO_SESSION_NOT_STORED()
    return this.id
  }

  /** Waits for saves in progress (their errors were reported already). */
  private async settled (): Promise<void> {
    await this.saving()
  }

  /** Empties the data and stops all future writes. */
  private markGone (): void {
    this.gone = true
    for (const key of Object.keys(this.data)) {
      if (key !== 'cookie') delete this.data[key]
    }
    this.base.clear()
    for (const [key, text] of snapshot(this.data)) this.base.set(key, text)
  }

  private start (): Promise<Error | undefined> {
    const run = this.persist().then(() => undefined, (err: Error) => {
      this.ctx.log.error({ err }, 'fastify-socket.io-session: session save failed')
      return err
    })
    this.running = run
    void run.then(() => {
      if (this.running === run) this.running = undefined
    })
    return run
  }

  /** One merge-save: read the stored copy, lay the local changes over it, write it, take it in. */
  private async persist (): Promise<void> {
    const local = changes(this.data, this.base)
    if (local === undefined) return
    if (this.gone) throw new FST_SIO_SESSION_GONE()
    const id = this.id as string
    const stored = await load(this.ctx.store, id)
    if (stored === undefined) {
      this.gone = true
      throw new FST_SIO_SESSION_GONE()
    }
    const merged = mergeOver(stored, this.data, local)
    await write(this.ctx.store, id, merged)
    absorb(this.data, this.base, merged, local.changed)
  }
}

/** The live sessions of this process, by session id. */
export class LiveSessions {
  private readonly byId = new Map<string, LiveSession>()

  /** The live session of `id`, if a socket of this process holds it. */
  get (id: string): LiveSession | undefined {
    return this.byId.get(id)
  }

  /** Binds a socket to a live session (registering it when it has an id). */
  bind (live: LiveSession): void {
    if (live.id !== undefined && !live.gone) this.byId.set(live.id, live)
    live.sockets++
  }

  /**
   * Unbinds a socket. The live session is released with its last socket, once its saves finished: a socket
   * of the same session that connects meanwhile binds to it, and so sees the changes still being written.
   */
  release (live: LiveSession): void {
    live.sockets--
    const drop = (): void => {
      if (live.sockets > 0 || this.byId.get(live.id as string) !== live) return
      const saving = live.saving()
      if (saving === undefined) this.byId.delete(live.id as string)
      else void saving.then(drop)
    }
    drop()
  }

  /** Saves every live session's changes; resolves when all saves finished. */
  async flushAll (): Promise<void> {
    await Promise.all([...this.byId.values()].map((live) => live.flush()))
  }
}
