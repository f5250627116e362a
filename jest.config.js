/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  // Type-checking is `tsc --noEmit` in `npm test`. With `isolatedModules` set in tsconfig.json, ts-jest only
  // transpiles each file, which keeps the suite fast.
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
  // jwks-rsa's libraries resolve to the authorizer bundle's stand-ins (jose 6 is ESM-only); see the file's header.
  resolver: "<rootDir>/tests/helpers/resolver.cjs",
  // Pulumi's runtime keeps global state (mocks, config, the resource monitor): one file, one module registry.
  resetModules: false,
  // No test measures time: a slow or busy machine (CI has two cores) must not turn a correct test into a failure.
  // Jest's default of 5 s per test is a time limit in disguise; this one only stops a test that hangs.
  testTimeout: 120_000,
};
