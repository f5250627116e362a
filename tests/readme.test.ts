/**
 * The README is part of the feature: its configuration table must say what the code does, and its test
 * command must be the one CI runs.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SCALAR_SETTINGS, SECRET_SETTINGS, STRUCTURED_SETTINGS } from "../stacks/config";

const root = join(__dirname, "..");
const readme = readFileSync(join(root, "README.md"), "utf8");

function configurationTable(): Map<string, { type: string; default: string }> {
  const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("\n## ", readme.indexOf("## Configuration") + 1));
  const rows = new Map<string, { type: string; default: string }>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? "")?.[1];
    if (name) rows.set(name, { type: cells[2], default: cells[3].replace(/`/g, "") });
  }
  return rows;
}

test("the configuration table lists every setting the program reads, with the code's type and default", () => {
  const table = configurationTable();
  const settings = Object.entries(SCALAR_SETTINGS) as [string, { type: string; default: unknown }][];
  expect([...table.keys()].sort()).toEqual([...settings.map(([k]) => k), ...STRUCTURED_SETTINGS, ...SECRET_SETTINGS].sort());
  for (const [name, setting] of settings) {
    expect({ name, ...table.get(name) }).toEqual({ name, type: setting.type, default: String(setting.default) });
  }
});

test("the quick start has the two set-up commands, and its test command is exactly what CI runs", () => {
  const quickStart = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("## Architecture"));
  const commands = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
  // Exactly two set-up commands: one runs the project locally, one runs the tests.
  expect(commands.filter((c) => c.startsWith("npm ci"))).toEqual(["npm ci && npm start", "npm ci && npm test"]);
  const ci = readFileSync(join(root, ".ci", "run"), "utf8");
  expect(
    ci
      .split("\n")
      .filter((l) => l.trim() && !l.trim().startsWith("#"))
      .at(-1),
  ).toBe("npm ci && npm test");
});

test("'Where things are' names every top-level folder, and the file to open first in each exists", () => {
  const section = readme.slice(readme.indexOf("## Where things are"), readme.indexOf("\n## ", readme.indexOf("## Where things are") + 1));
  const rows = [...section.matchAll(/^\| `([^`]+)\/` \| [^|]+ \| `([^`]+)` \|$/gm)].map((m) => ({ folder: m[1], first: m[2] }));
  // Folders git ignores (node_modules/, dist/, …, as .gitignore lists them) are built, not written.
  const ignored = readFileSync(join(root, ".gitignore"), "utf8")
    .split("\n")
    .filter((l) => /^[^#*]+\/$/.test(l.trim()))
    .map((l) => l.trim().slice(0, -1));
  const folders = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && ![".git", ...ignored].includes(e.name))
    .map((e) => e.name);
  const listed = new Set(rows.map((r) => r.folder.split("/")[0]));
  expect(folders.filter((f) => !listed.has(f)).sort()).toEqual([]);
  for (const { folder, first } of rows)
    expect({ folder, first, exists: existsSync(join(root, folder, first)) }).toEqual({ folder, first, exists: true });
});
