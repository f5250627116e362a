/**
 * The components' public surface as the TypeScript compiler sees it: every exported `pulumi.ComponentResource`
 * class in `infra/`, every argument reachable from its constructor's `args` type (with its path, such as
 * `issuers[].jwksUri`, its declared type and its doc comment), and every public readonly output property. The
 * documentation tests (TSDoc on every argument, docs/components.md's tables equal to the code) and the tables'
 * generator (`scripts/component-tables.ts`) read the code through this one module, so they cannot disagree.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

export interface SurfaceProperty {
  /** `issuers[].jwksUri`: `.` into an object, `[]` into a list's items. */
  path: string;
  /** The type as declared in the source, on one line. */
  type: string;
  optional: boolean;
  /** The doc comment's text; empty when there is none. */
  doc: string;
  /** Where it is declared, relative to the repository (`infra/component-args.ts:12`). */
  declaredAt: string;
}

export interface ComponentSurface {
  /** The class name, e.g. `IotTokenAuthorizer`. */
  name: string;
  /** Its file, relative to the repository. */
  file: string;
  /** The name of its `args` type as written in the constructor. */
  argsType: string;
  args: SurfaceProperty[];
  outputs: SurfaceProperty[];
}

const root = join(__dirname, "..");

/** Every `.ts` file directly in `infra/`. */
export function infraFiles(): string[] {
  return readdirSync(join(root, "infra"))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => join(root, "infra", f));
}

function relative(file: string): string {
  return file.slice(root.length + 1);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function docOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  return oneLine(ts.displayPartsToString(symbol.getDocumentationComment(checker)));
}

/** Declared in this repository (not in a library's types), so its properties are part of our surface. */
function isOurs(declaration: ts.Declaration): boolean {
  return !declaration.getSourceFile().fileName.includes("node_modules");
}

function location(declaration: ts.Declaration): string {
  const source = declaration.getSourceFile();
  return `${relative(source.fileName)}:${source.getLineAndCharacterOfPosition(declaration.getStart()).line + 1}`;
}

function declaredType(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  const declaration = symbol.declarations?.[0];
  if (declaration && (ts.isPropertySignature(declaration) || ts.isPropertyDeclaration(declaration)) && declaration.type) {
    return oneLine(declaration.type.getText());
  }
  return checker.typeToString(checker.getTypeOfSymbol(symbol));
}

/**
 * The object types to descend into from a property's type: our own interfaces and type literals, through unions
 * (`T | undefined`), lists (`T[]`) and `pulumi.Input<T>`'s own members, never into a library's types.
 */
function nestedObjects(type: ts.Type, checker: ts.TypeChecker): { type: ts.Type; list: boolean }[] {
  const found: { type: ts.Type; list: boolean }[] = [];
  const visit = (t: ts.Type, list: boolean, depth: number) => {
    if (depth > 4) return;
    if (t.isUnion()) return t.types.forEach((u) => visit(u, list, depth + 1));
    if (checker.isArrayType(t) || checker.isTupleType(t)) {
      return checker.getTypeArguments(t as ts.TypeReference).forEach((e) => visit(e, true, depth + 1));
    }
    if (!(t.flags & ts.TypeFlags.Object)) return;
    const properties = t.getProperties();
    if (properties.length === 0 || !properties.every((p) => (p.declarations ?? []).some(isOurs))) return;
    if (!found.some((f) => f.type === t)) found.push({ type: t, list });
  };
  visit(type, false, 0);
  return found;
}

/** Every property reachable from `type`, depth first, each under its path. */
function propertiesOf(type: ts.Type, prefix: string, checker: ts.TypeChecker, seen: Set<ts.Type>): SurfaceProperty[] {
  if (seen.has(type)) return [];
  const inner = new Set(seen).add(type);
  const out: SurfaceProperty[] = [];
  for (const symbol of type.getProperties()) {
    const declaration = symbol.declarations?.[0];
    if (!declaration) continue;
    const path = `${prefix}${symbol.name}`;
    out.push({
      path,
      type: declaredType(symbol, checker),
      optional: (symbol.flags & ts.SymbolFlags.Optional) !== 0,
      doc: docOf(symbol, checker),
      declaredAt: location(declaration),
    });
    for (const nested of nestedObjects(checker.getTypeOfSymbol(symbol), checker)) {
      out.push(...propertiesOf(nested.type, `${path}${nested.list ? "[]" : ""}.`, checker, inner));
    }
  }
  return out;
}

function extendsComponentResource(node: ts.ClassDeclaration): boolean {
  return (node.heritageClauses ?? []).some((h) => h.types.some((t) => /(^|\.)ComponentResource$/.test(t.expression.getText())));
}

function isExported(node: ts.Node): boolean {
  return (ts.getCombinedModifierFlags(node as ts.Declaration) & ts.ModifierFlags.Export) !== 0;
}

function outputsOf(node: ts.ClassDeclaration, checker: ts.TypeChecker): SurfaceProperty[] {
  return node.members.filter(ts.isPropertyDeclaration).flatMap((member) => {
    const flags = ts.getCombinedModifierFlags(member);
    if (!(flags & ts.ModifierFlags.Readonly) || flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return [];
    if (ts.isPrivateIdentifier(member.name)) return [];
    const symbol = checker.getSymbolAtLocation(member.name);
    if (!symbol) return [];
    return [
      {
        path: symbol.name,
        type: declaredType(symbol, checker),
        optional: member.questionToken !== undefined,
        doc: docOf(symbol, checker),
        declaredAt: location(member),
      },
    ];
  });
}

function componentOf(node: ts.ClassDeclaration, checker: ts.TypeChecker): ComponentSurface {
  const constructor = node.members.find(ts.isConstructorDeclaration);
  const argsParameter = constructor?.parameters[1];
  const argsType = argsParameter ? checker.getTypeAtLocation(argsParameter) : undefined;
  return {
    name: node.name?.text ?? "",
    file: relative(node.getSourceFile().fileName),
    argsType: argsParameter?.type?.getText() ?? "",
    args: argsType ? propertiesOf(argsType, "", checker, new Set()) : [],
    outputs: outputsOf(node, checker),
  };
}

/** Every exported component class in `infra/`, in file order, with its arguments and outputs. */
export function componentSurfaces(): ComponentSurface[] {
  const files = infraFiles();
  const program = ts.createProgram(files, { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, noEmit: true });
  const checker = program.getTypeChecker();
  const components: ComponentSurface[] = [];
  for (const file of files.sort()) {
    const source = program.getSourceFile(file);
    if (!source) continue;
    ts.forEachChild(source, (node) => {
      if (ts.isClassDeclaration(node) && isExported(node) && extendsComponentResource(node)) components.push(componentOf(node, checker));
    });
  }
  return components;
}
