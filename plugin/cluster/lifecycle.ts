import { sessionError, type ClientCode } from '../client-errors.js'
import type { Changes } from '../session/merge.js'
import type { Context, Data, LiveSession } from '../session/live-session.js'
import { Pauses } from './pauses.js'
import type { Peers } from './peers.js'
import type { LiveSessions } from '../session/registry.js'
import { expired } from '../session/store.js'

// ---- The session's life after the handshake: writes elsewhere, logout, expiry, other nodes ----

/** How often the lifecycle looks at the live sessions. */
export interface LifecycleTimes {
  /** Expiry check interval, ms. */
  checkInterval: number
  /** Revalidation interval, ms: every live session is read again, in case a message was lost. */
  revalidateInterval: number
}

/** How often (ms) the nodes are counted again, at most. */
const COUNT_INTERVAL = 30_000

/** A read in progress, and whether another one is wanted after it. */
interface Checking { again: boolean, run: Promise<void> }

/**
 * Keeps every live session of this process true to the store: takes in writes made elsewhere, ends the
 * sockets of destroyed and expired sessions, and tells the other nodes (through the adapter) what happened here.
 */
export class Lifecycle {
  private timer: NodeJS.Timeout | undefined
  private lastCount = Date.now()
  /** Where the revalidation round is, and how many reads it owes (fractions carry over between ticks). */
  private cursor: Iterator<LiveSession> | undefined
  private share = 0
  /** Shared sessions whose last turn in the round was skipped: their next turn reads them. */
  private readonly rested = new WeakSet<LiveSession>()
  /** Live sessions being read again. */
  private readonly checking = new Map<LiveSession, Checking>()
  private readonly ended = new WeakSet<LiveSession>()
  private stopped = false

  constructor (
    private readonly peers: Peers,
    private readonly live: LiveSessions,
    private readonly ctx: Pick<Context, 'store' | 'log' | 'options' | 'node'>,
    private readonly times: LifecycleTimes
  ) {
    const { shared } = ctx.store
    this.tracksHolders = peers.remote && shared !== undefined
    const counted = this.tracksHolders ? shared : undefined
    if (counted !== undefined) {
      live.watch = this.holders(counted)
      counted.track()
    }
    this.pauses = new Pauses(peers, live, ctx, counted, this.warnHolders)
  }

  /** Logs a failed command of the store's holder counts. */
  private readonly warnHolders = (err: unknown): void => { this.ctx.log.warn({ err }, 'fastify-socket.io-session: could not count the nodes that hold a session') }

  /** HTTP requests hold the socket events of their session (here, and through messages on the other nodes). */
  readonly pauses: Pauses

  /** The store counts the nodes that hold each session: a save of a session no other node holds is not announced. */
  private readonly tracksHolders: boolean

  /**
   * Counts this node among the holders of each session live here (one command when it becomes live, one when it
   * no longer is). A session held elsewhere too is shared: its events run under a lease, and the other holders
   * are told, so that theirs do too.
   */
  private holders (shared: NonNullable<Context['store']['shared']>): NonNullable<LiveSessions['watch']> {
    const warn = this.warnHolders
    return {
      held: (live) => {
        const id = live.id as string
        const share = (): void => {
          live.shared = true
          this.peers.publish('shared', id)
        }
        // Not counted (the store failed): other nodes may hold it, so it is taken as shared.
        live.joining = shared.join(id, this.ctx.node).then((holders) => { if (holders > 1) share() }, (err) => {
          warn(err)
          share()
        }).finally(() => { live.joining = undefined })
      },
      released: (live) => { void shared.leave(live.id as string, this.ctx.node).catch(warn) }
    }
  }

  /** Starts listening to other nodes, and the timer (which never keeps the process alive). */
  start (): void {
    this.peers.start(this.onPeer, () => { for (const live of this.live.values()) this.verify(live, 'revalidation') })
    this.timer = setInterval(() => this.tick(), this.times.checkInterval)
    this.timer.unref()
  }

  stop (): void {
    this.stopped = true
    clearInterval(this.timer)
    this.peers.stop()
  }

  // ---- What happened to a session outside the plugin (HTTP routes, through the store) ----

  /** A whole session was written: its live copy here takes it in; other nodes read it again. */
  written (id: string, session: object): void {
    if (this.stopped) return
    const live = this.live.get(id)
    if (live !== undefined && !live.gone) {
      live.refresh(JSON.parse(JSON.stringify(session)))
      live.version++
    }
    if (this.peers.multi) this.peers.publish('changed', id)
  }

  /** Changes were merged into a stored session: its live copy here takes in those keys; other nodes read it again. */
  merged (id: string, local: Changes, session: Data): void {
    const live = this.live.get(id)
    if (live !== undefined && !live.gone) live.takeIn(local, session)
    if (this.peers.multi) this.peers.publish('changed', id)
  }

  /** A session was destroyed (logout, regenerate): its sockets are ended, here and on every node. */
  removed (id: string): void {
    if (this.stopped) return
    const live = this.live.get(id)
    if (live !== undefined) this.end(live, false)
    this.peers.publish('gone', id)
  }

  // ---- What this process did to a live session ----

