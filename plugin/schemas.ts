import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import type { ValidationIssue } from './client-errors.js'
import { FST_SIO_SESSION_BAD_OPTION } from './errors.js'

// ---- Validating what clients send ----

/** The outcome of checking what a client sent: the typed value, or the problems found. */
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

/** Data nested deeper than this is refused. */
const MAX_DEPTH = 64

/** Whether a value is binary (Socket.IO hands binary attachments over as Buffers). */
const isBinary = (value: object): boolean => ArrayBuffer.isView(value) || value instanceof ArrayBuffer

/**
 * Finds a forbidden key, too deep a nesting, or binary data where `allowBinary` is false. Binary values are
 * not walked (a megabyte Buffer has a million keys); the depth limit bounds the recursion. The path is only
 * built for a problem found, on the way back up.
 */
export function inspect (value: unknown, allowBinary: boolean, depth = 0): ValidationIssue | undefined {
  if (value === null || typeof value !== 'object') return undefined
  if (isBinary(value)) return allowBinary ? undefined : { path: '', message: 'binary data not allowed' }
  if (depth === MAX_DEPTH) return { path: '', message: `nested deeper than ${MAX_DEPTH} levels` }
  for (const key of Object.keys(value)) {
    if (forbidden.has(key)) return { path: `/${key}`, message: 'key not allowed' }
    const found = inspect((value as Record<string, unknown>)[key], allowBinary, depth + 1)
    if (found !== undefined) return { path: `/${key}${found.path}`, message: found.message }
  }
  return undefined
}

/** A TypeBox validator, compiled once. */
export type Validator = ReturnType<typeof Compile<TSchema>>

/** Compiles `schema`, or throws `BadSchema` with what the option is called. */
export function compile (what: string, schema: TSchema, BadSchema: new (message: string) => Error): Validator {
  try {
    return Compile(schema)
  } catch (err) {
    throw new BadSchema(`${what} is not a valid TypeBox schema: ${(err as Error).message}`)
  }
}

/** The first problems the validator finds in `value`, with short paths. */
export function issuesOf (validator: Validator, value: unknown): ValidationIssue[] {
  const errors: ValidationIssue[] = []
  for (const error of validator.Errors(value)) {
    errors.push({ path: clip(error.instancePath), message: error.message })
    if (errors.length === MAX_ISSUES) break
  }
  return errors
}

/** Refuses `issue`, with its path cut short. */
export const refused = (issue: ValidationIssue): Checked => ({ ok: false, errors: [{ path: clip(issue.path), message: issue.message }] })

/** Compiles `schema` once; `coerce` converts wire strings to the schema's types (for the query). */
export function compileCheck (name: string, schema: TSchema, coerce: boolean): HandshakeCheck {
  const validator = compile(`option "${name}"`, schema, FST_SIO_SESSION_BAD_OPTION)
  return (input) => {
    const bad = inspect(input, false)
    if (bad !== undefined) return refused(bad)
    const value = validator.Default(coerce ? validator.Convert(structuredClone(input)) : structuredClone(input))
    if (validator.Check(value)) return { ok: true, value }
    return { ok: false, errors: issuesOf(validator, value) }
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
