/**
 * docs/components.md is the platform teams' reference: for each component, what it creates, an arguments table and
 * an outputs table. Here the compiler's view of the code (`support/api-surface.ts`) and the page must agree on every
 * argument path, type, required-ness and code default, and on every output name and type, so an argument added
 * without its row fails with the row named. The prose (the meanings) is for people; it is not compared.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { componentSurfaces } from "../../support/api-surface";
import { codeDefaults, parseComponentsDoc, tableType } from "../../support/component-docs";

const root = join(__dirname, "..", "..");
const page = readFileSync(join(root, "docs", "components.md"), "utf8");
const sections = parseComponentsDoc(page);
const components = componentSurfaces();
const skeleton = (name: string) => `print its skeleton with: npx ts-node --transpile-only scripts/component-tables.ts ${name}`;

const difference = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));

describe.each(components.map((c) => [c.name, c] as const))("%s", (name, component) => {
  const section = () => {
    const found = sections.get(name);
    if (!found) throw new Error(`docs/components.md has no "## ${name}" section for ${component.file}; ${skeleton(name)}`);
    return found;
  };

  it("has a section with what it creates, an arguments table and an outputs table", () => {
    const { creates, args, outputs } = section();
    expect({ creates, args: args.length > 0, outputs: outputs.length > 0 }).toEqual({ creates: true, args: true, outputs: true });
  });

  it("lists exactly the arguments the code takes", () => {
    const rows = section().args.map((r) => r.name);
    const code = component.args.map((a) => a.path);
    expect({ missingRows: difference(code, rows), rowsWithoutArgument: difference(rows, code) }).toEqual({
      missingRows: [],
      rowsWithoutArgument: [],
    });
    expect(rows.filter((r, i) => rows.indexOf(r) !== i)).toEqual([]);
  });

  it("gives each argument the code's type, and says which are required", () => {
    const rows = new Map(section().args.map((r) => [r.name, r.cells]));
    for (const a of component.args.filter((x) => rows.has(x.path))) {
      const [type, shownDefault] = rows.get(a.path)!;
      expect({ argument: a.path, type: type.replace(/`/g, ""), required: shownDefault === "required" }).toEqual({
        argument: a.path,
        type: tableType(a),
        required: !a.optional,
      });
    }
  });

  it("shows the defaults the code keeps in its *_DEFAULTS constants", () => {
    const { defaults, unplaced } = codeDefaults(
      name,
      component.args.map((a) => a.path),
    );
    expect(unplaced).toEqual([]);
    const rows = new Map(section().args.map((r) => [r.name, r.cells]));
    for (const [path, value] of defaults)
      expect({ argument: path, default: rows.get(path)?.[1] }).toEqual({ argument: path, default: `\`${value}\`` });
  });

  it("lists exactly its outputs, with the code's types", () => {
    const rows = section().outputs;
    const code = component.outputs.map((o) => o.path);
    expect({
      missingRows: difference(
        code,
        rows.map((r) => r.name),
      ),
      rowsWithoutOutput: difference(
        rows.map((r) => r.name),
        code,
      ),
    }).toEqual({
      missingRows: [],
      rowsWithoutOutput: [],
    });
    for (const o of component.outputs) {
      const row = rows.find((r) => r.name === o.path);
      if (row) expect({ output: o.path, type: row.cells[0].replace(/`/g, "") }).toEqual({ output: o.path, type: tableType(o) });
    }
  });
});

test("the page documents no component the code does not have", () => {
  expect(
    difference(
      [...sections.keys()],
      components.map((c) => c.name),
    ),
  ).toEqual([]);
});

test("README and docs/README.md link to the components page", () => {
  expect(readFileSync(join(root, "README.md"), "utf8")).toContain("(docs/components.md");
  expect(readFileSync(join(root, "docs", "README.md"), "utf8")).toContain("(components.md");
});
