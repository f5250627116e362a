import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The repository root (the nearest directory above this file with a `package.json`, so that it is the same
 * whether this runs from `infra/` under ts-node or compiled into `dist/infra/`): entries are resolved against
 * it and esbuild runs from it.
 */
export const REPO_ROOT = findPackageRoot(__dirname);

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}
