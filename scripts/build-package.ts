/**
 * `npm run build` (and `npm pack`, through `prepack`): what the installed package holds.
 *
 * - `dist/infra`, `dist/stacks`, `dist/device` and the `dist/functions` modules they import: compiled JavaScript with
 *   type declarations (tsconfig.build.json), for the package's entry points (`exports` in package.json);
 * - `dist/lambda/<function>/index.js`: each Lambda function bundled exactly as the components bundle it from source
 *   (infra/bundle.ts), so a consumer's program ships these files and needs neither esbuild nor our TypeScript.
 *
 * Deterministic: the same sources and esbuild version give the same bytes, whoever builds them.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { prebuiltBundlePath, REPO_ROOT } from "../infra/bundle";
import { bundleFunction } from "../infra/esbuild-bundler";

/** Every function a component deploys. */
export const FUNCTION_ENTRIES = [
  "functions/authorizer/index.ts",
  "functions/device-grant/index.ts",
  "functions/provisioning-claim/index.ts",
  "functions/pre-provisioning-hook/index.ts",
] as const;

function main(): void {
  const dist = path.join(REPO_ROOT, "dist");
  rmSync(dist, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(REPO_ROOT, "tsconfig.build.json")], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  for (const entry of FUNCTION_ENTRIES) {
    const file = prebuiltBundlePath(entry);
    const bundle = bundleFunction(entry);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bundle.code);
    process.stderr.write(
      `${path.relative(REPO_ROOT, file)}  ${(bundle.bytes / 1024).toFixed(1)} KiB  sha256 ${bundle.sha256.slice(0, 16)}\n`,
    );
  }
}

main();
