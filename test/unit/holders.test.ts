import t from 'tap'
import { mock } from 'node:test'
import { HoldersSeen, SEEN_MS } from '../../plugin/redis/holders.js'

// ---- What reads found of each session's holders: kept a few seconds, oldest dropped first ----

t.test('the holders a read found are known for SEEN_MS; a read that finds none forgets them; old entries are dropped as new ones come', async (t) => {
  mock.timers.enable({ apis: ['Date'], now: 1_000_000 })
  t.teardown(() => mock.timers.reset())
  const seen = new HoldersSeen()
  seen.found('s1', ['node-a'])
  seen.found('s2', ['node-a', 'node-b'])
  t.same(seen.of('s1'), ['node-a'])
  t.same(seen.of('s2'), ['node-a', 'node-b'])
  t.same(seen.of('s3'), [], 'a session not read: none')
  seen.found('s2', [])
  t.same(seen.of('s2'), [], 'a newer read found none')
  mock.timers.tick(SEEN_MS)
  t.same(seen.of('s1'), [], 'too old to tell')
  seen.found('s3', ['node-b'])
  t.same(seen.of('s3'), ['node-b'])
  // The entry of s1 was dropped by the read of s3: read again at the same moment, it is set afresh.
  mock.timers.tick(SEEN_MS - 1)
  seen.found('s1', ['node-c'])
  t.same(seen.of('s1'), ['node-c'])
  t.same(seen.of('s3'), ['node-b'], 's3 is still known (1 ms left), and not dropped by the later read')
})
