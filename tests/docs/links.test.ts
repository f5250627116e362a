/**
 * The platform teams' pages point at the code and at each other: every relative link of docs/components.md and
 * docs/security-model.md opens an existing file (and, with an anchor, an existing heading), and every repository
 * file the security model names as the code behind a claim exists, so a moved file cannot leave a claim unbacked.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const root = join(__dirname, "..", "..");
const pages = ["docs/components.md", "docs/security-model.md"];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");
}

function anchorsOf(file: string): string[] {
  return [...readFileSync(file, "utf8").matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1].replace(/`/g, "")));
}

test.each(pages)("every relative link of %s opens an existing file and heading", (page) => {
  const text = readFileSync(join(root, page), "utf8");
  const broken: string[] = [];
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue;
    const [path, anchor] = target.split("#");
    const file = path === "" ? join(root, page) : join(root, dirname(page), path);
    if (!existsSync(file)) broken.push(`${target}: no such file`);
    else if (anchor && !anchorsOf(file).includes(anchor)) broken.push(`${target}: no such heading`);
  }
  expect(broken).toEqual([]);
});

test("every code file the security model cites exists", () => {
  const text = readFileSync(join(root, "docs", "security-model.md"), "utf8");
  const cited = [...text.matchAll(/`((?:functions|infra|stacks|sandbox|policy)\/[\w./-]*)`/g)].map((m) => m[1]);
  expect(cited.length).toBeGreaterThan(10);
  expect(cited.filter((path) => !existsSync(join(root, path)))).toEqual([]);
});
