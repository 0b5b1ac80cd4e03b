// ---- Printing the figures and the plugin's ratios ----

export function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** (max - min) / median, as a percentage. */
function spread (values) {
  const m = median(values)
  return m === 0 ? 0 : ((Math.max(...values) - Math.min(...values)) / Math.abs(m)) * 100
}

const integer = (n) => Math.round(n).toLocaleString('en-US')
const decimal = (n) => n.toFixed(2)

/** The rows of the table: label, metric key, how to format. */
const rows = [
  ['handshakes/s', 'handshakes', integer],
  ['read acks/s', 'read', integer],
  ['write acks/s', 'write', integer],
  ['store writes per read', 'readWrites', decimal],
  ['store writes per write', 'writeWrites', decimal],
  ['bytes per idle socket', 'memory', integer]
]

function cell (samples, format) {
  if (samples.length === 0) return '-'
  const text = format(median(samples))
  return samples.length > 1 && format === integer ? `${text} ±${spread(samples).toFixed(0)}%` : text
}

/** Prints the medians of every metric, one column per variant. */
export function printTable (results, variants) {
  const table = rows.map(([label, key, format]) => [label, ...variants.map((v) => cell(results[v][key], format))])
  const header = ['', ...variants]
  const widths = header.map((_, i) => Math.max(...[header, ...table].map((row) => row[i].length)))
  const line = (row) => row.map((text, i) => (i === 0 ? text.padEnd(widths[i]) : text.padStart(widths[i]))).join('   ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('   '))
  for (const row of table) console.log(line(row))
  console.log('(median of the runs; ± is the spread (max - min) / median)')
}

/** Prints the plugin's ratios against their targets. */
export function printRatios (results) {
  const m = (variant, key) => median(results[variant][key])
  const ratio = (label, value, target) => [label, value.toFixed(2), `≥ ${target.toFixed(2)}`, value >= target]
  const lines = [
    ratio('plugin handshakes / recipe', m('plugin', 'handshakes') / m('recipe', 'handshakes'), 0.9),
    ratio('plugin read acks / bare', m('plugin', 'read') / m('bare', 'read'), 0.95),
    ratio('plugin write acks / recipe', m('plugin', 'write') / m('recipe', 'write'), 0.8)
  ]
  const extra = m('plugin', 'memory') - m('bare', 'memory')
  lines.push(['plugin memory per idle socket - bare', `${extra >= 0 ? '+' : ''}${integer(extra)} B`, '≤ +2,048 B', extra <= 2048])
  const width = Math.max(...lines.map((l) => l[0].length))
  const valueWidth = Math.max(...lines.map((l) => l[1].length))
  console.log('\nplugin targets')
  for (const [label, value, target, pass] of lines) {
    console.log(`${label.padEnd(width)}   ${value.padStart(valueWidth)}   (target ${target})   ${pass ? 'PASS' : 'MISS'}`)
  }
}
