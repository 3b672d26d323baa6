/**
 * The txtar archive format of the conformance cases: an optional comment, then files, each
 * introduced by a line `-- NAME --` and running to the next such line.
 */

export interface Txtar {
  readonly comment: string
  readonly files: ReadonlyMap<string, string>
}

const marker = /^-- (.+) --$/

export function parseTxtar(text: string): Txtar {
  const lines = text.split('\n')
  const files = new Map<string, string>()
  let comment: string[] = []
  let name: string | undefined
  let body: string[] = []
  const flush = (): void => {
    if (name === undefined) comment = body
    else files.set(name, body.length ? `${body.join('\n')}\n` : '')
    body = []
  }
  for (const [i, line] of lines.entries()) {
    const m = marker.exec(line)
    if (m) {
      flush()
      name = m[1]!.trim()
      continue
    }
    // The last line of the file has no newline after it: drop the empty remainder.
    if (i === lines.length - 1 && line === '') break
    body.push(line)
  }
  flush()
  return { comment: comment.join('\n'), files }
}
