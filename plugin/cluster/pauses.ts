import { randomUUID } from 'node:crypto'
import type { Context, LiveSession } from '../session/live-session.js'
import { LEASE_MS, type SharedSessions } from '../session/lease.js'
import type { LiveSessions } from '../session/registry.js'
import { within } from '../thenable.js'
import type { Peers } from './peers.js'

// ---- HTTP requests hold the session's socket events, on this node and on the others that hold it ----

/** A pause this node gave to a request on another node. */
interface Given {
  /** Opens the gate again (set once it closed). */
  open?: () => void
  /** The request ended before the gate closed. */
  resumed: boolean
  timer: NodeJS.Timeout
}

/**
 * While an HTTP request has a session that sockets hold, their events wait: the request reads the session after
 * the events that ran, and none writes over what it writes. On this node that is the live session's gate; other
 * nodes that hold it are asked (`pause`), each answers once its events finished (`paused`), and they are told
 * when the request is done (`resume`). A node that does not answer within `storeTimeout` is waited for no longer
 * (logged) and taken off the session's holders (if it is alive, it counts itself again: `rejoin`); a node whose
 * request never says `resume` opens again after 10 s.
 */
export class Pauses {
  /** This node's requests waiting for other nodes: token → the nodes not heard from yet, and what to call then. */
  private readonly asked = new Map<string, { left: Set<string>, done: () => void }>()
  /** The pauses this node gave: token → the pause. */
  private readonly given = new Map<string, Given>()

  constructor (
    private readonly peers: Peers,
    private readonly live: LiveSessions,
    private readonly ctx: Pick<Context, 'store' | 'log' | 'options' | 'node'>,
    /** The store's commands for the nodes that hold each session, when it counts them. */
    private readonly shared: SharedSessions | undefined,
    /** Logs a failed command of those. */
    private readonly warn: (err: unknown) => void
  ) {}

  /**
   * Holds the socket events of session `id` here and on the other nodes that held it when it was read: resolves,
   * once they finished, with what lets them go on; undefined when no socket holds the session.
   */
  async hold (id: string): Promise<(() => void) | undefined> {
    const live = this.live.get(id)
    const here = live !== undefined && !live.gone ? live : undefined
    const shared = this.shared
    const others = shared === undefined ? [] : shared.heldBy(id).filter((node) => node !== this.ctx.node)
    if (here === undefined && others.length === 0) return undefined
    let released = false
    const opens: Array<() => void> = []
    const keep = (open: () => void): void => {
      if (released) open()
      else opens.push(open)
    }
    const waits: Array<Promise<void>> = []
    if (here !== undefined) waits.push(this.closeHere(here, keep))
    const token = randomUUID()
    if (others.length > 0) {
      waits.push(new Promise((resolve) => { this.asked.set(token, { left: new Set(others), done: resolve }) }))
      this.peers.publish('pause', id, token, others)
      keep(() => this.peers.publish('resume', id, token))
    }
    if (!await within(Promise.all(waits), this.ctx.options.storeTimeout)) {
      const silent = [...this.asked.get(token)?.left ?? []]
      this.ctx.log.warn({ nodes: silent }, 'fastify-socket.io-session: the socket events of a session did not stop within storeTimeout; the HTTP request runs alongside them')
      // A node that crashed leaves its name among the holders: it is taken off, and counts itself again if it is alive.
      for (const node of silent) (shared as SharedSessions).leave(id, node).then(() => this.peers.publish('rejoin', id, node), this.warn)
    }
    this.asked.delete(token)
    return () => {
      released = true
      for (const open of opens.splice(0)) open()
    }
  }

  /** Closes the gate of the session live here; resolves once its events and their saves finished. */
  private async closeHere (live: LiveSession, keep: (open: () => void) => void): Promise<void> {
    keep(await live.gate.close())
    await live.saving()
  }

  /** A message of the pause protocol from another node; false when it is another kind. */
  receive (kind: unknown, key: unknown, token: unknown, more: unknown): boolean {
    const handle = kind === 'pause' ? this.pause : kind === 'paused' ? this.heard : kind === 'resume' ? this.resume : kind === 'rejoin' ? this.rejoin : undefined
    if (handle === undefined) return false
    // A message without a token is none of this node's business.
    if (typeof token === 'string') handle(key, token, more)
    return true
  }

  /** Another node's request asks the nodes in `nodes` to hold the session named `key`. */
  private readonly pause = (key: unknown, token: string, nodes: unknown): void => {
    if (typeof key !== 'string' || !Array.isArray(nodes) || !nodes.includes(this.ctx.node)) return
    const live = this.live.byName(key)
    const answer = (): void => this.peers.send('paused', key, token, this.ctx.node)
    // No longer held here (its sockets left): nothing to wait for.
    if (live === undefined || live.gone) return answer()
    const timer = setTimeout(() => this.resume(key, token), LEASE_MS)
    timer.unref()
    const given: Given = { resumed: false, timer }
    this.given.set(token, given)
    void this.closeHere(live, (open) => {
      given.open = open
      if (given.resumed) open()
    }).then(() => { if (!given.resumed) answer() })
  }

  /** A node that did not answer in time was taken off the session's holders: if it is this one, it counts itself again. */
  private readonly rejoin = (key: unknown, node: string): void => {
    const live = node === this.ctx.node && typeof key === 'string' ? this.live.byName(key) : undefined
    if (live !== undefined && !live.gone) (this.shared as SharedSessions).join(live.id as string, node).catch(this.warn)
  }

  /** A node answered that it holds the session's events. */
  private readonly heard = (_key: unknown, token: string, node: unknown): void => {
    const asked = this.asked.get(token)
    if (asked === undefined) return
    asked.left.delete(node as string)
    if (asked.left.size === 0) asked.done()
  }

  /** The request that asked for this pause is done (or 10 s passed): the events go on. */
  private readonly resume = (_key: unknown, token: string): void => {
    const given = this.given.get(token)
    if (given === undefined) return
    this.given.delete(token)
    clearTimeout(given.timer)
    given.resumed = true
    given.open?.()
  }
}
