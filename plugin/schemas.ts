import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { FST_SIO_SESSION_BAD_OPTION, type ValidationIssue } from './errors.js'

// ---- Handshake data validation ----

/** The outcome of checking handshake data: the typed value, or the problems found. */
export type Checked = { ok: true, value: unknown } | { ok: false, errors: ValidationIssue[] }

/** Checks one kind of handshake data (auth or query) against a schema compiled once. */
export type HandshakeCheck = (input: unknown) => Checked

/** Keys that would reach an object's prototype when copied; refused wherever they appear. */
const forbidden = new Set(['__proto__', 'constructor', 'prototype'])

/** At most this many problems are reported, so a huge bad payload yields a small reply. */
const MAX_ISSUES = 5

/** Paths are cut to this length: a key is the client's text, and a reply should stay small. */
const MAX_PATH = 200

function clip (path: string): string {
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path
}

/** Handshake data nested deeper than this is refused. */
const MAX_DEPTH = 64

/** Finds a forbidden key or too deep a nesting (iteratively, so no input can overflow the stack). */
function findForbidden (input: unknown): ValidationIssue | undefined {
  const stack: Array<[unknown, string, number]> = [[input, '', 0]]
  while (stack.length > 0) {
    const [value, path, depth] = stack.pop() as [unknown, string, number]
    if (value === null || typeof value !== 'object') continue
    if (depth === MAX_DEPTH) return { path, message: `nested deeper than ${MAX_DEPTH} levels` }
    for (const key of Object.keys(value)) {
      if (forbidden.has(key)) return { path: `${path}/${key}`, message: 'key not allowed' }
      stack.push([(value as Record<string, unknown>)[key], `${path}/${key}`, depth + 1])
    }
  }
  return undefined
}

/** Compiles `schema` once; `coerce` converts wire strings to the schema's types (for the query). */
export function compileCheck (name: string, schema: TSchema, coerce: boolean): HandshakeCheck {
  let validator: ReturnType<typeof Compile<TSchema>>
  try {
    validator = Compile(schema)
  } catch (err) {
    throw new FST_SIO_SESSION_BAD_OPTION(`option "${name}" is not a valid TypeBox schema: ${(err as Error).message}`)
  }
  return (input) => {
    const bad = findForbidden(input)
    if (bad !== undefined) return { ok: false, errors: [{ path: clip(bad.path), message: bad.message }] }
    const value = validator.Default(coerce ? validator.Convert(structuredClone(input)) : structuredClone(input))
    if (validator.Check(value)) return { ok: true, value }
    const errors: ValidationIssue[] = []
    for (const error of validator.Errors(value)) {
      errors.push({ path: clip(error.instancePath), message: error.message })
      if (errors.length === MAX_ISSUES) break
    }
    return { ok: false, errors }
  }
}

/** Query parameters the Socket.IO engine adds to every request; they are not the application's. */
const engineParams = new Set(['EIO', 'transport', 't', 'sid', 'b64', 'j'])

/** The application's part of a handshake query, as a plain object without the engine's parameters. */
export function applicationQuery (query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null)
  for (const key of Object.keys(query)) {
    if (!engineParams.has(key)) out[key] = query[key]
  }
  return out
}
