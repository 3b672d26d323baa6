/** Finding a program as a shell would: a path as given, or a name looked up on the PATH. */
import { access, constants } from 'node:fs/promises'
import { delimiter, isAbsolute, join, resolve } from 'node:path'

/** The program's path, or undefined when `name` is not an executable file on the PATH. */
export async function which(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = name.includes('/')
    ? [isAbsolute(name) ? name : resolve(name)]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map(dir => join(dir, name))
  for (const c of candidates)
    if (
      await access(c, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return c
  return undefined
}
