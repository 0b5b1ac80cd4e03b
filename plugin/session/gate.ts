// ---- A live session's socket events, held while HTTP requests (here or on other nodes) have the session ----

/**
 * Counts the socket events of one live session that run, and holds new ones while the gate is closed. Closing
 * waits until the running events finished (their saves too): a request that then reads the session sees them all,
 * and no event writes over what it writes. Several may close it at once; it opens when the last one opens it.
 */
export class Gate {
  private running = 0
  private closers = 0
  private idle: Array<() => void> = []
  private reopen: (() => void) | undefined

  /** While the gate is closed: resolves when it opens again. Events wait for it before they start. */
  closed: Promise<void> | undefined

  /** An event starts. */
  enter (): void {
    this.running++
  }

  /** An event finished (its save too). Bound once, so that each event can be handed it without a closure of its own. */
  readonly exit = (): void => {
    if (--this.running > 0) return
    const idle = this.idle
    this.idle = []
    for (const resolve of idle) resolve()
  }

  /** Closes the gate; resolves once no event runs, with what opens it again (to be called once). */
  async close (): Promise<() => void> {
    if (this.closers++ === 0) this.closed = new Promise((resolve) => { this.reopen = resolve })
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve))
    return () => {
      if (--this.closers > 0) return
      const reopen = this.reopen as () => void
      this.closed = undefined
      this.reopen = undefined
      reopen()
    }
  }
}
