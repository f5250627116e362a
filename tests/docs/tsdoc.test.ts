/**
 * Every argument a platform team can pass to a component, and every output it can read, says in a doc comment what
 * it is, its default, its bounds and what it changes: an editor shows it on hover, and docs/components.md is written
 * from it. The compiler reads the code (`support/api-surface.ts`), so an argument added without a comment fails here,
 * named with where it is declared.
 */
import { componentSurfaces } from "../../support/api-surface";

const components = componentSurfaces();

test("the compiler finds every component of infra/, with its arguments and outputs", () => {
  const names = components.map((c) => c.name);
  expect(names).toEqual(expect.arrayContaining(["DeviceGrant", "FleetProvisioning", "IotTokenAuthorizer", "UserDirectory"]));
  for (const c of components)
    expect({ component: c.name, args: c.args.length > 0, outputs: c.outputs.length > 0 }).toEqual({
      component: c.name,
      args: true,
      outputs: true,
    });
  // Nested types and inherited ones are reached: a list's items, an Omit<> of the function's issuer, the shared arguments.
  const authorizer = components.find((c) => c.name === "IotTokenAuthorizer")!;
  expect(authorizer.args.map((a) => a.path)).toEqual(
    expect.arrayContaining(["issuers[].jwksUri", "issuers[].principalPrefix", "signing.keys[].name", "lambda.memorySize", "kmsKeyArn"]),
  );
  expect(authorizer.args.map((a) => a.path)).not.toContain("issuers[].secret");
});

test("every argument of every component, nested ones included, has a doc comment", () => {
  const missing = components.flatMap((c) =>
    c.args.filter((a) => a.doc === "").map((a) => `${c.name} argument ${a.path} (${a.declaredAt})`),
  );
  expect(missing).toEqual([]);
});

test("every public output of every component has a doc comment", () => {
  const missing = components.flatMap((c) =>
    c.outputs.filter((o) => o.doc === "").map((o) => `${c.name} output ${o.path} (${o.declaredAt})`),
  );
  expect(missing).toEqual([]);
});
