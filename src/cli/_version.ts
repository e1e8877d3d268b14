/**
 * The version of fileurls, as `deno.json` says: imported as JSON, which
 * Deno and Bun read from a clone or from JSR, and which the npm build
 * bundles into the package.
 *
 * @module
 */
import meta from "../../deno.json" with { type: "json" };

/** The version, e.g. `0.1.0`. */
export const VERSION: string = meta.version;
