import { setTimeout as sleep } from 'node:timers/promises'
import { FST_SIO_SESSION_GONE, FST_SIO_SESSION_LEASE_BUSY } from '../errors.js'
import type { Stored } from './store.js'

// ---- A session live on several nodes: its events run under a lease, one node at a time ----

/** A store's commands for sessions that sockets on several nodes hold (the Redis store has them). */
export interface SharedSessions {
  /** Counts `node` among the nodes that hold session `id` live; resolves to how many do. */
  join: (id: string, node: string) => Promise<number>
  /** `node` no longer holds session `id`. */
  leave: (id: string, node: string) => Promise<void>
  /** Takes the lease of session `id` for `ms` unless another node has it: the stored session, null when it is gone, or 'busy'. */
  acquire: (id: string, token: string, ms: number) => Promise<Stored | null | 'busy'>
  /** Gives the lease back, if `token` still has it. */
  release: (id: string, token: string) => Promise<void>
  /** From now on, each read of a session also finds the nodes that hold it (in the same command). */
  track: () => void
  /** The nodes that held session `id` when it was last read, a moment ago (none when it is not known). */
  heldBy: (id: string) => string[]
}

/** Where the plugin finds a store's shared-session commands. */
export const kShared = Symbol.for('fastify-socket.io-session.shared')

/** How long a lease lasts (ms) unless given back: the longest a node may take over one session's events. */
export const LEASE_MS = 10_000

/** What a lease needs of its live session. */
export interface Leased {
  readonly id: string | undefined
  /** The save in progress or queued. */
  saving: () => Promise<unknown> | undefined
  /** Takes in the stored copy read with the lease. */
  refresh: (stored: Stored) => void
  version: number
}

/**
 * The lease of one live session on this node. The first event takes it (reading the session in the same command,
 * so that the event sees every write of the node that had it before); events that start while it is held run at
 * once, as on one node. When the last of them finished and its save is done, the lease is given back.
 */
export class Lease {
  private users = 0
  private held = false
  private acquiring: Promise<void> | undefined

  constructor (
    private readonly live: Leased,
    private readonly shared: SharedSessions,
    private readonly token: string,
    private readonly timeout: number,
    private readonly log: { warn: (obj: object, msg: string) => void }
  ) {}

  /**
   * An event starts: undefined when the lease is held (it runs at once), otherwise a promise that resolves when it
   * is. It rejects with FST_SIO_SESSION_GONE when the session is gone, FST_SIO_SESSION_LEASE_BUSY when another node
   * held it for longer than the store timeout, or the store's error. Each call is matched by one `exit()`.
   */
  enter (): Promise<void> | undefined {
    this.users++
    if (this.held) return undefined
    return (this.acquiring ??= this.acquire())
  }

  /** An event finished (its save too, or it was answered without running). */
  exit (): void {
    if (--this.users === 0) void this.release()
  }

  /** Takes the lease; whatever the outcome, the next event that finds it not held starts a new acquisition. */
  private acquire (): Promise<void> {
    const taking = this.take()
    const done = (): void => { this.acquiring = undefined }
    taking.then(done, done)
    return taking
  }

  private async take (): Promise<void> {
    const id = this.live.id as string
    const deadline = Date.now() + this.timeout
    // Another node has it: try again soon, a little later each time, until the store timeout.
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      await this.live.saving()
      const got = await this.shared.acquire(id, this.token, LEASE_MS)
      if (got === null) throw new FST_SIO_SESSION_GONE()
      if (got !== 'busy') {
        this.live.refresh(got)
        this.live.version++
        this.held = true
        return
      }
      if (Date.now() + wait > deadline) break
      await sleep(wait)
    }
    throw new FST_SIO_SESSION_LEASE_BUSY(this.timeout)
  }

  /** Gives the lease back once the saves of its events are done, unless another event started meanwhile. */
  private async release (): Promise<void> {
    await this.live.saving()
    if (this.users > 0 || !this.held) return
    this.held = false
    try {
      await this.shared.release(this.live.id as string, this.token)
    } catch (err) {
      this.log.warn({ err }, 'fastify-socket.io-session: could not give a session\'s lease back; it runs out by itself')
    }
  }
}
