/**
 * A Lambda function's deployment package while the Pulumi program runs, so that `pulumi up` needs no separate build
 * step. Pulumi hashes an `AssetArchive` of a `StringAsset` by content, so an unchanged function shows no diff.
 *
 * Inside this repository the function's TypeScript source is present and is bundled with esbuild on the spot
 * (infra/esbuild-bundler.ts), so the code in the working tree is what ships, never a stale build. The installed
 * package carries no sources: `npm run build` (before `npm pack`) writes each function's bundle with that same code to
 * `dist/lambda/<function>/index.js`, and `functionArchive` ships that file. A consumer's program then needs neither
 * esbuild nor our sources, and its previews spend no time bundling.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { REPO_ROOT } from "./repo-root";

export { REPO_ROOT } from "./repo-root";

/** Where `npm run build` puts the bundle of `functions/<name>/index.ts`: `dist/lambda/<name>/index.js`. */
export function prebuiltBundlePath(entry: string): string {
  const relative = path.relative(REPO_ROOT, path.resolve(REPO_ROOT, entry)).split(path.sep);
  if (relative[0] !== "functions" || relative.length !== 3 || relative[2] !== "index.ts") {
    throw new Error(`${entry} is not a function entry (functions/<name>/index.ts)`);
  }
  return path.join(REPO_ROOT, "dist", "lambda", relative[1], "index.js");
}

/** The bundled code of `entry`: built from its source when the source is here, the prebuilt bundle otherwise. */
export function functionCode(entry: string): string {
  const absoluteEntry = path.resolve(REPO_ROOT, entry);
  if (fs.existsSync(absoluteEntry)) {
    // Loaded only here: the installed package has no sources, so it never reaches this line, and needs no esbuild.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { bundleFunction } = require("./esbuild-bundler") as { bundleFunction(entry: string): { code: string } };
    return bundleFunction(entry).code;
  }
  const prebuilt = prebuiltBundlePath(entry);
  if (!fs.existsSync(prebuilt)) throw new Error(`neither ${absoluteEntry} nor its prebuilt bundle ${prebuilt} exists: run npm run build`);
  return fs.readFileSync(prebuilt, "utf8");
}

/** The Lambda deployment package for `entry`: a single `index.js`, so the handler is `index.handler`. */
export function functionArchive(entry: string): pulumi.asset.AssetArchive {
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(functionCode(entry)) });
}
