// ---- What a route or a server event says about itself, for its AsyncAPI document ----

/** A tag: a name, or a name and a description (Fastify's route schema takes names; AsyncAPI also takes objects). */
export type Tag = string | { name: string, description?: string }

/** The fields that describe an event (the same names as in a Fastify route's `schema`). */
export interface EventDocs {
  /** A short summary of what the event does. */
  summary?: string
  /** A longer description (CommonMark). */
  description?: string
  /** Tags that group events, in the document and in tools that render it. */
  tags?: Tag[]
  /** The event is on its way out: clients should stop using it. @default false */
  deprecated?: boolean
}

/** The description of an event after checking: tags as objects. */
export interface ResolvedDocs {
  summary: string | undefined
  description: string | undefined
  tags: Array<{ name: string, description?: string }>
  deprecated: boolean
}

/** The option names of `EventDocs`. */
export const docKeys = ['summary', 'description', 'tags', 'deprecated'] as const

type Bad = (message: string) => never

function tag (value: unknown, where: string, bad: Bad): { name: string, description?: string } {
  if (typeof value === 'string' && value.length > 0) return { name: value }
  const { name, description } = (value ?? {}) as Record<string, unknown>
  if (typeof value !== 'object' || typeof name !== 'string' || name.length === 0 || (description !== undefined && typeof description !== 'string')) {
    bad(`each of "tags" of ${where} must be a non-empty string or { name, description? }`)
  }
  return description === undefined ? { name } : { name, description }
}

/**
 * Checks the description of an event, read from each of `sources` (a route's options, and its `schema` as Fastify
 * has them); one field given in two sources is refused.
 */
export function resolveDocs (sources: Array<Record<string, unknown>>, where: string, bad: Bad): ResolvedDocs {
  const found: Record<string, unknown> = {}
  for (const source of sources) {
    for (const key of docKeys) {
      if (source[key] === undefined) continue
      if (key in found) bad(`"${key}" of ${where} is given twice, in the options and in "schema"; keep one`)
      found[key] = source[key]
    }
  }
  const { summary, description, tags = [], deprecated = false } = found
  for (const [key, value] of [['summary', summary], ['description', description]]) {
    if (value !== undefined && typeof value !== 'string') bad(`"${key as string}" of ${where} must be a string`)
  }
  if (!Array.isArray(tags)) bad(`"tags" of ${where} must be an array of tags`)
  if (typeof deprecated !== 'boolean') bad(`"deprecated" of ${where} must be a boolean`)
  return { summary: summary as string | undefined, description: description as string | undefined, tags: tags.map((t) => tag(t, where, bad)), deprecated }
}
