import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { MemoryStore, type SessionStore } from '@fastify/session'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { build } from '../example-app/app.js'

// ---- Headless Chromium (Debian's) driven by playwright-core, and the example app to point it at ----

/** Debian's Chromium, or the one CHROMIUM_PATH names. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** No sandbox (tests run as root), and nothing that reaches for the network beyond the page. */
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']

type Teardown = { teardown: (fn: () => unknown) => void }

/**
 * A fresh browser (its own user-data dir, so its own cookies), closed and removed at teardown. `ignoreHTTPSErrors`
 * accepts the test certificate (made for 127.0.0.1) on other names such as localhost.
 */
export async function browser (t: Teardown, options: { ignoreHTTPSErrors?: boolean } = {}): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`)
  const dir = await mkdtemp(join(tmpdir(), 'fastify-socket.io-session-chromium-'))
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1100, height: 640 },
    ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false
  })
  context.setDefaultTimeout(10_000)
  t.teardown(async () => {
    await context.close()
    await rm(dir, { recursive: true, force: true })
  })
  return context
}

/** The example app on 127.0.0.1, closed at teardown. */
export async function example (t: Teardown, options: { redisUrl?: string, store?: SessionStore } = {}): Promise<{ app: FastifyInstance, url: string }> {
  const app = await build({}, { redisUrl: options.redisUrl ?? '', store: options.store })
  t.teardown(async () => await app.close())
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

/** Waits until the element's text is `text`; rejects (with what it shows) after the context's timeout. */
export async function shows (page: Page, selector: string, text: string | RegExp): Promise<string> {
  const wanted = typeof text === 'string' ? { string: text } : { source: text.source, flags: text.flags }
  try {
    await page.waitForFunction(([selector, wanted]) => {
      const shown = document.querySelector(selector)?.textContent ?? ''
      return 'string' in wanted ? shown === wanted.string : new RegExp(wanted.source, wanted.flags).test(shown)
    }, [selector, wanted] as const)
  } catch (err) {
    throw new Error(`${selector} shows ${JSON.stringify(await page.textContent(selector).catch(() => null))}, not ${String(text)}: ${(err as Error).message}`)
  }
  return await page.textContent(selector) ?? ''
}

/** Logs in through the form; resolves once the chat page says it is connected. */
export async function login (page: Page, url: string, name: string): Promise<void> {
  await page.goto(url)
  await page.fill('#name', name)
  await page.click('#login button[type=submit]')
  await shows(page, '#state-text', 'connected')
}

/** A new tab on the chat page of a logged-in browser; resolves once the page says it is connected. */
export async function openChat (context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage()
  await page.goto(url)
  await shows(page, '#state-text', 'connected')
  return page
}

/** The session id in the browser's session cookie. */
export async function sessionId (context: BrowserContext): Promise<string | undefined> {
  const cookie = (await context.cookies()).find((c) => c.name === 'sessionId')
  return cookie === undefined ? undefined : decodeURIComponent(cookie.value).split('.')[0]
}

/**
 * Reads `read()` until `ok` holds (the server saves after it sent the page what changed), at most 5 s;
 * resolves with the last value read, for the test to assert on.
 */
export async function until<T> (read: () => T | Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000
  let value = await read()
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    value = await read()
  }
  return value
}

// ---- A victim and an attacker, for the cross-site tests ----

/** The example app on a memory store, and a browser whose user logged in and clicked the counter once. */
export interface Victim {
  app: FastifyInstance
  url: string
  store: MemoryStore & { store: Map<string, any> }
  context: BrowserContext
  /** The victim's session id. */
  id: string
  /** The victim's stored session, as JSON, after the click. */
  before: string
}

/** The example app and a logged-in victim who clicked the counter once (its store says `count: 1`). */
export async function victim (t: Teardown): Promise<Victim> {
  const store = new MemoryStore() as Victim['store']
  const { app, url } = await example(t, { store })
  const context = await browser(t)
  const page = await context.newPage()
  await login(page, url, 'Victim')
  await page.click('#increment')
  await shows(page, '#count', '1')
  const id = await sessionId(context) as string
  const before = JSON.stringify(await until(() => store.store.get(id), (s) => s?.count === 1))
  await page.close()
  return { app, url, store, context, id, before }
}

/**
 * Another server on 127.0.0.1 serving `html`: same site, another origin, so the browser sends the victim's
 * cookie along. Resolves to its URL. The browser keeps its connections open: they close with the server.
 */
export async function attackerSite (t: Teardown, html: string): Promise<string> {
  const evil = Fastify({ forceCloseConnections: true })
  t.teardown(async () => await evil.close())
  evil.get('/', async (_request, reply) => reply.type('text/html').send(html))
  return await evil.listen({ host: '127.0.0.1', port: 0 })
}
