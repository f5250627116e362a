/**
 * Prints the skeleton of docs/components.md's tables for every component (or the ones named on the command line),
 * from the code: argument paths, types and the defaults of the `*_DEFAULTS` constants, output names and types, each
 * meaning taken from the doc comment for a person to edit. Run it when a component is added; the test
 * (tests/docs/components.test.ts) then keeps names, types and defaults equal to the code.
 *
 *   npx ts-node --transpile-only scripts/component-tables.ts [Component ...]
 */
import { componentSurfaces, type SurfaceProperty } from "../support/api-surface";
import { codeDefaults, tableType } from "../support/component-docs";

const cell = (text: string) => text.replace(/\|/g, "\\|");
const meaning = (p: SurfaceProperty) => cell(p.doc);

const wanted = process.argv.slice(2);
for (const component of componentSurfaces().filter((c) => wanted.length === 0 || wanted.includes(c.name))) {
  const { defaults } = codeDefaults(
    component.name,
    component.args.map((a) => a.path),
  );
  const lines = [`## ${component.name}`, "", "### What it creates", "", "### Arguments", ""];
  lines.push("| Argument | Type | Default | Meaning |", "| --- | --- | --- | --- |");
  for (const a of component.args) {
    const fallback = a.optional ? "" : "required";
    const shown = defaults.has(a.path) ? `\`${defaults.get(a.path)}\`` : fallback;
    lines.push(`| \`${a.path}\` | \`${cell(tableType(a))}\` | ${cell(shown)} | ${meaning(a)} |`);
  }
  lines.push("", "### Outputs", "", "| Output | Type | Secret | Meaning |", "| --- | --- | --- | --- |");
  for (const o of component.outputs) lines.push(`| \`${o.path}\` | \`${cell(tableType(o))}\` | no | ${meaning(o)} |`);
  process.stdout.write(`${lines.join("\n")}\n\n`);
}
