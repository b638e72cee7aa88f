// A small OpenID Provider for flowadmin's tests, on the certified `oidc-provider` package.
//
//   node scripts/oidc-provider/server.mjs CONFIG.json
//
// CONFIG.json:
//   {"host": "127.0.0.1", "port": 0, "adminToken": "...",
//    "clients": [{"client_id", "client_secret", "redirect_uris": [...], "post_logout_redirect_uris": [...]}],
//    "accounts": [{"username", "password", "sub", "email", "name", "given_name", "family_name", "groups": [...]}]}
//
// Listens on loopback only (port 0: a free one) and prints one JSON line, {"issuer": "http://127.0.0.1:<port>"},
// once it answers. Authorization code flow only, PKCE (S256) required, ID tokens signed RS256 with a key
// made at start-up (served at /jwks), RP-initiated logout at /session/end. The login page asks for a
// username and a password; its Cancel button answers the client with access_denied.
//
// Test controls, with the header "Authorization: Bearer <adminToken>":
//   PUT  /_test/accounts/<username>  {"groups": [...], "sub": "...", ...}  changes (or adds) an account
//   POST /_test/next-id-token  {"mode": "expired"|"tampered"|"wrong-key", "claims": {...}}
//        the next token response carries an ID token that is expired (and correctly signed), whose
//        claims were changed after signing, or that is signed by another key under the same key id.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const host = config.host || '127.0.0.1';
const accounts = new Map((config.accounts || []).map((account) => [account.username, { ...account }]));
let nextIdToken = null;

const KID = 'test-op-signing-key';
const signingKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const otherKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const SCOPES = 'openid profile email groups';

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body><main><p>Test identity provider</p><h1>${escape(title)}</h1>${body}</main></body></html>`;

function accountBySub(sub) {
  for (const account of accounts.values()) if (account.sub === sub) return account;
  return undefined;
}

async function findAccount(ctx, sub) {
  if (!accountBySub(sub)) return undefined;
  return {
    accountId: sub,
    async claims() {
      const account = accountBySub(sub) || {};  // read at token time: group changes apply to the next sign-in
      return {
        sub,
        preferred_username: account.username,
        name: account.name,
        given_name: account.given_name,
        family_name: account.family_name,
        email: account.email,
        email_verified: Boolean(account.email),
        groups: account.groups || [],
      };
    },
  };
}

// A first-party client: no consent screen, every scope granted.
async function loadExistingGrant(ctx) {
  const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
  if (grantId) return ctx.oidc.provider.Grant.find(grantId);
  const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
  grant.addOIDCScope(SCOPES);
  await grant.save();
  return grant;
}

const server = http.createServer();
await new Promise((resolve) => server.listen(config.port || 0, host, resolve));
const issuer = `http://${host}:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: (config.clients || []).map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: { keys: [{ ...signingKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] },
  findAccount,
  loadExistingGrant,
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name', 'given_name', 'family_name'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false, // the groups go in the ID token too, as Entra ID and Okta can do
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out of the test identity provider?', `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      postLogoutSuccessSource: async (ctx) => { ctx.body = page('Signed out', '<p>You are signed out.</p>'); },
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Error', Object.entries(out).map(([k, v]) => `<p>${escape(k)}: ${escape(v)}</p>`).join(''));
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});

// --- ID tokens that must be refused, on demand ----------------------------------------------------
const b64url = (data) => Buffer.from(data).toString('base64url');

function sign(headerPart, payload, key) {
  const signingInput = `${headerPart}.${b64url(JSON.stringify(payload))}`;
  return `${signingInput}.${b64url(crypto.sign('sha256', Buffer.from(signingInput), key))}`;
}

function spoil(idToken, { mode, claims = {} }) {
  const [headerPart, payloadPart, signature] = idToken.split('.');
  const payload = JSON.parse(Buffer.from(payloadPart, 'base64url'));
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'expired') return sign(headerPart, { ...payload, iat: now - 7200, exp: now - 3600, ...claims }, signingKey);
  if (mode === 'wrong-key') return sign(headerPart, { ...payload, ...claims }, otherKey);
  if (mode === 'tampered') return `${headerPart}.${b64url(JSON.stringify({ ...payload, ...claims }))}.${signature}`;
  throw new Error(`unknown mode ${mode}`);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.method === 'POST' && ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token && nextIdToken) {
    ctx.body = { ...ctx.body, id_token: spoil(ctx.body.id_token, nextIdToken) };
    console.error(`test OP: sent a ${nextIdToken.mode} ID token`);
    nextIdToken = null;
  }
});

// --- the login page -------------------------------------------------------------------------------
async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function loginForm(uid, { username = '', error = '' } = {}) {
  return page('Sign in to the test identity provider', `${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label for="username">Username</label> <input id="username" name="username" value="${escape(username)}" autofocus>
  <label for="password">Password</label> <input id="password" name="password" type="password">
  <button type="submit" name="action" value="login">Sign in</button>
  <button type="submit" name="action" value="cancel">Cancel</button>
</form>`);
}

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function interaction(req, res, path) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'login') {  // consent: granted by loadExistingGrant; finish it if ever asked
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(SCOPES);
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }
  if (req.method === 'GET') return send(res, 200, loginForm(details.uid));
  if (req.method !== 'POST' || !path.endsWith('/login')) return send(res, 405, 'method not allowed', 'text/plain');
  const form = new URLSearchParams(await readBody(req));
  if (form.get('action') === 'cancel') {
    const result = { error: 'access_denied', error_description: 'The user cancelled the sign-in' };
    return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  const account = accounts.get(form.get('username') || '');
  if (!account || account.password !== form.get('password')) {
    return send(res, 200, loginForm(details.uid, { username: form.get('username'), error: 'Wrong username or password.' }));
  }
  return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
}

// --- test controls --------------------------------------------------------------------------------
async function control(req, res, path) {
  if (req.headers.authorization !== `Bearer ${config.adminToken}`) return send(res, 401, '{}', 'application/json');
  const body = JSON.parse((await readBody(req)) || '{}');
  const accountPath = path.match(/^\/_test\/accounts\/([^/]+)$/);
  if (req.method === 'PUT' && accountPath) {
    const username = decodeURIComponent(accountPath[1]);
    const account = { ...(accounts.get(username) || {}), ...body, username };
    accounts.set(username, account);
    return send(res, 200, JSON.stringify(account), 'application/json');
  }
  if (req.method === 'POST' && path === '/_test/next-id-token') {
    nextIdToken = body.mode ? body : null;
    return send(res, 200, JSON.stringify({ next: nextIdToken }), 'application/json');
  }
  return send(res, 404, '{}', 'application/json');
}

const handle = provider.callback();
server.on('request', (req, res) => {
  const path = new URL(req.url, issuer).pathname;
  let work;
  if (path.startsWith('/_test/')) work = control(req, res, path);
  else if (path.startsWith('/interaction/')) work = interaction(req, res, path);
  else return handle(req, res);
  work.catch((error) => {
    console.error(`test OP: ${req.method} ${path}: ${error.stack || error}`);
    if (!res.headersSent) send(res, 400, page('Error', `<p>${escape(error.message)}</p>`));
  });
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
console.log(JSON.stringify({ issuer }));
