#!/usr/bin/env node
/**
 * The `mgmt` command of the built tree: it loads the single-file bundle (`dist/mgmt.mjs`, made by
 * `npm run build` from `cli.ts`), which is what runs, as it does on remote hosts. One file to load
 * and compile instead of a hundred modules, with its compiled code cached (scripts/bundle.ts).
 */
await import(new URL('../../mgmt.mjs', import.meta.url).href)
