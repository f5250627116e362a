/**
 * What the offline plan prints: the declared resources as a table (type, name, parent, the settings that matter for
 * review) in declaration tree order, children under their parent, then the policy pack's violations, mandatory first.
 */
import { type RecordedResource } from "../pulumi-mocks";
import { type Violation } from "../policy-evaluation";
import { reviewSettings } from "./review-settings";

/** The last `::` part of a URN: the resource's name. */
function nameOfUrn(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** Resources in tree order: each root in declaration order, followed by its descendants, depth first. */
export function treeOrder(resources: readonly RecordedResource[]): { resource: RecordedResource; depth: number }[] {
  const urns = new Set(resources.map((r) => r.urn));
  const children = new Map<string | undefined, RecordedResource[]>();
  for (const r of resources) {
    const parent = r.parent !== undefined && urns.has(r.parent) ? r.parent : undefined;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const out: { resource: RecordedResource; depth: number }[] = [];
  const visit = (parent: string | undefined, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      out.push({ resource: r, depth });
      visit(r.urn, depth + 1);
    }
  };
  visit(undefined, 0);
  return out;
}

/** The resource table, one line per resource, columns aligned except the last. */
export function resourceTable(resources: readonly RecordedResource[]): string[] {
  const rows = treeOrder(resources).map(({ resource, depth }) => [
    `${"  ".repeat(depth)}${resource.type}`,
    resource.name,
    resource.parent === undefined ? "-" : nameOfUrn(resource.parent),
    reviewSettings(resource),
  ]);
  const header = ["TYPE", "NAME", "PARENT", "SETTINGS"];
  const widths = [0, 1, 2].map((c) => Math.max(header[c].length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The violations, mandatory first, each naming its policy and the resource (type and name) it is about. */
export function violationLines(violations: readonly Violation[], resources: readonly RecordedResource[]): string[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const sorted = [...violations].sort((a, b) => Number(a.enforcementLevel === "advisory") - Number(b.enforcementLevel === "advisory"));
  return sorted.map((v) => {
    const r = v.urn === undefined ? undefined : byUrn.get(v.urn);
    const about = r ? `${r.type} ${r.name}` : "the stack";
    return `  ${v.enforcementLevel.padEnd(9)}  ${v.policy}  ${about}: ${v.message}`;
  });
}
