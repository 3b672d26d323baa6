/** Finding a program as a shell would: a path as given, or a name looked up on the PATH. */
import { accessSync, constants as fsConstants } from 'node:fs'
import { access, constants } from 'node:fs/promises'
import { delimiter, isAbsolute, join, resolve } from 'node:path'

/** Where a shell would look for `name`: itself when it is a path, else each directory of `path`. */
const candidates = (name: string, path: string): string[] =>
  name.includes('/')
    ? [isAbsolute(name) ? name : resolve(name)]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map(dir => join(dir, name))

/** The program's path, or undefined when `name` is not an executable file on the PATH. */
export async function which(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const c of candidates(name, path))
    if (
      await access(c, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return c
  return undefined
}

/** `which`, at once (for a test's skip condition, a start-up check). */
export function whichSync(name: string, path = process.env.PATH ?? ''): string | undefined {
  return candidates(name, path).find(c => {
    try {
      accessSync(c, fsConstants.X_OK)
      return true
    } catch {
      return false
    }
  })
}
