/**
 * Jest's module resolver: Jest's own, except that what jwks-rsa requires is resolved as in the authorizer's Lambda
 * bundle, through functions/authorizer/bundle-aliases.json (infra/bundle.ts applies the same file with esbuild).
 * Without it jwks-rsa 4 cannot load under jest at all: it requires jose 6, which is ESM-only. Only requests made from
 * jwks-rsa's own files are redirected, so `debug` or `lru-cache` stay themselves for every other package.
 */
/* global require, module, __dirname -- a CommonJS file, as jest loads its resolver without transforming it */
/* eslint-disable @typescript-eslint/no-require-imports */
const path = require("node:path");
const fs = require("node:fs");

const ROOT = path.resolve(__dirname, "../..");
const ALIASES_DIR = path.join(ROOT, "functions/authorizer");
const ALIASES = JSON.parse(fs.readFileSync(path.join(ALIASES_DIR, "bundle-aliases.json"), "utf8"));
const FROM = `${path.sep}node_modules${path.sep}jwks-rsa${path.sep}`;

module.exports = (request, options) => {
  const target = ALIASES[request];
  if (target !== undefined && `${options.basedir}${path.sep}`.includes(FROM)) return path.resolve(ALIASES_DIR, target);
  return options.defaultResolver(request, options);
};
