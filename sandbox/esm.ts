/**
 * Loads the ESM-only OAuth clients (`openid-client` 6, `oauth4webapi` 3) into CommonJS jest tests, with no
 * change to package.json or jest.config.js. cognito-local needs the same: it is CommonJS, but its `otplib`
 * 13 requires the ESM-only `@scure/base`, which jest's loader cannot read either.
 *
 * What does not work under this project's jest (ts-jest, `module: commonjs`, no `--experimental-vm-modules`):
 * - `await import("oauth4webapi")`: ts-jest compiles it to `require()`, jest's own loader reads the file as
 *   CommonJS and fails with "Unexpected token 'export'" (node_modules are not transformed).
 * - `new Function("s", "return import(s)")`: a real dynamic import inside jest's vm context, which jest
 *   refuses with "A dynamic import callback was invoked without --experimental-vm-modules". Setting
 *   `NODE_OPTIONS=--experimental-vm-modules` would mean changing how `npm test` starts jest.
 * - `createRequire(__filename)`: jest replaces it with its own require (same failure as the first).
 * - Transforming the packages (`transformIgnorePatterns` plus an `allowJs` ts-jest transform for
 *   oauth4webapi, openid-client and its own copy of jose 6) works but rewrites jest.config.js for all suites.
 *
 * What is used: Node's own module loader (`Module._load`), which jest leaves untouched, with Node's
 * `require(esm)` (on by default since Node 20.19 and 22.12; `process.features.require_module`). The
 * packages then run exactly as in production Node, in the main realm rather than jest's vm realm. That is
 * harmless for their use here: `fetch`, `Response`, `Headers`, `URL`, `URLSearchParams`, `crypto` and
 * `TextEncoder` in a jest test are the main realm's own (jest-environment-node copies them in), and
 * oauth4webapi compares such objects by tag, not `instanceof`. Two consequences for test code:
 * - Errors the packages throw are not `instanceof Error` of the test's realm: match them with the
 *   package's own classes (`err instanceof client.ResponseBodyError`) or by `name`/`code`/`error` fields,
 *   and prefer `await expect(p).rejects.toMatchObject({ error: "slow_down" })` to `toBeInstanceOf(Error)`.
 * - Plain objects and arrays they return are the main realm's: `toEqual` compares them fine;
 *   `toStrictEqual` also checks prototypes and may not.
 */
import nodeModule from "node:module";
import type * as Oauth4webapi from "oauth4webapi";
import type * as OpenidClient from "openid-client";

export type Oauth4webapiModule = typeof Oauth4webapi;
export type OpenidClientModule = typeof OpenidClient;

interface NodeModuleInternals {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
}

/**
 * Loads a module with Node's real loader, outside jest's module registry (and outside jest's mocks): for
 * ES modules and for CommonJS packages that require ES modules.
 */
export function nodeRequire<T>(specifier: string): T {
  if (!(process.features as { require_module?: boolean }).require_module) {
    throw new Error(
      `Cannot load ${specifier}: it is or needs an ES module, and this Node (${process.version}) cannot require() ES modules; ` +
        "use Node 20.19 or later (or 22.12 or later)",
    );
  }
  const load = (nodeModule as unknown as NodeModuleInternals)._load;
  if (typeof load !== "function") throw new Error(`Cannot load ${specifier}: Node's module loader is not reachable from this test`);
  // Resolved by jest: the same file as Node would pick for these packages (their `exports`, when present,
  // have a single default entry).
  return load(require.resolve(specifier), null, false) as T;
}

export function loadOauth4webapi(): Oauth4webapiModule {
  return nodeRequire<Oauth4webapiModule>("oauth4webapi");
}

export function loadOpenidClient(): OpenidClientModule {
  return nodeRequire<OpenidClientModule>("openid-client");
}
