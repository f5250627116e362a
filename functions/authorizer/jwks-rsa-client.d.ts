/**
 * Types for jwks-rsa's client module, imported by its path so that the bundle leaves out the package's entry point:
 * that one also loads its express, hapi, koa and passport integrations (3.5 KiB the authorizer never runs). jwks-rsa
 * has no `exports` map, so the path is public; should it move, the build fails rather than the function.
 */
declare module "jwks-rsa/src/JwksClient" {
  import type jwksRsa from "jwks-rsa";

  export const JwksClient: typeof jwksRsa.JwksClient;
}
