// ---- Which nodes the store's last reads found holding each session ----

/** How long (ms) what a read found stays known: from a request's read of its session to its handler. */
export const SEEN_MS = 5_000

/**
 * The nodes that held each session when it was last read, for `SEEN_MS`. Only sessions that some node held are
 * kept; the oldest entries go first (a Map keeps the order in which they were set).
 */
export class HoldersSeen {
  private readonly seen = new Map<string, { nodes: string[], at: number }>()

  /** A read of session `id` found these holders. */
  found (id: string, nodes: string[]): void {
    const now = Date.now()
    this.seen.delete(id)
    if (nodes.length > 0) this.seen.set(id, { nodes, at: now })
    for (const [key, entry] of this.seen) {
      if (now - entry.at < SEEN_MS) break
      this.seen.delete(key)
    }
  }

  /** The nodes that held session `id` when it was last read, within `SEEN_MS`; none when no node did. */
  of (id: string): string[] {
    const entry = this.seen.get(id)
    return entry === undefined || Date.now() - entry.at >= SEEN_MS ? [] : entry.nodes
  }
}
