/**
 * Conformance cases that fail, each with the reason. The runner fails on any other failure, and
 * on a listed case that passes (remove it), so this list can only shrink.
 */
export const knownFailures: Readonly<Record<string, string>> = {}
