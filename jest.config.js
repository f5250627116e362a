/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // Type-checking is `tsc --noEmit` in `npm test`; ts-jest only transpiles, which keeps the suite fast.
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true }] },
  // Pulumi's runtime keeps global state (mocks, config, the resource monitor): one file, one module registry.
  resetModules: false,
};