  /** A socket's save: the other nodes that hold the session read it again (when the store counts holders, only if there are any). */
  saved (live: LiveSession): void {
    if (!this.peers.multi || (this.tracksHolders && !live.shared)) return
    this.peers.publish('changed', live.id)
  }

  /** A socket's destroy, or a save or read that found the session gone: its sockets are ended, here and on every node. */
  gone (live: LiveSession): void {
    this.end(live, true)
  }

  // ---- Internals ----

  /** Ends a live session: no more writes, and each socket gets the reason, then a server-side disconnect. */
  private end (live: LiveSession, tellOthers: boolean, code?: ClientCode): void {
    if (this.ended.has(live)) return
    this.ended.add(live)
    const reason = code ?? (live.expired() ? 'SESSION_EXPIRED' : 'SESSION_DESTROYED')
    if (tellOthers) this.peers.publish('gone', live.id)
    this.live.forget(live)
    live.markGone()
    // After the listener that ended it finished, so that its ack still reaches the client.
    setImmediate(() => {
      for (const socket of [...live.sockets]) {
        if (socket.connected) socket.emit(this.ctx.options.errorEvent, sessionError(reason))
        socket.disconnect(true)
      }
    })
  }

  /**
   * Reads a live session again: takes in the stored copy, or ends the session when the store lost it.
   * After a write elsewhere (`changed`), the session's incoming events wait for the read (`refreshing`), so
   * that they see the write; another write announced meanwhile asks for one more read. Timer reads
   * (expiry, revalidation) hold no events, and one that finds a read running is not needed.
   */
  private verify (live: LiveSession, reason: 'changed' | 'expiry' | 'revalidation'): void {
    const running = this.checking.get(live)
    if (running !== undefined) {
      if (reason === 'changed') {
        running.again = true
        live.refreshing = running.run
      }
      return
    }
    const run = this.read(live).catch((err) => {
      this.ctx.log.warn({ err }, 'fastify-socket.io-session: could not read a live session again')
      // An expired session is not kept alive by a store that cannot answer.
      if (reason === 'expiry') this.end(live, false, 'SESSION_EXPIRED')
    }).finally(() => {
      this.checking.delete(live)
      live.refreshing = undefined
    })
    this.checking.set(live, { again: false, run })
    if (reason === 'changed') live.refreshing = run
  }

  /** The reads of `verify`, again while another read was asked for or a save took in a newer copy. */
  private async read (live: LiveSession): Promise<void> {
    let again = true
    while (again && !live.gone) {
      await live.saving()
      const version = live.version
      const stored = await this.ctx.store.get(live.id as string)
      const check = this.checking.get(live) as Checking
      again = check.again || live.version !== version
      check.again = false
      if (again || live.gone) continue
      if (stored === undefined || expired(stored)) this.end(live, true)
      else live.refresh(stored)
    }
  }

  /**
   * Every `checkInterval`: ends what expired, and reads a share of the live sessions again, so that each is
   * read about once per `revalidateInterval`, spread over the ticks rather than all at once (a session that
   * other nodes hold too, once per two intervals on each node).
   */
  private tick (): void {
    const now = Date.now()
    // The nodes are counted again every 30 s (or revalidateInterval, if shorter): a node whose hello was lost is found.
    if (now - this.lastCount >= Math.min(COUNT_INTERVAL, this.times.revalidateInterval)) {
      this.lastCount = now
      void this.peers.countNodes()
    }
    let shared = 0
    for (const live of this.live.values()) {
      if (live.shared) shared++
      if (live.expired(now)) this.verify(live, 'expiry')
    }
    // A session other nodes hold too is read every other turn: its two holders read it about once per interval
    // in all. So a round owes one read per session held here alone and one per two shared ones.
    const owed = this.live.size - shared / 2
    // At most one read per session and tick (a second turn finds its read running); none while no session is held.
    this.share = Math.min(this.share + owed * this.times.checkInterval / this.times.revalidateInterval, this.live.size)
    // Reads start no synchronous change to the registry: a fresh iterator of a non-empty one yields.
    while (this.share >= 1) {
      let next = this.cursor?.next()
      if (next === undefined || next.done === true) {
        // A Map iterator sees the sessions added since it started; a new round starts when it is spent.
        this.cursor = this.live.values()
        next = this.cursor.next()
      }
      const live = next.value as LiveSession
      // A skipped turn costs nothing: the reads stay even over the round, wherever its shared sessions are.
      if (live.shared && !this.rested.delete(live)) {
        this.rested.add(live)
        continue
      }
      this.share--
      this.verify(live, 'revalidation')
    }
  }

  /** A message from another node about the session named `key` (the hello messages are the peers'). */
  private readonly onPeer = (kind: unknown, key: unknown, ...more: unknown[]): void => {
    if (this.pauses.receive(kind, key, more[0], more[1])) return
    const live = typeof key === 'string' ? this.live.byName(key) : undefined
    if (live === undefined) return
    // Another node holds it too: from now on its events here run under the lease.
    if (kind === 'shared') live.shared = true
    if (kind === 'changed') this.verify(live, 'changed')
    else if (kind === 'gone') this.end(live, false)
  }
}
