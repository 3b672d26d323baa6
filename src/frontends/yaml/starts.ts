/**
 * Where each of n pieces of a text starts, kept as the sums of their spans (a Fenwick tree): a
 * start is read, the piece at an offset found, and a piece's span changed (which moves every later
 * start) in O(log n). A one-item edit of a graph file of 10,000 items moves the 10,000 starts after
 * it at the cost of a dozen additions, not a pass over all of them.
 */
export class Starts {
  /** The tree of spans, 1-based: node i sums the spans (i - (i & -i), i]. */
  readonly #tree: Float64Array
  readonly #first: number
  /** The highest power of two ≤ n, where a search starts. */
  readonly #top: number

  /** From the pieces' starts in order and the end of the last one's span (the text's length). */
  constructor(starts: readonly number[], end: number) {
    const n = starts.length
    this.#first = n ? starts[0]! : end
    const tree = new Float64Array(n + 1)
    for (let i = 1; i <= n; i++) tree[i] = (i < n ? starts[i]! : end) - starts[i - 1]!
    // Each node adds itself to its parent: the tree built in one pass.
    for (let i = 1; i <= n; i++) {
      const parent = i + (i & -i)
      if (parent <= n) tree[parent]! += tree[i]!
    }
    this.#tree = tree
    let top = 1
    while (top * 2 <= n) top *= 2
    this.#top = n ? top : 0
  }

  get length(): number {
    return this.#tree.length - 1
  }

  /** Where piece `i` starts; `length` gives the end of the last span. */
  start(i: number): number {
    let sum = this.#first
    for (let j = i; j > 0; j -= j & -j) sum += this.#tree[j]!
    return sum
  }

  /** The last piece that starts at or before `at`: -1 before the first, `length - 1` at most. */
  find(at: number): number {
    let rest = at - this.#first
    if (rest < 0) return -1
    let i = 0
    for (let step = this.#top; step > 0; step >>= 1) {
      const next = i + step
      if (next < this.#tree.length && this.#tree[next]! <= rest) {
        i = next
        rest -= this.#tree[next]!
      }
    }
    // i spans end at or before `at`: piece i starts there (at most the last one).
    return Math.min(i, this.length - 1)
  }

  /** Every start, and the end of the last span after them (n + 1 values), in one pass. */
  all(): number[] {
    // The tree taken apart again (its building undone, from the top down), then summed up.
    const spans = this.#tree.slice()
    for (let i = spans.length - 1; i >= 1; i--) {
      const parent = i + (i & -i)
      if (parent < spans.length) spans[parent]! -= spans[i]!
    }
    const out = [this.#first]
    for (let i = 1; i < spans.length; i++) out.push(out[i - 1]! + spans[i]!)
    return out
  }

  /** Piece `i`'s span grows by `d`: every later piece starts `d` further. */
  grow(i: number, d: number): void {
    if (d === 0) return
    for (let j = i + 1; j < this.#tree.length; j += j & -j) this.#tree[j]! += d
  }
}
