// A real OpenID Connect provider for the tests: npm's `oidc-provider` (a certified
// implementation) on 127.0.0.1, with the clients in OIDC_CLIENTS and two users.
//
// Its login is scripted: the interaction route logs in the user named by the
// authorization request's `login_hint` (alice or bob) and grants the requested scopes,
// so a test runs the real authorization code flow without a browser (tests/support/
// oidc_provider.py follows the redirects and redeems the code at /token). With
// OIDC_DEV_INTERACTIONS=1 the provider shows its own development login and consent pages
// instead, for a test driving a browser (any password; the login names alice or bob).
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// Installed under OIDC_PROVIDER_PREFIX (ES modules ignore NODE_PATH): load it from there.
const packageDir = join(process.env.OIDC_PROVIDER_PREFIX, "node_modules", "oidc-provider");
const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const { default: Provider } = await import(
  pathToFileURL(join(packageDir, manifest.main ?? "lib/index.js")).href
);

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS);
const users = new Set(["alice", "bob"]);
const devInteractions = process.env.OIDC_DEV_INTERACTIONS === "1";

function jwk(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: "jwk" }), alg, use: "sig", kid: `${alg}-${port}` };
}

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
    ...c,
  })),
  jwks: {
    keys: [
      jwk("rsa", { modulusLength: 2048 }, "RS256"),
      jwk("ec", { namedCurve: "P-256" }, "ES256"),
    ],
  },
  findAccount: async (ctx, id) =>
    users.has(id) ? { accountId: id, claims: async () => ({ sub: id }) } : undefined,
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: { devInteractions: { enabled: devInteractions } },
  pkce: { required: () => false },
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match || devInteractions) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const login = details.params.login_hint;
  let result;
  if (!users.has(login)) {
    result = { error: "access_denied", error_description: "unknown user" };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: login, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    result = { login: { accountId: login }, consent: { grantId: await grant.save() } };
  }
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result));
});

provider.listen(port, "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer}`));
