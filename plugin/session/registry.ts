import { createHash } from 'node:crypto'
import type { Socket } from 'socket.io'
import type { LiveSession } from './live-session.js'

// ---- The live sessions of this process ----

/** A session's name between nodes: a hash of its id, so that the id itself never leaves the process. */
export function sessionKey (id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 22)
}

/** The live sessions of one registration, by session id, and by key when other nodes may name them. */
export class LiveSessions {
  private readonly byId = new Map<string, LiveSession>()
  private readonly byKey = new Map<string, LiveSession>()
  /** Told when a session with an id becomes live here, and when it no longer is (set by the lifecycle). */
  watch: { held: (live: LiveSession) => void, released: (live: LiveSession) => void } | undefined
  /** `named`: other nodes may send messages about sessions, so they are findable by key too. */
  constructor (private readonly named: boolean) {}

  /** The live session of `id`, if a socket of this process holds it. */
  get (id: string): LiveSession | undefined {
    return this.byId.get(id)
  }

  /** The live session named `key` by another node. */
  byName (key: string): LiveSession | undefined {
    return this.byKey.get(key)
  }

  /** How many live sessions are held. */
  get size (): number {
    return this.byId.size
  }

  /** Every live session. */
  values (): IterableIterator<LiveSession> {
    return this.byId.values()
  }

  /** Binds a socket to a live session (registering it when it has an id). */
  bind (live: LiveSession, socket: Socket): void {
    if (live.id !== undefined && !live.gone && this.byId.get(live.id) !== live) {
      this.byId.set(live.id, live)
      if (this.named) this.byKey.set(sessionKey(live.id), live)
      this.watch?.held(live)
    }
    live.sockets.push(socket)
  }

  /** Drops a live session at once: later handshakes of its id start afresh. */
  forget (live: LiveSession): void {
    if (live.id === undefined || this.byId.get(live.id) !== live) return
    this.byId.delete(live.id)
    if (this.named) this.byKey.delete(sessionKey(live.id))
    this.watch?.released(live)
  }

  /**
   * Unbinds a socket. The live session is released with its last socket, once its saves finished: a socket
   * of the same session that connects meanwhile binds to it, and so sees the changes still being written.
   */
  release (live: LiveSession, socket: Socket): void {
    live.sockets.splice(live.sockets.indexOf(socket), 1)
    const drop = (): void => {
      if (live.sockets.length > 0) return
      const saving = live.saving()
      if (saving === undefined) this.forget(live)
      else void saving.then(drop)
    }
    drop()
  }

  /** Saves every live session's changes; resolves when all saves finished. */
  async flushAll (): Promise<void> {
    await Promise.all([...this.byId.values()].map((live) => live.flush()))
  }
}
