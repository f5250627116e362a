/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // Type-checking is `tsc --noEmit` in `npm test`. With `isolatedModules` set in tsconfig.json, ts-jest only
  // transpiles each file, which keeps the suite fast.
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
  // Pulumi's runtime keeps global state (mocks, config, the resource monitor): one file, one module registry.
  resetModules: false,
};
