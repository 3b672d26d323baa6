/** "Did you mean ...?" hints: shared with the YAML frontend and the engine (src/util/suggest.ts). */
export { didYouMean } from '../../util/suggest.js'
