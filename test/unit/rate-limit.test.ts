import t from 'tap'
import { Buckets, type RateLimit } from '../../plugin/routes/rate-limit.js'

// ---- Token buckets, with the clock passed in ----

// One token per 256 ms: a rate exact in binary, so the waits are whole ms.
const limit: RateLimit = { max: 4, timeWindow: 1024 }

type Take = [now: number, key: string]
/** `n` events of `key` at `now`. */
const at = (now: number, n = 1, key = 'a'): Take[] => Array.from({ length: n }, (): Take => [now, key])

t.test('take: 0 when the event may run, else the ms until a token is back', async (t) => {
  const rows: Array<{ name: string, takes: Take[], expected: number[] }> = [
    { name: 'within the limit: a burst of max', takes: at(0, 4), expected: [0, 0, 0, 0] },
    { name: 'over the limit: retryAfter is timeWindow / max', takes: at(0, 5), expected: [0, 0, 0, 0, 256] },
    { name: 'a refused event takes no token', takes: at(0, 6), expected: [0, 0, 0, 0, 256, 256] },
    { name: 'half a token back: half the wait', takes: [...at(0, 4), ...at(128)], expected: [0, 0, 0, 0, 128] },
    { name: 'one token back after timeWindow / max', takes: [...at(0, 4), ...at(256, 2)], expected: [0, 0, 0, 0, 0, 256] },
    { name: 'exactly the window after a burst: full again', takes: [...at(0, 4), ...at(1024, 5)], expected: [0, 0, 0, 0, 0, 0, 0, 0, 256] },
    { name: '1 ms before the window: one token short by 1 ms', takes: [...at(0, 4), ...at(1023, 4)], expected: [0, 0, 0, 0, 0, 0, 0, 1] },
    { name: 'an idle bucket refills to max, no more', takes: [...at(0), ...at(60_000, 5)], expected: [0, 0, 0, 0, 0, 256] },
    { name: 'keys are independent', takes: [...at(0, 5), ...at(0, 5, 'b'), ...at(0, 1)], expected: [0, 0, 0, 0, 256, 0, 0, 0, 0, 256, 256] },
    { name: 'a key first seen late starts full', takes: [...at(0, 4), ...at(500, 4, 'b')], expected: [0, 0, 0, 0, 0, 0, 0, 0] }
  ]
  for (const { name, takes, expected } of rows) {
    const buckets = new Buckets()
    t.strictSame(takes.map(([now, key]) => buckets.take(key, limit, now)), expected, name)
  }
})

t.test('each limit object is its own bucket; size counts keys', async (t) => {
  const buckets = new Buckets()
  const route: RateLimit = { max: 1, timeWindow: 1024 }
  const global: RateLimit = { max: 1, timeWindow: 1024 }
  t.equal(buckets.size, 0)
  t.strictSame([buckets.take('a', route, 0), buckets.take('a', route, 0)], [0, 1024], 'the route\'s bucket empties')
  t.equal(buckets.take('a', global, 0), 0, 'an equal limit, another object: another bucket')
  t.equal(buckets.size, 1, 'one key')
  buckets.take('b', route, 0)
  t.equal(buckets.size, 2)
})

t.test('retryAfter is exact where the rate is not a whole fraction: a client that waits as told gets a token', async (t) => {
  const rows: Array<{ limit: RateLimit, burst: number, asked: number }> = [
    // 10 per minute: at 1200 ms, 4800 ms by division, but the sum at 6000 ms falls short of a token.
    { limit: { max: 10, timeWindow: 60_000 }, burst: 10, asked: 1200 },
    { limit: { max: 1, timeWindow: 7 }, burst: 1, asked: 2 },
    // 1 per 3 ms: 3 ms by division, though the token is back after 2.
    { limit: { max: 1, timeWindow: 3 }, burst: 1, asked: 1 }
  ]
  for (const { limit, burst, asked } of rows) {
    const name = `${limit.max} per ${limit.timeWindow} ms, asked at ${asked} ms`
    const buckets = new Buckets()
    for (let i = 0; i < burst; i++) buckets.take('a', limit, 0)
    const retryAfter = buckets.take('a', limit, asked)
    t.ok(retryAfter >= 1, `${name}: refused`)
    // Two copies of the bucket: one asked 1 ms early (refused), one asked on time (runs).
    const early = new Buckets()
    for (let i = 0; i < burst; i++) early.take('a', limit, 0)
    early.take('a', limit, asked)
    t.ok(early.take('a', limit, asked + retryAfter - 1) > 0, `${name}: 1 ms early is refused`)
    t.equal(buckets.take('a', limit, asked + retryAfter), 0, `${name}: on time runs`)
  }
})
